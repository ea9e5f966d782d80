"""The portal's routes."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import assistant, auth, dashboard, views

app_name = "portal"
urlpatterns = [
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("forgot-password/", auth.ForgotPasswordView.as_view(), name="forgot_password"),
    path(
        "forgot-password/sent/",
        auth.ForgotPasswordSentView.as_view(),
        name="forgot_password_sent",
    ),
    path("set-password/done/", auth.SetPasswordDoneView.as_view(), name="set_password_done"),
    path("set-password/<uidb64>/<token>/", auth.SetPasswordView.as_view(), name="set_password"),
    # The address of the welcome mails sent before there was a set-password page.
    path("reset/<uidb64>/<token>/", auth.SetPasswordView.as_view(), name="set_password_old"),
    path("", dashboard.dashboard, name="home"),
    path("imports/", views.imports, name="imports"),
    path("imports/<slug:name>/", views.kind, name="kind"),
    path("imports/<slug:name>/template.<str:fmt>", views.template, name="template"),
    path("uploads/<uuid:upload_id>/", views.upload, name="upload"),
    path("jobs/<uuid:job_id>/", views.job, name="job"),
    path("jobs/<uuid:job_id>/status/", views.job_status, name="job_status"),
    path("jobs/<uuid:job_id>/run/", views.job_rerun, name="job_rerun"),
    path("assistants/", assistant.assistants, name="assistants"),
    path("assistants/<slug:target>/", assistant.select, name="assistant_select"),
    path("assistants/<slug:target>/<slug:verb>/", assistant.parameters, name="assistant_params"),
    path("history/", views.history, name="history"),
    path("history/<int:op_id>/", views.operation, name="operation"),
    path("history/<int:op_id>/undo/", views.operation_undo, name="operation_undo"),
    path("history/<int:op_id>/<str:name>/", views.operation_file, name="operation_file"),
]

# Notifications, the calendar and its feed (issue 11). The feed's address is its secret: request
# logs mask it (registrar.notify.feed_logging, settings.LOGGING).
from . import notifications as notification_views  # noqa: E402

urlpatterns += [
    path("notifications/", notification_views.notifications, name="notifications"),
    path("calendar/", notification_views.calendar, name="calendar"),
    path("calendar/feed/", notification_views.calendar_feed_new, name="calendar_feed_new"),
    path("calendar/feed/stop/", notification_views.calendar_feed_stop, name="calendar_feed_stop"),
    path("calendar/<str:token>.ics", notification_views.calendar_feed, name="calendar_feed"),
]

# The browse pages (issue 12, part 4): users, a user, courses, a course.
from . import browse_courses, browse_users  # noqa: E402

urlpatterns += [
    path("users/", browse_users.users, name="users"),
    path("users/<str:key>/", browse_users.user, name="user"),
    path("courses/", browse_courses.courses, name="courses"),
    path("courses/<str:code>/", browse_courses.course, name="course"),
]

# The export assistant (issue 12, part 1).
from . import export as export_views  # noqa: E402

urlpatterns += [path("export/", export_views.export_page, name="export")]

# The language switch and the user's own settings (issue 14, item 2).
from . import preferences  # noqa: E402

urlpatterns += [
    path("language/", preferences.switch_language, name="language"),
    path("settings/", preferences.settings_page, name="settings"),
]

# Merge two users and transfer progress (issue 13, items 3 and 4).
from . import merge as merge_views  # noqa: E402

urlpatterns += [
    path("merge/", merge_views.merge_page, name="merge"),
    path("merge/transfer/", merge_views.transfer_page, name="transfer"),
    path("merge/jobs/<uuid:job_id>/", merge_views.merge_job, name="merge_job"),
]
