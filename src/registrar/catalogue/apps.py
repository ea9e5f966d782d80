"""The catalogue app."""

from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "registrar.catalogue"
