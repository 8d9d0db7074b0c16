from django import forms
from django.utils.translation import gettext_lazy as _


class ExceptionForm(forms.Form):
    """An operator's exception for one finding; the service checks the rules, the form only parses the values."""

    check_id = forms.CharField(required=False, strip=False)
    key = forms.CharField(required=False, strip=False)
    justification = forms.CharField(required=False, strip=False)
    expires_at = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], error_messages={"invalid": _("Give the expiry date as YYYY-MM-DD.")}
    )
