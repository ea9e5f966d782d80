"""WSGI entry point (gunicorn, uWSGI...): refuses the published development key outside debug,
as `registrar serve` and `registrar worker` do."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
application = get_wsgi_application()

from registrar.core.security import refuse_insecure_start  # noqa: E402 (needs the settings)

refuse_insecure_start()
