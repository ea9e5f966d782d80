from django.contrib import admin

from .models import Job, PurgedFiles, Upload, Worker

admin.site.register(Job)
admin.site.register(Upload)
admin.site.register(Worker)
admin.site.register(PurgedFiles)
