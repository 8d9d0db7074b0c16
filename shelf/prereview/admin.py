from django.contrib import admin

from shelf.prereview.models import ClaimWord


@admin.register(ClaimWord)
class ClaimWordAdmin(admin.ModelAdmin):
    list_display = ("word", "kind", "language", "is_active", "note", "created_by", "created_at")
    list_filter = ("kind", "language", "is_active")
    list_editable = ("is_active",)
    search_fields = ("word", "note")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
