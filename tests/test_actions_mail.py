"""Actions that notify (SPEC §2.13, §5 Mail): `mail_template` checked against the fields the
action fills before anything is queued; mails queued in the action's transaction and delivered
by the background task over SMTP; verify-only queues nothing; the user's culture picks the
template."""

import pytest

from registrar.core.errors import FileError
from registrar.journal.models import Operation
from registrar.learning.models import CourseAssignment
from registrar.notify.models import MailTemplate, OutboxMail

from . import factories as f
from .portal_fixtures import BOTH, run_jobs
from .test_mail import Server

pytestmark = pytest.mark.django_db(databases=BOTH)
ASSIGN = "users.assign-courses"


@pytest.fixture
def smtp(settings):
    s = Server(settings)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def world(db):
    org = f.org("ACME")
    f.course("SAFE-101", "Workplace safety")
    f.user("amartin", org, email="alice@example.com", first_name="Alice", culture="en-GB")
    f.user("hlefevre", org, email="helene@example.com", first_name="Hélène", culture="fr-FR")
    f.user("nomail", org, email="", first_name="No")
    MailTemplate.objects.create(
        code="assigned",
        culture="",
        subject="New course: {{ course.title }}",
        body="Hello {{ user.first_name }}, finish {{ course.code }} by {{ assignment.target_date }}.",
    )
    MailTemplate.objects.create(
        code="assigned",
        culture="fr-FR",
        subject="Nouveau cours : {{ course.title }}",
        body="Bonjour {{ user.first_name }}, à terminer avant le {{ assignment.target_date }}.",
    )
    return org


PARAMS = {"courses": ["SAFE-101"], "target_date": "2030-06-15", "mail_template": "assigned"}


def test_assign_courses_with_a_mail_template_delivers_through_the_background_task(
    world, act, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rep = act(ASSIGN, PARAMS, ids=["amartin", "hlefevre", "nomail"])
    assert rep.counts["created"] == 3
    by_login = {r["user_login"]: r for r in rep.rows}
    assert by_login["nomail"]["codes"] == "no_email"  # assigned all the same, warned
    assert OutboxMail.objects.filter(state="queued").count() == 2
    run_jobs()
    assert set(OutboxMail.objects.values_list("state", flat=True)) == {"sent"}
    mails = {m["To"]: m for m in smtp.messages}
    assert mails["alice@example.com"]["Subject"] == "New course: Workplace safety"
    assert "Hello Alice, finish SAFE-101 by" in mails["alice@example.com"].get_content()
    assert mails["helene@example.com"]["Subject"] == "Nouveau cours : Workplace safety"
    assert "Bonjour Hélène" in mails["helene@example.com"].get_content()


def test_a_template_naming_a_field_the_action_cannot_fill_is_refused_before_anything(world, act):
    MailTemplate.objects.create(
        code="wrong", culture="", subject="{{ curriculum.title }}", body="Hello"
    )
    with pytest.raises(FileError) as e:
        act(ASSIGN, {"courses": ["SAFE-101"], "mail_template": "wrong"}, ids=["amartin"])
    assert e.value.code == "template_field_unavailable"
    assert e.value.params["field"] == "curriculum.title"
    assert not Operation.objects.exists() and not OutboxMail.objects.exists()
    assert not CourseAssignment.objects.exists()


def test_an_unknown_mail_template_is_an_invalid_parameter(world, act):
    with pytest.raises(FileError) as e:
        act(ASSIGN, {"courses": ["SAFE-101"], "mail_template": "nope"}, ids=["amartin"])
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "mail_template")


def test_verify_only_queues_no_mail(world, act, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rep = act(ASSIGN, PARAMS, ids=["amartin", "hlefevre"], verify_only=True)
    assert rep.counts["created"] == 2
    assert not OutboxMail.objects.exists() and not callbacks


def test_undo_of_an_action_that_mailed_says_the_mails_stay_sent(world, act):
    import io

    from django.core.management import call_command

    rep = act(ASSIGN, PARAMS, ids=["amartin"])
    out = io.StringIO()
    call_command("undo", str(rep.operation.pk), stdout=out)
    assert "an undo cannot unsend a mail" in out.getvalue()
    assert not CourseAssignment.objects.exists()
    assert OutboxMail.objects.count() == 1  # the mail stays in the outbox, as it was sent


def test_send_mail_with_a_free_subject_and_body(
    world, act, smtp, django_capture_on_commit_callbacks
):
    params = {"subject": "Hello {{ user.first_name }}", "body": "Your login: {{ user.login }}"}
    with django_capture_on_commit_callbacks(execute=True):
        rep = act("users.send-mail", params, ids=["amartin", "nomail"])
    results = {r["user_login"]: (r["result"], r["codes"]) for r in rep.rows}
    assert results == {"amartin": ("created", ""), "nomail": ("skipped", "no_email")}
    run_jobs()
    (m,) = smtp.messages
    assert m["Subject"] == "Hello Alice" and "Your login: amartin" in m.get_content()


def test_send_mail_refuses_a_course_field_naming_it(world, act):
    with pytest.raises(FileError) as e:
        act("users.send-mail", {"subject": "{{ course.title }}", "body": "x"}, ids=["amartin"])
    assert (e.value.code, e.value.params["field"]) == ("template_field_unavailable", "course.title")
    assert not OutboxMail.objects.exists()


def test_send_mail_takes_a_template_or_a_text_not_both(world, act):
    with pytest.raises(FileError) as e:
        act(
            "users.send-mail",
            {"subject": "a", "body": "b", "mail_template": "assigned"},
            ids=["amartin"],
        )
    assert e.value.code == "invalid_combination"
