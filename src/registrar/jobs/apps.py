from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "registrar.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
