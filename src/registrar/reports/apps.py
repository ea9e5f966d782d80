"""The reports app (no models: it reads the learning tables)."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "registrar.reports"
    label = "reports"
