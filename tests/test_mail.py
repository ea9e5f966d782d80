"""Mail for bulk operations (SPEC §2.13, §5 Mail): sandboxed templates, one template per culture,
set-based queueing in the operation's transaction, delivery over a real SMTP server (aiosmtpd on
loopback) with retries and backoff."""

import email
import importlib
import threading
from datetime import date, timedelta
from email import policy
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks import default_task_backend

from registrar.journal.models import Operation
from registrar.notify import mail, outbox, tasks, templates
from registrar.notify.models import MailTemplate, OutboxMail
from registrar.notify.password_links import PLACEHOLDER

from . import factories as f
from .test_unenrolments import free_port

USER = templates.fields("user")
COURSE = templates.fields("user", "course", "assignment")


# SMTP on loopback -------------------------------------------------------------------------------


class Server:
    """An aiosmtpd server on a port of its own that can be stopped and started again; it keeps
    every message, and answers 451 (try later) to later@… and 550 to refused@…"""

    def __init__(self, settings):
        self.port = free_port()
        self.envelopes = []
        self.controller = None
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", self.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 10

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("later@"):
            return "451 4.3.0 Mailbox busy, try later"
        if address.startswith("refused@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


@pytest.fixture
def server(settings):
    s = Server(settings)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def down(settings):
    """The SMTP server's address, with nothing listening yet (start() brings it up)."""
    s = Server(settings)
    yield s
    s.stop()


@pytest.fixture
def dummy_tasks(settings):
    """Tasks are kept, not run: the test sees what was enqueued, and when for."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    default_task_backend.clear()
    yield default_task_backend
    default_task_backend.clear()


def later(minutes: float):
    """Patch the clock `minutes` ahead."""
    return mock.patch(
        "django.utils.timezone.now", return_value=timezone.now() + timedelta(minutes=minutes)
    )


# The world --------------------------------------------------------------------------------------


@pytest.fixture
def op(db):
    return Operation.objects.create(kind="action", name="users.assign-courses")


def person(login: str, culture: str = "", email: str | None = None, **kw) -> dict:
    u = f.user(
        login,
        email=f"{login}@example.com" if email is None else email,
        first_name=login.title(),
        culture=culture,
        **kw,
    )
    return {
        "id": u.pk,
        "login": u.login,
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "culture": u.culture,
    }


SAFE = {"title": "Workplace safety", "code": "SAFE-101"}
DATES = {"start_date": date(2030, 1, 6), "target_date": date(2030, 6, 15), "end_date": None}


@pytest.fixture
def assigned(db):
    """Course-assigned mail: a default template and a French one."""
    MailTemplate.objects.create(
        code="assigned",
        subject="New course: {{ course.title }}",
        body="Hello {{ user.first_name }}, complete {{ course.code }} by "
        "{{ assignment.target_date|date:'Y-m-d' }}. {{ portal_url }}",
    )
    MailTemplate.objects.create(
        code="assigned",
        culture="fr-FR",
        subject="Nouveau cours : {{ course.title }}",
        body="Bonjour {{ user.first_name }}, à terminer avant le {{ assignment.target_date }}.",
    )


# Templates: the sandbox -------------------------------------------------------------------------


def test_fields_of_lists_the_dotted_names_a_template_uses():
    text = (
        "{{ user.first_name|default:user.login }} {% if course.title %}{{ course.title|upper }}"
        "{% elif curriculum.code == 'X' %}{% firstof assignment.end_date portal_url %}{% endif %}"
        "{# {{ user.email }} is a comment #}{% verbatim %}{{ raw }}{% endverbatim %}"
    )
    assert templates.fields_of(text) == {
        "user.first_name",
        "user.login",
        "course.title",
        "curriculum.code",
        "assignment.end_date",
        "portal_url",
    }


def test_a_field_the_operation_cannot_fill_is_refused_naming_it():
    with pytest.raises(templates.TemplateError) as e:
        templates.check("welcome", ["Hi {{ user.first_name }}", "{{ course.title }}"], USER)
    assert (e.value.template, e.value.field) == ("welcome", "course.title")
    templates.check("welcome", ["Hi {{ user.first_name }} {{ portal_url }}"], USER)


@pytest.mark.parametrize(
    "text, field",
    [
        ("{% load static %}", "{% load %}"),
        ("{% include 'secrets.txt' %}", "{% include %}"),
        ("{% extends 'base.html' %}", "{% extends %}"),
        ("{% ssi '/etc/passwd' %}", "{% ssi %}"),
        ("{% debug %}", "{% debug %}"),
        ("{% for c in user.login %}{{ c }}{% endfor %}", "{% for %}"),
        ("{% with n=user.login %}{{ n }}{% endwith %}", "{% with %}"),
        ("{% url 'portal:home' %}", "{% url %}"),
        ("{{ user.login|escape }}", "|escape"),
        ("{{ user.login|pprint }}", "|pprint"),
        ("{{ user.password }}", "user.password"),
        ("{{ user.first_name.upper }}", "user.first_name.upper"),
        ("{{ user }}", "user"),
        ("{{ settings.SECRET_KEY }}", "settings.SECRET_KEY"),
        ("{% firstof user.login as x %}{{ x }}", "{% firstof … as %}"),
    ],
)
def test_tags_filters_and_fields_outside_the_sandbox_are_refused(text, field):
    with pytest.raises(templates.TemplateError) as e:
        templates.check("t", [text], templates.KNOWN)
    assert e.value.field == field


def test_a_template_that_does_not_parse_is_refused_with_the_error():
    with pytest.raises(templates.TemplateError) as e:
        templates.check("t", ["{% if %}x{% endif %}"], templates.KNOWN)
    assert "if" in e.value.field
    with pytest.raises(templates.TemplateError) as e:
        templates.check("t", ["{{ user.__class__ }}"], templates.KNOWN)
    assert "underscore" in e.value.field
    with pytest.raises(templates.TemplateError):
        templates.check("t", ["{% if user.login %}never closed"], templates.KNOWN)


def test_render_reads_plain_values_only_and_leaves_missing_fields_empty():
    class Loud:
        def __str__(self):
            return "stringified"

        def first_name(self):  # never called: only plain values reach the template
            raise AssertionError("called")

    values = {"user": {"first_name": Loud(), "login": None}, "course": "not a dict"}
    assert templates.render(
        "[{{ user.first_name }}|{{ user.login }}|{{ course.title }}]", values
    ) == ("[stringified||]")
    assert templates.context_of({"user": {"login": "a", "password": "x"}, "other": 1}) == {
        "user": {"login": "a"}
    }


def test_dates_are_written_in_the_language_of_the_mail():
    values = {"assignment": {"target_date": date(2030, 6, 15)}}
    text = "{{ assignment.target_date }}"
    assert templates.render(text, values, "fr") == "15 juin 2030"
    assert templates.render(text, values, "en") == "June 15, 2030"
    assert templates.render("{{ assignment.target_date|date:'d/m/Y' }}", values, "en") == (
        "15/06/2030"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Hello {{ user.first_name }} {{ user.last_name }},\nsee {{ portal_url }}",
        "{{ course.title }}{{ course.code }} & <b>{{ user.login }}</b> {braces}",
        "{{ user.email }}",
        "",
    ],
)
def test_the_fast_path_renders_exactly_as_django(text):
    values = {
        "user": {"first_name": "Zoé", "last_name": "O'Hara & <Co>", "login": "z", "email": None},
        "course": {"title": 'A "B"', "code": ""},
        "portal_url": "https://lms.example.com",
    }
    compiled = templates.compiled(text)
    assert compiled.parts is not None
    slow = compiled.template.render(
        templates.Context(templates.context_of(values), autoescape=False)
    )
    assert compiled.render(values) == slow


def test_old_format_templates_are_converted_by_the_migration():
    migration = importlib.import_module("registrar.notify.migrations.0101_culture_and_retries")
    old = "Dear {first_name}, you left {activity} ({activity_ref}); {{braces}} stay."
    new = migration.from_format_syntax(old)
    values = {
        "user": {"first_name": "Alice"},
        "activity": {"title": "Workplace safety", "ref": "EXT-101"},
    }
    assert templates.render(new, values) == (
        "Dear Alice, you left Workplace safety (EXT-101); {braces} stay."
    )
    assert migration.from_format_syntax("{{ user.login }} {%x%}") == "{{ user.login }} {%x%}"
    assert templates.render(
        migration.from_format_syntax("{{{login}}}"), {"user": {"login": "a"}}
    ) == ("{a}")


# Cultures ---------------------------------------------------------------------------------------


def test_pick_prefers_the_culture_then_its_language_then_the_default(settings):
    v = {c: c or "default" for c in ("", "fr-FR", "es", "pt-BR")}
    assert mail.pick(v, "fr-FR") == "fr-FR"
    assert mail.pick(v, "FR-fr") == "fr-FR"
    assert mail.pick(v, "fr-BE") == "fr-FR"  # another culture of the language
    assert mail.pick(v, "es-MX") == "es"
    assert mail.pick(v, "de-DE") == mail.pick(v, "") == mail.pick(v, None) == "default"
    # No default: the platform's language, else the first culture; never no mail.
    settings.LANGUAGE_CODE = "en"
    assert mail.pick({"en-GB": 1, "fr-FR": 2}, "de-DE") == 1
    assert mail.pick({"fr-FR": 2, "es-ES": 3}, "de-DE") == 3
    assert mail.pick({}, "fr-FR") is None


def test_templates_for_loads_every_culture_in_one_query(assigned):
    with CaptureQueriesContext(connection) as ctx:
        found = mail.templates_for("assigned")
    assert len(ctx.captured_queries) == 1
    assert set(found) == {"", "fr-FR"}
    picked = mail.templates_for("assigned", ["fr-CA", "de-DE"])
    assert (picked["fr-CA"].culture, picked["de-DE"].culture) == ("fr-FR", "")


# prepare ----------------------------------------------------------------------------------------


def test_prepare_refuses_an_unknown_code_and_a_field_in_any_culture(assigned):
    with pytest.raises(mail.TemplateNotFound) as e:
        mail.prepare("nope", COURSE)
    assert e.value.code == "nope"
    # The French template uses an assignment date: refused where only course fields exist.
    with pytest.raises(mail.TemplateError) as e:
        mail.prepare("assigned", templates.fields("user", "course"))
    assert (e.value.template, e.value.field) == ("assigned", "assignment.target_date")
    assert set(mail.prepare("assigned", COURSE).versions) == {"", "fr-FR"}


def test_prepare_text_checks_a_free_subject_and_body():
    with pytest.raises(mail.TemplateError) as e:
        mail.prepare_text("About {{ course.title }}", "Hi", USER)
    assert e.value.field == "course.title"
    with pytest.raises(mail.TemplateError) as e:
        mail.prepare_text("Hi", "{% include 'x' %}", USER)
    assert e.value.field == "{% include %}"
    assert mail.prepare_text("Hi", "Hello {{ user.first_name }}", USER).code is None


def test_a_link_never_goes_into_a_subject():
    with pytest.raises(mail.TemplateError) as e:
        mail.prepare_text("{{ password_link }}", "x", USER | {"password_link"})
    assert e.value.field == "password_link"


# queue ------------------------------------------------------------------------------------------


def test_queue_renders_each_user_in_their_culture_and_skips_users_without_email(
    assigned, op, settings
):
    settings.REGISTRAR_BASE_URL = "https://lms.example.com"
    items = [
        {"user": person("anna", "fr-FR"), "course": SAFE, "assignment": DATES},
        {"user": person("bob", "en-GB"), "course": SAFE, "assignment": DATES},
        {"user": person("nomail", email=""), "course": SAFE, "assignment": DATES},
    ]
    done = mail.queue(op, mail.prepare("assigned", COURSE), items)
    assert (done.queued, done.skipped, done.skipped_users) == (2, [2], {items[2]["user"]["id"]})
    by_to = {m.to: m for m in OutboxMail.objects.all()}
    anna, bob = by_to["anna@example.com"], by_to["bob@example.com"]
    assert anna.subject == "Nouveau cours : Workplace safety"
    assert anna.body == "Bonjour Anna, à terminer avant le 15 juin 2030."
    assert bob.subject == "New course: Workplace safety"
    assert bob.body == "Hello Bob, complete SAFE-101 by 2030-06-15. https://lms.example.com"
    assert {m.operation_id for m in by_to.values()} == {op.pk}
    assert anna.template.culture == "fr-FR" and bob.template.culture == ""
    assert {(m.state, m.attempts, m.link) for m in by_to.values()} == {("queued", 0, "")}


def test_queue_is_set_based(assigned, op):
    prepared = mail.prepare("assigned", COURSE)

    def queries(n: int, prefix: str) -> int:
        items = [
            {"user": person(f"{prefix}{i}", "fr-FR" if i % 2 else ""), "course": SAFE}
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as ctx:
            assert mail.queue(op, prepared, items).queued == n
        return len(ctx.captured_queries)

    assert queries(3, "small") == queries(60, "large")


def test_a_subject_is_one_line(op):
    prepared = mail.prepare_text("Hello\n{{ user.first_name }}\r\n  again", "b", USER)
    mail.queue(op, prepared, [{"user": person("anna")}])
    assert OutboxMail.objects.get().subject == "Hello Anna again"


def test_many_queue_calls_in_one_transaction_deliver_once(
    assigned, op, django_capture_on_commit_callbacks
):
    prepared = mail.prepare("assigned", COURSE)
    with django_capture_on_commit_callbacks() as callbacks:
        for login in ("a1", "a2", "a3"):
            mail.queue(op, prepared, [{"user": person(login), "course": SAFE}])
    assert len(callbacks) == 1
    assert OutboxMail.objects.count() == 3


@pytest.mark.django_db(transaction=True, databases=["default", "jobs"])
def test_a_rolled_back_run_leaves_nothing_queued_and_enqueues_no_delivery(dummy_tasks):
    """Verify-only and aborted runs roll their transaction back: a real one here."""
    op = Operation.objects.create(kind="action", name="users.send-mail")
    prepared = mail.prepare_text("Hi", "Hello {{ user.first_name }}", USER)
    items = [{"user": person("anna")}]

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        assert mail.queue(op, prepared, items).queued == 1
        assert OutboxMail.objects.count() == 1
        raise Rollback
    assert not OutboxMail.objects.exists()
    assert dummy_tasks.results == []
    # The same run committed: queued, and one delivery enqueued after the commit.
    with transaction.atomic():
        mail.queue(op, prepared, items)
        assert dummy_tasks.results == []
    assert OutboxMail.objects.count() == 1
    (task,) = dummy_tasks.results
    assert (task.task.name, task.kwargs) == ("deliver_mails", {"operation": op.pk})


# Delivery ---------------------------------------------------------------------------------------


def test_queued_mail_is_delivered_with_the_template_of_the_users_culture(assigned, op, server):
    items = [
        {"user": person("anna", "fr-FR"), "course": SAFE, "assignment": DATES},
        {"user": person("bob", "de-DE"), "course": SAFE, "assignment": DATES},
    ]
    mail.queue(op, mail.prepare("assigned", COURSE), items)
    assert tasks.deliver_mails.call(operation=op.pk)["sent"] == 2
    got = {tuple(e.rcpt_tos): m for e, m in zip(server.envelopes, server.messages, strict=True)}
    anna, bob = got[("anna@example.com",)], got[("bob@example.com",)]
    assert anna["Subject"] == "Nouveau cours : Workplace safety"
    assert anna.get_content().strip() == "Bonjour Anna, à terminer avant le 15 juin 2030."
    assert bob["Subject"] == "New course: Workplace safety"
    assert bob.get_content().startswith("Hello Bob, complete SAFE-101 by 2030-06-15.")
    assert set(OutboxMail.objects.values_list("state", flat=True)) == {"sent"}


def test_a_server_that_is_down_makes_the_mail_wait_and_the_task_comes_back(op, down, dummy_tasks):
    mail.queue(op, mail.prepare_text("Hi", "Hello", USER), [{"user": person("anna")}])
    before = timezone.now()
    assert tasks.deliver_mails.call(operation=op.pk)["sent"] == 0
    m = OutboxMail.objects.get()
    assert (m.state, m.attempts, m.sent_at) == ("queued", 1, None)
    assert m.next_attempt_at >= before + timedelta(minutes=1)
    assert "refused" in m.error.lower()
    # The task enqueued itself again for that moment: nobody has to do anything.
    (retry,) = dummy_tasks.results
    assert retry.task.name == "deliver_mails" and retry.kwargs == {"operation": op.pk, "ids": None}
    assert retry.task.run_after >= m.next_attempt_at
    down.start()
    assert outbox.deliver() == (0, 0)  # up, but not the time yet: nothing sent
    with later(2):
        assert tasks.deliver_mails.call(**retry.kwargs)["sent"] == 1
    m.refresh_from_db()
    assert (m.state, m.attempts, m.error) == ("sent", 1, "")
    assert [e.rcpt_tos for e in down.envelopes] == [["anna@example.com"]]
    assert len(dummy_tasks.results) == 1  # nothing waits: no new retry


def test_waits_grow_and_after_the_last_try_the_mail_fails(op, down, dummy_tasks, settings):
    settings.REGISTRAR_MAIL_MAX_ATTEMPTS = 4
    mail.queue(op, mail.prepare_text("Hi", "Hello", USER), [{"user": person("anna")}])
    waits, minutes = [], 0.0
    for _ in range(3):
        with later(minutes):
            now = timezone.now()
            assert outbox.deliver() == (0, 1)
        m = OutboxMail.objects.get()
        waits.append((m.next_attempt_at - now).total_seconds() / 60)
        minutes += waits[-1] + 0.1
    assert [round(w) for w in waits] == [1, 5, 30]
    with later(minutes):
        assert outbox.deliver() == (0, 1)
        assert tasks.retry_later(operation=op.pk) is None
    m = OutboxMail.objects.get()
    assert (m.state, m.attempts, m.next_attempt_at) == ("failed", 4, None)
    assert "refused" in m.error.lower()


def test_a_temporary_refusal_waits_and_a_permanent_one_fails_at_once(op, server):
    items = [{"user": person(x, email=f"{x}@example.com")} for x in ("later", "refused", "ok")]
    mail.queue(op, mail.prepare_text("Hi", "Hello", USER), items)
    assert outbox.deliver() == (1, 2)
    state = {m.to: (m.state, m.attempts) for m in OutboxMail.objects.all()}
    assert state == {
        "later@example.com": ("queued", 1),
        "refused@example.com": ("failed", 1),
        "ok@example.com": ("sent", 0),
    }
    assert "451" in OutboxMail.objects.get(to="later@example.com").error


def test_errors_never_keep_a_link_or_the_smtp_password(settings):
    settings.REGISTRAR_BASE_URL = "https://lms.example.com"
    settings.EMAIL_HOST_PASSWORD = "hunter2-smtp"
    e = OSError("bad https://lms.example.com/set-password/MQ/abc-123/ login hunter2-smtp")
    text = outbox._describe(e)
    assert "abc-123" not in text and "hunter2" not in text
    assert text == "OSError: bad [link] login [hidden]"


def test_waiting_mails_can_be_sent_now_by_an_operator(op, down):
    mail.queue(op, mail.prepare_text("Hi", "Hello", USER), [{"user": person("anna")}])
    assert outbox.deliver() == (0, 1)
    down.start()
    assert outbox.deliver() == (0, 0)
    assert outbox.deliver(waiting=True) == (1, 0)
    assert OutboxMail.objects.get().state == "sent"


def test_a_welcome_template_in_the_users_culture_carries_the_set_password_link(run_import, server):
    f.org("EU")
    MailTemplate.objects.create(
        code="welcome",
        culture="fr",
        subject="Bienvenue {{ user.first_name }}",
        body="Votre identifiant : {{ user.login }}. Mot de passe : {{ password_link }}",
    )
    rows = [
        {
            "user_lname": n.title(),
            "user_fname": n.title(),
            "user_login": n,
            "user_password": "Tr0ub4dor&3-unique",
            "org_extid": "EU",
            "user_email": f"{n}@example.com",
            "user_culture": c,
        }
        for n, c in (("anna", "fr-FR"), ("bob", "en-GB"))
    ]
    rep = run_import.dicts("users", rows, options={"welcome_mail": "yes"})
    assert rep.counts["created"] == 2
    anna = OutboxMail.objects.get(to="anna@example.com")
    assert anna.subject == "Bienvenue Anna" and anna.link == "set-password"
    assert anna.body == f"Votre identifiant : anna. Mot de passe : {PLACEHOLDER}"
    bob = OutboxMail.objects.get(to="bob@example.com")  # French only: the first culture
    assert bob.subject == "Bienvenue Bob"
    outbox.deliver()
    (msg,) = [m for m in server.messages if m["To"] == "anna@example.com"]
    assert "/set-password/" in msg.get_content() and PLACEHOLDER not in msg.get_content()


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_never_send_a_mail_twice(server):
    """PostgreSQL: a delivery claims its mails FOR UPDATE SKIP LOCKED."""
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SQLite takes the write lock at BEGIN: deliveries cannot overlap")
    ids = [
        OutboxMail.objects.create(to=f"u{i}@example.com", subject=f"S{i}", body="b").pk
        for i in range(3)
    ]
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                list(OutboxMail.objects.filter(pk=ids[0]).select_for_update())
                held.set()
                release.wait(10)
        finally:
            connection.close()

    t = threading.Thread(target=other_worker)
    t.start()
    try:
        assert held.wait(10)
        assert outbox.deliver() == (2, 0)  # the locked mail is left to its holder
    finally:
        release.set()
        t.join()
    assert outbox.deliver() == (1, 0)
    assert sorted(e.rcpt_tos[0] for e in server.envelopes) == [
        f"u{i}@example.com" for i in range(3)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_each_old_template_the_default_in_django_syntax():
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("notify", "0100_calendar_feed")], [("notify", "0101_culture_and_retries")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("notify", "MailTemplate")
    old.objects.create(
        code="unenrolment",
        language="fr",
        subject="Désinscription : {activity}",
        body="Bonjour {first_name}, {{ici}}",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    t = MailTemplate.objects.get()
    assert (t.code, t.culture, t.subject) == (
        "unenrolment",
        "",
        "Désinscription : {{ activity.title }}",
    )
    assert templates.render(t.body, {"user": {"first_name": "Zoé"}}) == "Bonjour Zoé, {ici}"
