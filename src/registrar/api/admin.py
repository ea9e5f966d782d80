from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user_id", "hint", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key_hash", "hint")
