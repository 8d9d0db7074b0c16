from django.dispatch import Signal

# Sent inside the transaction when a revision leaves review (withdrawn, approved or rejected); receivers get
# `revision`. The review app listens to release the operator's claim on it.
revision_left_review = Signal()

# Sent when the wizard's review step is shown; receivers get `revision` and return HTML to show beside the
# summary (the pre-review app answers with its warnings), or None.
revision_review_panels = Signal()

# Sent inside the transaction whenever a revision's status goes to or from `listed` (approved, delisted,
# superseded by a newer approved revision); receivers get `revision`, `previous` and `to`. The storefront
# listens to keep its catalog and search index in step, in the same transaction.
revision_listing_changed = Signal()
