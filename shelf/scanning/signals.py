from django.dispatch import Signal

# Sent after a vulnerability database import added or changed records. Scanning cannot know which images matter
# (that is what products sell), so receivers choose: each queues rescans through `images_rescan` and returns how
# many it queued. The products app listens here.
vulndb_updated = Signal()
