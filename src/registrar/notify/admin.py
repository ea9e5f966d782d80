"""Django admin for the notify app: every model, listed with its main fields; edits go through the
journal (registrar.journal.admin)."""

from django.apps import apps
from django.contrib import admin

from registrar.journal.admin import JournalledAdmin, ReadOnlyAdmin, register_journalled

from .models import MailTemplate, OutboxMail


@admin.register(MailTemplate)
class MailTemplateAdmin(JournalledAdmin):
    """Templates are edited here or imported (mail-templates); the model's clean() refuses a
    template naming a field no mail can fill, as the import does."""

    list_display = ("code", "culture", "subject")
    list_filter = ("culture",)
    search_fields = ("code", "subject")
    ordering = ("code", "culture")
    list_per_page = 50


@admin.register(OutboxMail)
class OutboxMailAdmin(ReadOnlyAdmin):
    """The outbox is a record of what was sent: an edited row could send a link elsewhere."""

    list_display = (
        "to",
        "subject",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "sent_at",
    )
    list_filter = ("state",)
    search_fields = ("to", "subject")
    raw_id_fields = ("template", "user", "operation")
    list_per_page = 50
    show_full_result_count = False


register_journalled(apps.get_app_config("notify"), ReadOnlyAdmin)
