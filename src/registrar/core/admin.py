"""Generic admin registration: every model of an app, with sensible list columns and search."""

from django.contrib import admin
from django.db import models

SEARCHABLE = ("login", "email", "extid", "code", "name", "label", "title", "last_name")


def register_all(app_config, base=admin.ModelAdmin, only=None) -> None:
    """Register the app's models (those `only` accepts) with a generated admin class on `base`."""
    for model in app_config.get_models():
        if admin.site.is_registered(model) or (only and not only(model)):
            continue
        fields = [
            f
            for f in model._meta.concrete_fields
            if not isinstance(f, (models.TextField, models.JSONField))
        ]
        shown = [f.name for f in fields if f.name not in ("password",)][:7]
        search = [f.name for f in fields if f.name in SEARCHABLE]
        raw_ids = [f.name for f in fields if isinstance(f, models.ForeignKey)]
        attrs = {
            "list_display": shown,
            "search_fields": search,
            "raw_id_fields": raw_ids,
            "list_per_page": 50,
            "show_full_result_count": False,
        }
        if model._meta.label == "directory.User":
            attrs["exclude"] = ("password",)
        admin.site.register(model, type(f"{model.__name__}Admin", (base,), attrs))
