from django.contrib import admin

from shelf.catalog.models import Agreement, Category, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "is_active", "position")
    list_editable = ("is_active", "position")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_zh", "name_en", "parent", "is_active", "position")
    list_filter = ("parent",)


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ("title", "organization", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("title",)
