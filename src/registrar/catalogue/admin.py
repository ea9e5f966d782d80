"""Django admin for the catalogue app: every model, listed with its main fields; edits go through the
journal (registrar.journal.admin)."""

from django.apps import apps

from registrar.journal.admin import register_journalled

register_journalled(apps.get_app_config("catalogue"))
