from django.dispatch import Signal

# Sent after a vulnerability database import added or changed records. Scanning cannot know which images matter
# (that is what products sell), so receivers choose: each queues rescans through `images_rescan` and returns how
# many it queued. The products app listens here.
vulndb_updated = Signal()

# Sent inside the transaction that finishes a scan, with `scan` and `image`; its verdict is on the scan. Receivers
# that start work defer it with transaction.on_commit. Compute listens here (the boot check after a passing scan).
scan_finished = Signal()

# Sent while the provider's image page is drawn, with `image` and `request`: each receiver returns an HTML panel
# (a SafeString) or None. Apps above scanning add what they know of the image (compute: its boot check).
image_page_panels = Signal()
