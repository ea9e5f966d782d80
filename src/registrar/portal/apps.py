from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "registrar.portal"
    label = "portal"
    verbose_name = "Portal"

    def ready(self):
        from django.contrib.auth import user_logged_in
        from django.contrib.auth.models import update_last_login

        from .signin import record_last_login

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(record_last_login, dispatch_uid="registrar_last_login")
