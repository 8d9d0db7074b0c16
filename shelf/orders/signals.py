"""What orders announces to the apps above it; orders never imports them.

`ledger_posted` is sent inside the transaction that writes a charge or refund row (receivers get `entry`), so
billing's revenue split of that row commits or rolls back with it.
"""

from django.dispatch import Signal

ledger_posted = Signal()
