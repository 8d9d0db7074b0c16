"""Thin web views: each parses, calls one service or selector, and renders."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import provider_required
from shelf.accounts.selectors import organization_for_write, organizations_for
from shelf.audit.selectors import audit_events_for
from shelf.forms import ServiceError, add_error
from shelf.webhooks.forms import WebhookForm
from shelf.webhooks.models import Delivery
from shelf.webhooks.selectors import deliveries_of, webhooks_for
from shelf.webhooks.services import webhook_create, webhook_delete, webhook_rotate_secret


@provider_required
def webhook_list(request):
    """The organisations' webhooks and the form that registers one."""
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = organization_for_write(request.user, request.POST.get("organization") or None)
            webhook = webhook_create(
                actor=request.user,
                organization=organization,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
            )
        except ServiceError as exc:
            add_error(form, exc)
        else:
            messages.success(request, _("Webhook added. Use its secret to verify the signature of each request."))
            return redirect("webhooks:detail", webhook_id=webhook.pk)
    return render(
        request,
        "webhooks/list.html",
        {"webhooks": webhooks_for(request.user), "form": form, "organizations": organizations_for(request.user)},
    )


@provider_required
def webhook_detail(request, webhook_id):
    webhook = get_object_or_404(webhooks_for(request.user), pk=webhook_id)
    return render(
        request,
        "webhooks/detail.html",
        {
            "webhook": webhook,
            "deliveries": deliveries_of(webhook),
            "audit_events": audit_events_for(target=webhook),
            "DeliveryStatus": Delivery.Status,
        },
    )


@provider_required
@require_POST
def webhook_rotate(request, webhook_id):
    webhook = get_object_or_404(webhooks_for(request.user), pk=webhook_id)
    webhook_rotate_secret(actor=request.user, webhook=webhook)
    messages.success(request, _("New secret generated; the old one no longer signs requests."))
    return redirect("webhooks:detail", webhook_id=webhook.pk)


@provider_required
@require_POST
def webhook_remove(request, webhook_id):
    webhook = get_object_or_404(webhooks_for(request.user), pk=webhook_id)
    webhook_delete(actor=request.user, webhook=webhook)
    messages.success(request, _("Webhook for %(url)s deleted.") % {"url": webhook.url})
    return redirect("webhooks:list")
