"""Helpers that let plain Django forms show the domain's rule violations next to their fields."""

from django import forms

from shelf.errors import RuleViolations


def add_violations(form: forms.Form, exc: RuleViolations) -> None:
    for violation in exc.violations:
        field = violation.field if violation.field in form.fields else None
        form.add_error(field, violation.message)
