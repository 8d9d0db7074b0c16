"""Operator console page for the pre-review word list: list, add, deactivate (and reactivate)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import operator_required
from shelf.errors import RuleViolations
from shelf.prereview.models import ClaimWord
from shelf.prereview.selectors import claim_words
from shelf.prereview.services import NOTE_MAX, WORD_MAX, word_add, word_set_active


@operator_required
def words(request):
    errors, form = [], {}
    if request.method == "POST":
        form = {key: request.POST.get(key, "") for key in ("word", "kind", "language", "note")}
        try:
            claim = word_add(actor=request.user, **form)
        except RuleViolations as exc:
            errors = exc.violations
        else:
            messages.success(request, _("“%(word)s” added; the next pre-review uses it.") % {"word": claim.word})
            return redirect("prereview:words")
    kind = request.GET.get("kind", "")
    return render(
        request,
        "prereview/words.html",
        {
            "words": claim_words(kind=kind),
            "kind_choices": ClaimWord.Kind.choices,
            "language_choices": ClaimWord.Language.choices,
            "current_kind": kind,
            "errors": errors,
            "form": form,
            "word_max": WORD_MAX,
            "note_max": NOTE_MAX,
        },
        status=422 if errors else 200,
    )


@operator_required
@require_POST
def word_active(request, word_id: int):
    claim = get_object_or_404(claim_words(), pk=word_id)
    active = request.POST.get("active") == "1"
    word_set_active(actor=request.user, word=claim, active=active)
    if active:
        messages.success(request, _("“%(word)s” is active again.") % {"word": claim.word})
    else:
        messages.success(
            request, _("“%(word)s” deactivated; pre-reviews no longer look for it.") % {"word": claim.word}
        )
    kind = request.POST.get("kind", "")
    return redirect(reverse("prereview:words") + (f"?kind={kind}" if kind in ClaimWord.Kind.values else ""))
