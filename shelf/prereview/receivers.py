"""The pre-review's answers to the product wizard (a lower app that asks through a signal)."""

from django.dispatch import receiver
from django.template.loader import render_to_string

from shelf.prereview.checks import prereview
from shelf.products.signals import revision_review_panels


@receiver(revision_review_panels)
def review_step_warnings(sender, revision, **kwargs) -> str:
    """The pre-review warnings on the wizard's review step, so the provider fixes them before operators see them."""
    return render_to_string("prereview/_hits.html", {"hits": prereview(revision)})
