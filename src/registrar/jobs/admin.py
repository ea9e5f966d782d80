from django.contrib import admin

from .models import Job, Upload

admin.site.register(Job)
admin.site.register(Upload)
