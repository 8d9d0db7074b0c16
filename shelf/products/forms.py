"""Parsing of the wizard's form values that are not plain text; the rules themselves stay in the services."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NEW_AGREEMENT = "new"


class AgreementChoiceForm(forms.Form):
    """The basic step's agreement radio: blank (none), `new` (write one) or an agreement's id.

    Whether that agreement may be used is the service's rule; a value that is no id at all is a field error here.
    """

    agreement = forms.CharField(required=False)

    def clean_agreement(self) -> int | str | None:
        value = self.cleaned_data["agreement"]
        if value in ("", NEW_AGREEMENT):
            return value or None
        try:
            return int(value)
        except ValueError:
            raise ValidationError(_("Pick one of the listed agreements."), code="invalid") from None
