"""Django admin for the notify app: every model, listed with its main fields."""

from django.apps import apps

from registrar.core.admin import register_all

register_all(apps.get_app_config("notify"))
