"""Django admin for the journal, read-only; and the admin base every journalled model uses, which
writes through the journal so that an edit in the admin is attributed and can be undone."""

from django.apps import apps
from django.contrib import admin
from django.db import transaction

from registrar.core.admin import register_all

from . import service, writes
from .models import Operation


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never changed: the journal is written by operations only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class JournalledAdmin(admin.ModelAdmin):
    """Learner data in the admin: each save is an operation of its own (kind `admin`), written
    through journal.writes with before and after values, so it shows in the history and
    `registrar undo` restores it. Deleting is left to the imports and actions, whose verbs
    carry the consequences (a delete here would cascade past the journal); many-to-many links
    are not edited here for the same reason."""

    def get_exclude(self, request, obj=None):
        m2m = [f.name for f in self.model._meta.many_to_many]
        return [*(super().get_exclude(request, obj) or ()), *m2m]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        model = self.model
        label = model._meta.verbose_name
        op = service.start_operation(
            "admin", f"admin: {'change' if change else 'add'} {label}"[:60], request.user
        )
        try:
            with transaction.atomic():
                if change:
                    names = [
                        f.attname
                        for f in model._meta.concrete_fields
                        if f.name in form.changed_data and not f.primary_key
                    ]
                    before = model._base_manager.filter(pk=obj.pk).values(*names, "op").get()
                    new = {n: getattr(obj, n) for n in names}
                    writes.update(model, [(obj.pk, new, before, None)], op)
                else:
                    values = {
                        f.attname: getattr(obj, f.attname)
                        for f in model._meta.concrete_fields
                        if not f.primary_key and f.attname != "op"
                    }
                    obj.pk = writes.insert(model, [values], op)[0]
                obj.op = op.pk
        except BaseException as e:
            service.fail_operation(op, e)
            raise
        counts = {"rows": 1, "updated" if change else "created": 1}
        service.finish_operation(op, Operation.Status.DONE, **counts)

    def save_related(self, request, form, formsets, change):
        """Nothing else to save: many-to-many links are not edited in the admin."""


def journalled(model) -> bool:
    return any(f.name == "op" for f in model._meta.concrete_fields)


def register_journalled(app_config, others=admin.ModelAdmin) -> None:
    """An app's journalled models through the journal; its other models on `others`."""
    register_all(app_config, JournalledAdmin, journalled)
    register_all(app_config, others)


register_all(apps.get_app_config("journal"), ReadOnlyAdmin)
