"""Django admin for the notify app: every model, listed with its main fields; edits go through the
journal (registrar.journal.admin)."""

from django.apps import apps

from registrar.journal.admin import ReadOnlyAdmin, register_journalled

# The outbox is a record of what was sent: an edited row could send a link elsewhere.
register_journalled(apps.get_app_config("notify"), ReadOnlyAdmin)
