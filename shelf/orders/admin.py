from django.contrib import admin

from shelf.orders.models import InstanceOffer, InstanceType, LedgerEntry, Order


class OfferInline(admin.TabularInline):
    model = InstanceOffer
    extra = 0


@admin.register(InstanceType)
class InstanceTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "family", "vcpus", "memory_mib", "position")
    list_editable = ("position",)
    inlines = [OfferInline]


@admin.register(InstanceOffer)
class InstanceOfferAdmin(admin.ModelAdmin):
    list_display = (
        "instance_type",
        "region",
        "price_monthly",
        "price_hourly",
        "disk_min_gib",
        "disk_max_gib",
        "on_sale",
    )
    list_filter = ("region", "on_sale")
    list_editable = ("on_sale",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money moves only through shelf.orders.services (a ledger row with who and why): the admin only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "kind", "amount", "reason", "actor", "order")
    list_filter = ("kind",)
    search_fields = ("user__username", "reason")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "buyer", "product", "region", "instance_type", "billing_mode", "total", "charged", "status")
    list_filter = ("status", "billing_mode", "region")
    search_fields = ("buyer__username", "name")
