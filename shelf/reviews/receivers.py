"""What the review side does when a lower app announces something."""

from django.dispatch import receiver

from shelf.products.signals import revision_left_review
from shelf.reviews.models import Claim


@receiver(revision_left_review)
def release_claim(sender, revision, **kwargs) -> None:
    """A revision that left review (withdrawn, decided) is nobody's to hold any more."""
    Claim.objects.filter(revision=revision).delete()
