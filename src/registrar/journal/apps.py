"""The journal app."""

from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "registrar.journal"
