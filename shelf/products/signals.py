from django.dispatch import Signal

# Sent inside the transaction when a revision leaves review (withdrawn, approved or rejected); receivers get
# `revision`. The review app listens to release the operator's claim on it.
revision_left_review = Signal()

# Sent when the wizard's review step is shown; receivers get `revision` and return HTML to show beside the
# summary (the pre-review app answers with its warnings), or None.
revision_review_panels = Signal()
