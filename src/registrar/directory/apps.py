"""The directory app."""

from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "registrar.directory"
