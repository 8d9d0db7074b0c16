"""The web console's one renderer from a service error to what a person reads.

Services raise `RuleViolations`, `Conflict` or `TooLarge` (shelf.errors); the API maps them in
shelf/api.py, and every console view renders them through these functions: per-field errors on a
Django form, or a message at the top of the page (one per field when the page places each beside its field).
"""

from django import forms
from django.contrib import messages

from shelf.errors import Conflict, RuleViolations, StorageFull, TooLarge, Violation

# What a console view catches around a service call.
ServiceError = (RuleViolations, Conflict, TooLarge, StorageFull)


def add_violations(form: forms.Form, exc: RuleViolations) -> None:
    """Each violation next to its field; one whose field the form does not have goes to the form's top."""
    for violation in exc.violations:
        field = violation.field if violation.field in form.fields else None
        form.add_error(field, violation.message)


def violations_of(form: forms.Form) -> RuleViolations:
    """A bound form's field errors as RuleViolations, for a page that shows violations itself (the product wizard)."""
    return RuleViolations(
        [
            Violation(field, error.code or "invalid", message)
            for field, errors in form.errors.as_data().items()
            for error in errors
            for message in error.messages
        ]
    )


def add_error(form: forms.Form, exc: Exception) -> None:
    """Any service error on a form: violations beside their fields, a conflict or a size limit at the form's top."""
    if isinstance(exc, RuleViolations):
        add_violations(form, exc)
    else:
        form.add_error(None, exc.message)


def error_text(exc: Exception) -> str:
    """The sentence(s) a person reads for a service error: every violated rule, or the conflict's message."""
    if isinstance(exc, RuleViolations):
        return "; ".join(violation.message for violation in exc.violations)
    return exc.message


def message_error(request, exc: Exception) -> None:
    messages.error(request, error_text(exc))


def message_field_errors(request, exc: Exception) -> None:
    """One message per violation, tagged with its field (`pictures`, `document`), for a page reached by redirect
    that shows each message beside its field; a conflict or size limit is tagged with its field, if it has one."""
    if isinstance(exc, RuleViolations):
        for violation in exc.violations:
            messages.error(request, violation.message, extra_tags=violation.field.split(".")[0])
    else:
        messages.error(request, exc.message, extra_tags=exc.field or "")
