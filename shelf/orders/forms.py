from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shelf.catalog.selectors import regions_all
from shelf.orders.pricing import MONTHS_MAX, YEARS_MAX, Term
from shelf.orders.selectors import instance_types_all
from shelf.orders.services import NAME_MAX, REASON_MAX


def term_choices(revision) -> list[tuple[str, str]]:
    """The terms this product sells, as "unit:count" values: months and years (prepaid) or hourly."""
    if revision.billing_mode == "postpaid":
        return [("hour:1", _("Hourly (postpaid)"))]
    choices = []
    if revision.price_monthly is not None:
        choices += [
            (f"month:{n}", ngettext("%(n)d month", "%(n)d months", n) % {"n": n}) for n in range(1, MONTHS_MAX + 1)
        ]
    choices += [(f"year:{n}", ngettext("%(n)d year", "%(n)d years", n) % {"n": n}) for n in range(1, YEARS_MAX + 1)]
    return choices


def parse_term(value: str | None) -> Term | None:
    unit, _sep, count = (value or "").partition(":")
    return Term(unit, int(count)) if count.isdigit() else None


class PurchaseForm(forms.Form):
    region = forms.ChoiceField(label=_("Region"))
    instance_type = forms.ChoiceField(label=_("Instance type"))
    disk_gib = forms.IntegerField(
        label=_("System disk (GiB)"), required=False, min_value=1, help_text=_("Empty: the smallest that fits.")
    )
    term = forms.ChoiceField(label=_("Term"))
    ssh_public_key = forms.CharField(
        label=_("SSH public key"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ssh-ed25519 AAAA… you@laptop"}),
        help_text=_("The contents of your ~/.ssh/id_ed25519.pub; you log in with it, no password is set."),
        required=False,
    )
    name = forms.CharField(label=_("Server name"), max_length=NAME_MAX, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, revision, offers_by_region, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(d.region.code, d.region.display_name) for d, _offers in offers_by_region]
        self.fields["instance_type"].choices = sorted(
            {
                (
                    o.instance_type.code,
                    f"{o.instance_type.code} · {o.instance_type.vcpus} vCPU · {o.instance_type.memory_gib_display} GiB",
                )
                for _d, offers in offers_by_region
                for o in offers
            }
        )
        self.fields["term"].choices = term_choices(revision)


class TopupForm(forms.Form):
    user = forms.CharField(label=_("Buyer (username)"))
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=14, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX)


class InstanceTypeForm(forms.Form):
    code = forms.CharField(label=_("Code"), help_text=_("For example S5.SMALL1."))
    family = forms.CharField(label=_("Family"))
    vcpus = forms.IntegerField(label=_("vCPUs"), min_value=1)
    memory_mib = forms.IntegerField(label=_("Memory (MiB)"), min_value=128)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)


class OfferForm(forms.Form):
    region = forms.ModelChoiceField(label=_("Region"), queryset=regions_all())
    instance_type = forms.ModelChoiceField(label=_("Instance type"), queryset=instance_types_all())
    price_monthly = forms.DecimalField(label=_("Monthly price (CNY)"), max_digits=14, decimal_places=2)
    price_hourly = forms.DecimalField(label=_("Hourly price (CNY)"), max_digits=14, decimal_places=2)
    disk_min_gib = forms.IntegerField(label=_("System disk minimum (GiB)"), min_value=1, initial=20)
    disk_max_gib = forms.IntegerField(label=_("System disk maximum (GiB)"), min_value=1, initial=500)
    on_sale = forms.BooleanField(label=_("On sale"), required=False, initial=True)
