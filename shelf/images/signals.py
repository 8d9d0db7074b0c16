from django.dispatch import Signal

# Sent after commit when an image becomes available; receivers get `image_id`. The scanner listens here.
image_available = Signal()
