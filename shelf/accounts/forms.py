from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from shelf.accounts.throttle import throttle_message


class BuyerSignupForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.CharField(label=_("Email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)


class ProviderSignupForm(BuyerSignupForm):
    organization_name = forms.CharField(label=_("Organisation name"), max_length=100)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


class LoginForm(AuthenticationForm):
    """Django's login form, saying plainly when sign-in is paused after too many failures."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            cause = getattr(self.request, "shelf_login_throttled", None)
            if cause:
                raise forms.ValidationError(throttle_message(cause), code="throttled") from None
            raise
