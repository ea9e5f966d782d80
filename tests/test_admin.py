"""Issue 10, item 14: the Django admin never writes learner data past the journal, and the
journal itself is read-only there."""

from datetime import datetime

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.utils import timezone

from registrar.directory.models import Organisation, User
from registrar.journal.models import Change, ImportLock, Operation
from registrar.journal.undo import undo

from . import factories as f
from .portal_fixtures import BOTH

pytestmark = pytest.mark.django_db(databases=BOTH)


@pytest.fixture
def staff():
    boss = f.user("boss", is_staff=True, is_superuser=True)
    c = Client()
    c.force_login(boss)
    return boss, c


def form_data(model, obj, staff_user) -> dict:
    """What the admin's change form would post for `obj` as it is."""
    request = RequestFactory().get("/")
    request.user = staff_user
    form = admin.site._registry[model].get_form(request, obj)
    data = {}
    for name, value in model_to_dict(obj).items():
        if name not in form.base_fields or value is None or value is False:
            continue
        if isinstance(value, datetime):  # the admin's split date and time widget
            local = timezone.localtime(value)
            data[f"{name}_0"], data[f"{name}_1"] = local.date(), local.time().replace(microsecond=0)
            continue
        data[name] = "on" if value is True else getattr(value, "pk", value)
    return data


def test_item14_the_journal_is_read_only_in_the_admin(staff):
    _, c = staff
    op = Operation.objects.create(kind="import", name="users")
    ImportLock.objects.create(kind="users", scope_key="*", operation=op)
    for model, pk in ((Operation, op.pk), (ImportLock, ImportLock.objects.get().pk)):
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}"
        assert c.get(f"{base}/add/").status_code == 403
        assert c.post(f"{base}/{pk}/change/", {"name": "forged"}).status_code == 403
        assert c.post(f"{base}/{pk}/delete/", {"post": "yes"}).status_code == 403
        assert c.get(f"{base}/{pk}/change/").status_code == 200  # still shown
    op.refresh_from_db()
    assert op.name == "users" and ImportLock.objects.exists()


def test_item14_an_admin_edit_of_a_user_is_journalled_and_undoable(staff):
    boss, c = staff
    learner = f.user("learner", city="Paris")
    data = form_data(User, learner, boss) | {"city": "Brest"}
    r = c.post(f"/admin/directory/user/{learner.pk}/change/", data)
    assert r.status_code == 302, r.content[:2000]
    learner.refresh_from_db()
    assert learner.city == "Brest"
    op = Operation.objects.get(kind="admin")
    assert op.status == "done" and op.actor == boss and op.updated == 1
    assert learner.op == op.pk
    change = Change.objects.get(operation=op)
    assert (change.before["city"], change.after["city"]) == ("Paris", "Brest")
    assert change.before["op"] is None
    undo(op.pk)
    learner.refresh_from_db()
    assert learner.city == "Paris"


def test_item14_an_admin_add_is_journalled_and_deleting_is_refused(staff):
    boss, c = staff
    root = Organisation.objects.get_or_create(extid="ORG", defaults={"label": "Org"})[0]
    r = c.post("/admin/directory/organisation/add/", {"label": "New", "extid": "NEW"})
    assert r.status_code == 302, r.content[:2000]
    new = Organisation.objects.get(extid="NEW")
    op = Operation.objects.get(kind="admin")
    assert new.op == op.pk and op.created == 1
    assert Change.objects.get(operation=op).pks == [new.pk]
    assert (
        c.post(f"/admin/directory/organisation/{root.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Organisation.objects.filter(pk=root.pk).exists()
    undo(op.pk)
    assert not Organisation.objects.filter(extid="NEW").exists()


def test_the_admin_names_its_lists_in_proper_plural(staff):
    _, c = staff
    html = c.get("/admin/").content.decode()
    for plural in ("Categories", "Competencies", "Curricula", "Record histories"):
        assert plural in html, plural
    for wrong in ("Categorys", "Competencys", "Curriculums", "historys"):
        assert wrong not in html, wrong


def test_the_course_record_list_shows_and_searches_the_user_and_the_course(staff):
    from registrar.learning.models import CourseRecord

    _, c = staff
    org = f.org("ADM")
    alice, bob = f.user("alice", org), f.user("bob", org)
    course = f.course("SAFE-101")
    CourseRecord.objects.create(user=alice, course=course, status="C")
    CourseRecord.objects.create(user=bob, course=f.course("ETH-201"), status="I")
    html = c.get("/admin/learning/courserecord/").content.decode()
    assert "alice" in html and "SAFE-101" in html
    found = c.get("/admin/learning/courserecord/?q=alice").content.decode()
    assert "alice" in found and "bob" not in found
    found = c.get("/admin/learning/courserecord/?q=ETH-201").content.decode()
    assert "bob" in found and "alice" not in found


def test_a_users_culture_is_a_choice_in_the_admin_keeping_an_imported_value(staff):
    boss, _ = staff
    request = RequestFactory().get("/")
    request.user = boss
    model_admin = admin.site._registry[User]
    field = model_admin.get_form(request, None).base_fields["culture"]
    assert ("fr-FR", "fr-FR") in field.choices and ("", "—") in field.choices
    odd = f.user("odd", culture="eo")
    field = model_admin.get_form(request, odd).base_fields["culture"]
    assert ("eo", "eo") in field.choices
