from django import forms
from django.utils.translation import gettext_lazy as _


class BuyerSignupForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.CharField(label=_("Email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)


class ProviderSignupForm(BuyerSignupForm):
    organization_name = forms.CharField(label=_("Organisation name"), max_length=100)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)
