"""Jobs, uploads and workers in the Django admin: shown, never edited (a path or a status edited
here would send the purge or a worker somewhere else)."""

from django.contrib import admin

from registrar.journal.admin import ReadOnlyAdmin

from .models import Job, PurgedFiles, Upload, Worker

for model in (Job, Upload, Worker, PurgedFiles):
    admin.site.register(model, ReadOnlyAdmin)
