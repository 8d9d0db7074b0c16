from django.contrib import admin

from shelf.scanning.models import YaraRuleSet


@admin.register(YaraRuleSet)
class YaraRuleSetAdmin(admin.ModelAdmin):
    """The model's clean() compiles the rules, so the admin form shows a syntax error with its line and saves nothing."""

    list_display = ("name", "is_active", "updated_by", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "source")
    readonly_fields = ("updated_by", "updated_at")

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
