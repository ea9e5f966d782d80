"""The portal's routes."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="portal/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("imports/", views.imports, name="imports"),
    path("imports/<slug:name>/", views.kind, name="kind"),
    path("imports/<slug:name>/template.<str:fmt>", views.template, name="template"),
    path("uploads/<uuid:upload_id>/", views.upload, name="upload"),
    path("jobs/<uuid:job_id>/", views.job, name="job"),
    path("jobs/<uuid:job_id>/status/", views.job_status, name="job_status"),
    path("jobs/<uuid:job_id>/run/", views.job_rerun, name="job_rerun"),
    path("history/", views.history, name="history"),
    path("history/<int:op_id>/", views.operation, name="operation"),
    path("history/<int:op_id>/undo/", views.operation_undo, name="operation_undo"),
    path("history/<int:op_id>/<str:name>/", views.operation_file, name="operation_file"),
]
