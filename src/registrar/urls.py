"""URL routes: the portal, the REST API (/api/, docs at /api/docs) and the Django admin."""

from django.contrib import admin
from django.urls import include, path

from registrar.api.views import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("registrar.portal.urls")),
]
