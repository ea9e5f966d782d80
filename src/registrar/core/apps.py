"""The core app: Registrar's management commands."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "registrar.core"
