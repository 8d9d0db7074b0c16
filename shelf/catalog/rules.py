"""Field rules for catalog reference data, written once and used by the console, the API and the CLI."""

import re

from django.utils.translation import gettext as _

from shelf.errors import Violation
from shelf.text import name_violations

AGREEMENT_TITLE_MAX = 120
AGREEMENT_BODY_MAX = 50_000
CODE_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def text_violations(
    field: str, value: str | None, *, label: str, max_length: int, required: bool = True
) -> list[Violation]:
    value = (value or "").strip()
    if required and not value:
        return [Violation(field, "required", _("%(label)s is required.") % {"label": label})]
    if "\x00" in value:
        # PostgreSQL cannot store it: refuse it here rather than fail with a 500 on save.
        return [
            Violation(
                field, "invalid_character", _("%(label)s cannot contain NUL (\\x00) characters.") % {"label": label}
            )
        ]
    if len(value) > max_length:
        return [
            Violation(
                field,
                "max_length",
                _("%(label)s is at most %(max)d characters (it has %(n)d).")
                % {"label": label, "max": max_length, "n": len(value)},
            )
        ]
    return []


def agreement_violations(*, title: str | None, body: str | None) -> list[Violation]:
    title_problems = name_violations("title", title) or text_violations(
        "title", title, label=_("Title"), max_length=AGREEMENT_TITLE_MAX
    )
    return title_problems + text_violations("body", body, label=_("Agreement text"), max_length=AGREEMENT_BODY_MAX)


def code_violations(field: str, value: str | None, *, label: str, max_length: int) -> list[Violation]:
    violations = text_violations(field, value, label=label, max_length=max_length)
    if not violations and not CODE_RE.match(value.strip()):
        violations.append(
            Violation(
                field,
                "invalid",
                _("%(label)s uses lowercase letters, digits and single hyphens, like ap-guangzhou.") % {"label": label},
            )
        )
    return violations


def bilingual_violations(*, name_zh: str | None, name_en: str | None) -> list[Violation]:
    return text_violations("name_zh", name_zh, label=_("Chinese name"), max_length=100) + text_violations(
        "name_en", name_en, label=_("English name"), max_length=100
    )


# The largest `position` of a region or category: PostgreSQL's integer, the narrowest range Shelf's databases store.
POSITION_MAX = 2_147_483_647
