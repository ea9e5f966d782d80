"""The notify app."""

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "registrar.notify"
