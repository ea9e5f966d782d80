"""Generic admin registration: every model of an app, with sensible list columns and search."""

from django.contrib import admin
from django.db import models

SEARCHABLE = ("login", "email", "extid", "code", "name", "label", "title", "last_name")
# Links that say whose or what a row is: shown first and searched through (a record's user login
# and course code), so that a list of records reads as one.
LEADING = ("user", "course", "curriculum", "programme", "lesson", "organisation", "session")
NAMING = ("login", "code", "extid")
# What the culture field offers in the admin (a user's culture chooses mail templates and the
# language); a value outside it, imported before, stays selectable.
CULTURES = (
    "en-GB", "en-US", "fr-FR", "fr-BE", "fr-CA", "fr-CH", "de-DE", "de-CH", "es-ES", "it-IT",
    "nl-NL", "nl-BE", "pt-PT", "pt-BR", "pl-PL", "sv-SE", "da-DK", "fi-FI", "nb-NO", "cs-CZ",
)  # fmt: skip


class CultureChoice:
    """Admin mixin: the culture field as a choice of known cultures."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name != "culture":
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        from django import forms

        choices = [("", "—"), *((c, c) for c in CULTURES)]
        return forms.TypedChoiceField(
            choices=choices, required=False, label=db_field.verbose_name, empty_value=""
        )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        field = form.base_fields.get("culture")
        value = getattr(obj, "culture", "") if obj else ""
        if field is not None and value and value not in CULTURES:
            field.choices = [*field.choices, (value, value)]
        return form


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
        leading = [f for f in fields if isinstance(f, models.ForeignKey) and f.name in LEADING]
        rest = [f for f in fields if f not in leading and f.name not in ("password", "op")]
        shown = [f.name for f in leading + rest][:7]
        search = [f.name for f in fields if f.name in SEARCHABLE]
        for f in leading:
            related = {g.name for g in f.related_model._meta.concrete_fields}
            search += [f"{f.name}__{n}" for n in NAMING if n in related]
        raw_ids = [f.name for f in fields if isinstance(f, models.ForeignKey)]
        attrs = {
            "list_display": shown,
            "list_select_related": [f.name for f in leading if f.name in shown],
            "search_fields": search,
            "raw_id_fields": raw_ids,
            "list_per_page": 50,
            "show_full_result_count": False,
        }
        if model._meta.label == "directory.User":
            attrs["exclude"] = ("password",)
        bases = (CultureChoice, base) if "culture" in {f.name for f in fields} else (base,)
        admin.site.register(model, type(f"{model.__name__}Admin", bases, attrs))
