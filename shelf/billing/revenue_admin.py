"""Admin for revenue: commission rates change through the service (so each change has its audit row); splits are read-only."""

from django.contrib import admin, messages

from shelf.billing.revenue import CommissionRate, RevenueSplit
from shelf.billing.revenue_services import commission_rate_delete, commission_rate_save
from shelf.forms import ServiceError, error_text


@admin.register(CommissionRate)
class CommissionRateAdmin(admin.ModelAdmin):
    list_display = ("category", "rate_percent", "updated_by", "updated_at")
    fields = ("category", "rate_percent")

    def get_readonly_fields(self, request, obj=None):
        return ("category",) if obj else ()

    def save_model(self, request, obj, form, change):
        try:
            saved = commission_rate_save(
                actor=request.user,
                rate=obj if change else None,
                category=obj.category,
                rate_percent=str(obj.rate_percent),
            )
        except ServiceError as exc:
            messages.error(request, error_text(exc))
            return
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        commission_rate_delete(actor=request.user, rate=obj)

    def delete_queryset(self, request, queryset):
        for rate in queryset:
            commission_rate_delete(actor=request.user, rate=rate)


@admin.register(RevenueSplit)
class RevenueSplitAdmin(admin.ModelAdmin):
    """Splits are written once, by the ledger receiver: the admin only reads them."""

    list_display = (
        "created_at",
        "organization",
        "product",
        "kind",
        "gross",
        "commission",
        "provider_net",
        "marketplace",
    )
    list_filter = ("organization", "kind")
    raw_id_fields = ("entry", "product")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
