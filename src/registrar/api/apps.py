from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "registrar.api"
    label = "api"
    verbose_name = "REST API"
