"""The web console's one renderer from a service error to what a person reads.

Services raise `RuleViolations`, `Conflict` or `TooLarge` (shelf.errors); the API maps them in
shelf/api.py, and every console view renders them through these two functions: per-field errors on a
Django form, or one message at the top of the page.
"""

from django import forms
from django.contrib import messages

from shelf.errors import Conflict, RuleViolations, TooLarge

# What a console view catches around a service call.
ServiceError = (RuleViolations, Conflict, TooLarge)


def add_violations(form: forms.Form, exc: RuleViolations) -> None:
    """Each violation next to its field; one whose field the form does not have goes to the form's top."""
    for violation in exc.violations:
        field = violation.field if violation.field in form.fields else None
        form.add_error(field, violation.message)


def error_text(exc: Exception) -> str:
    """The sentence(s) a person reads for a service error: every violated rule, or the conflict's message."""
    if isinstance(exc, RuleViolations):
        return "; ".join(violation.message for violation in exc.violations)
    return exc.message


def message_error(request, exc: Exception) -> None:
    messages.error(request, error_text(exc))
