"""Changes to the pre-review word list, made by operators; each is recorded in the audit log."""

from django.db import transaction
from django.utils.translation import gettext as _

from shelf.accounts.access import require_operator
from shelf.audit.services import audit_record
from shelf.errors import RuleViolations, Violation
from shelf.prereview.checks import is_chinese, normalize
from shelf.prereview.models import ClaimWord

WORD_MAX = 100
NOTE_MAX = 200


@transaction.atomic
def word_add(*, actor, word: str, kind: str, language: str = "", note: str = "") -> ClaimWord:
    """Add a word; the language is derived from its characters when not given.

    A word already in the list under the same kind (ignoring case) is refused; an inactive one is
    reactivated instead, so a word deactivated by mistake comes back by adding it again.
    """
    require_operator(actor)
    word = " ".join(normalize(word).split())
    note = (note or "").strip()
    violations = []
    if not word:
        violations.append(Violation("word", "required", _("Enter a word or phrase.")))
    elif len(word) > WORD_MAX:
        violations.append(Violation("word", "too_long", _("At most %(max)d characters.") % {"max": WORD_MAX}))
    elif not is_chinese(word) and len(word) < 2:
        violations.append(Violation("word", "too_short", _("A Latin word needs at least 2 characters.")))
    if kind not in ClaimWord.Kind.values:
        violations.append(Violation("kind", "invalid", _("Choose a kind.")))
    if language and language not in ClaimWord.Language.values:
        violations.append(Violation("language", "invalid", _("Choose Chinese or English.")))
    if len(note) > NOTE_MAX:
        violations.append(Violation("note", "too_long", _("At most %(max)d characters.") % {"max": NOTE_MAX}))
    if violations:
        raise RuleViolations(violations)
    existing = ClaimWord.objects.select_for_update().filter(word__iexact=word, kind=kind).first()
    if existing is not None:
        if existing.is_active:
            raise RuleViolations(
                [Violation("word", "duplicate", _("“%(word)s” is already in the list.") % {"word": word})]
            )
        return word_set_active(actor=actor, word=existing, active=True)
    claim = ClaimWord.objects.create(
        word=word,
        kind=kind,
        language=language or (ClaimWord.Language.ZH if is_chinese(word) else ClaimWord.Language.EN),
        note=note,
        created_by=actor,
    )
    audit_record(actor=actor, target=claim, action="prereview.word_add", data={"word": word, "kind": kind})
    return claim


@transaction.atomic
def word_set_active(*, actor, word: ClaimWord, active: bool) -> ClaimWord:
    require_operator(actor)
    word = ClaimWord.objects.select_for_update().get(pk=word.pk)
    if word.is_active != active:
        word.is_active = active
        word.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            target=word,
            action="prereview.word_activate" if active else "prereview.word_deactivate",
            data={"word": word.word, "kind": word.kind},
        )
    return word
