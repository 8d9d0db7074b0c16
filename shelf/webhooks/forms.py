from django import forms
from django.utils.translation import gettext_lazy as _

from shelf.webhooks.models import Event, Webhook


class WebhookForm(forms.Form):
    """Only parses: the URL and event rules live in the service, which reports them per field."""

    url = forms.CharField(
        label=_("Payload URL"),
        max_length=Webhook.URL_MAX_LENGTH,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/shelf-events"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=Event.choices,
        initial=list(Event.values),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
