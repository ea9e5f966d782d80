"""URL routes: the portal, the REST API (/api/, docs at /api/docs) and the Django admin."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from registrar.api.views import api

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page says: the icon is an SVG.
    path("favicon.ico", RedirectView.as_view(url=static("portal/favicon.svg"), permanent=True)),
    path("api/", api.urls),
    path("", include("registrar.portal.urls")),
]
