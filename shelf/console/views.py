"""Thin web views for the console shell: each parses, calls one service or selector, and renders."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from shelf.accounts.access import buyer_required, operator_required, provider_required
from shelf.accounts.selectors import organization_for_write, organizations_for
from shelf.audit.selectors import audit_events_for, audit_events_recent
from shelf.catalog.forms import AgreementForm, CategoryForm, RegionForm, TemplateForm
from shelf.catalog.selectors import (
    agreement_templates,
    agreements_for,
    agreements_own,
    categories_all,
    categories_top_level,
    reference_counts,
    regions_all,
)
from shelf.catalog.services import agreement_create, agreement_update, category_save, region_save
from shelf.forms import ServiceError, add_error
from shelf.storefront.selectors import featured_count

# Where signing in (and `/console/`) takes each role: providers and operators to their console, buyers to the
# storefront, where they shop. The storefront at `/` is everyone's front page.
HOME_BY_KIND = {
    "provider": "console:provider_home",
    "operator": "console:operator_home",
    "buyer": "storefront:home",
}


def home(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return redirect(HOME_BY_KIND.get(request.user.kind, "storefront:home"))


def _save_form(request, form, save, success_url, template, context):
    """Run `save(form.cleaned_data)`; on a service error show it on the form (per field), keeping the input."""
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(form.cleaned_data)
        except ServiceError as exc:
            add_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(success_url(obj))
    return render(request, template, {"form": form, **context})


# Provider console


@provider_required
def provider_home(request):
    return render(request, "console/provider_home.html", {"organizations": organizations_for(request.user)})


@provider_required
def provider_agreements(request):
    return render(
        request,
        "console/provider_agreements.html",
        {"own": agreements_own(user=request.user), "templates": agreement_templates(active=True)},
    )


@provider_required
def provider_agreement_new(request):
    organizations = organizations_for(request.user)

    def save(data):
        organization = organization_for_write(request.user, request.POST.get("organization") or None)
        return agreement_create(actor=request.user, organization=organization, **data)

    return _save_form(
        request,
        AgreementForm(request.POST or None),
        save,
        lambda a: reverse("console:provider_agreement", args=[a.pk]),
        "console/agreement_form.html",
        {"organizations": organizations, "title": _("New service agreement")},
    )


@provider_required
def provider_agreement_detail(request, agreement_id: int):
    agreement = get_object_or_404(agreements_for(request.user), pk=agreement_id)
    return render(
        request,
        "console/agreement_detail.html",
        {"agreement": agreement, "audit_events": audit_events_for(target=agreement)},
    )


# Operator console


@operator_required
def operator_home(request):
    return render(
        request,
        "console/operator_home.html",
        {
            **reference_counts(),
            "featured_count": featured_count(),
            "recent_events": audit_events_recent(limit=15),
        },
    )


@operator_required
def operator_regions(request):
    return render(request, "console/operator_regions.html", {"regions": regions_all()})


@operator_required
def operator_region_edit(request, region_id: int | None = None):
    region = get_object_or_404(regions_all(), pk=region_id) if region_id else None
    initial = model_to_dict(region) if region else None
    return _save_form(
        request,
        RegionForm(request.POST or None, initial=initial),
        lambda data: region_save(actor=request.user, region=region, **data),
        lambda r: reverse("console:operator_regions"),
        "console/reference_form.html",
        {
            "title": _("Region"),
            "object": region,
            "audit_events": audit_events_for(target=region) if region else [],
        },
    )


@operator_required
def operator_categories(request):
    return render(
        request,
        "console/operator_categories.html",
        {"tops": categories_top_level(with_children=True)},
    )


@operator_required
def operator_category_edit(request, category_id: int | None = None):
    category = get_object_or_404(categories_all(), pk=category_id) if category_id else None
    initial = model_to_dict(category) if category else None
    return _save_form(
        request,
        CategoryForm(request.POST or None, initial=initial),
        lambda data: category_save(actor=request.user, category=category, **data),
        lambda c: reverse("console:operator_categories"),
        "console/reference_form.html",
        {
            "title": _("Category"),
            "object": category,
            "audit_events": audit_events_for(target=category) if category else [],
        },
    )


@operator_required
def operator_agreements(request):
    return render(request, "console/operator_agreements.html", {"templates": agreement_templates()})


@operator_required
def operator_agreement_edit(request, agreement_id: int | None = None):
    agreement = get_object_or_404(agreement_templates(), pk=agreement_id) if agreement_id else None
    initial = model_to_dict(agreement) if agreement else None

    def save(data):
        if agreement is None:
            return agreement_create(actor=request.user, organization=None, title=data["title"], body=data["body"])
        return agreement_update(actor=request.user, agreement=agreement, **data)

    return _save_form(
        request,
        TemplateForm(request.POST or None, initial=initial),
        save,
        lambda a: reverse("console:operator_agreements"),
        "console/reference_form.html",
        {
            "title": _("Agreement template"),
            "object": agreement,
            "audit_events": audit_events_for(target=agreement) if agreement else [],
        },
    )


# Buyer area


@buyer_required
def buyer_home(request):
    return render(request, "console/buyer_home.html")
