"""What compute announces to the apps above it (orders refunds a failed launch); compute never imports them.

Both are sent inside the transaction that changes the instance, so a receiver's writes (a refund ledger row)
commit or roll back with the transition itself.
"""

from django.dispatch import Signal

# The instance became failed or lost: receivers get `instance` and `reason`.
instance_failed = Signal()

# Every transition: receivers get `instance`, `previous` and `to` (state values).
instance_state_changed = Signal()
