from django.dispatch import Signal

# Sent after a vulnerability database import added or changed records. Scanning cannot know which images matter
# (that is what products sell), so receivers choose: each queues rescans through `images_rescan` and returns how
# many it queued. The products app listens here.
vulndb_updated = Signal()

# Sent inside the transaction that finishes a scan, with `scan` and `image`; its verdict is on the scan. Receivers
# that start work defer it with transaction.on_commit. Compute listens here (the boot check after a passing scan).
scan_finished = Signal()
