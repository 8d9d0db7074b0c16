from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from shelf.accounts.models import ApiToken, Membership, Organization, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "kind", "is_active", "date_joined")
    list_filter = ("kind", "is_active")
    fieldsets = BaseUserAdmin.fieldsets + (("Shelf", {"fields": ("kind",)}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash")
