"""unenrolments import (SPEC §4.4, seed 004) and mail through the outbox (SPEC §2.13): one test
per rule. Mail is delivered to a real SMTP server (aiosmtpd) on loopback."""

import email
import io
import socket
from datetime import datetime
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registrar.bulk.docs import write_template
from registrar.bulk.imports.unenrolments import MAIL_FIELDS
from registrar.catalogue.models import ClassroomSession
from registrar.journal.undo import undo
from registrar.learning.models import CourseAssignment, CourseRecord, Seat
from registrar.notify import outbox, templates
from registrar.notify.models import MailTemplate, OutboxMail

from . import factories as f
from .conftest import read_results

H = ["username", "activity_extref", "send_email"]


# SMTP on loopback -------------------------------------------------------------------------------


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.envelopes = []
        self.sessions = set()  # one per SMTP connection

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.sessions.add(id(session))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tasks_at_once(settings) -> None:
    """Delivery is a background task: here it runs at once, in the test, when the import commits."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _point_at(settings, port: int) -> None:
    # pytest-django swaps in the locmem backend: the real SMTP backend is wanted here.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10


@pytest.fixture
def smtp(settings):
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    _point_at(settings, controller.port)
    _tasks_at_once(settings)
    yield handler
    controller.stop()


@pytest.fixture
def dead_smtp(settings):
    """An SMTP address where nothing listens."""
    _point_at(settings, free_port())
    _tasks_at_once(settings)


# The world --------------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    amartin = f.user("amartin", email="alice.martin@example.com", first_name="Alice")
    f.user("bdurand", email="bob.durand@example.com", first_name="Bob")
    safe = f.course("SAFE-101", "Workplace safety", extref="EXT-101")
    CourseAssignment.objects.create(user=amartin, course=safe)
    classroom = f.course("FIRE-201", "Fire drill", extref="EXT-201")
    session = ClassroomSession.objects.create(
        course=classroom,
        extid="FIRE-201-S1",
        start=timezone.make_aware(datetime(2030, 3, 4, 9, 30)),
        max_participants=12,
    )
    Seat.objects.create(session=session, user=amartin)
    return {"amartin": amartin, "safe": safe, "classroom": classroom, "session": session}


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def assigned(login: str, code: str) -> bool:
    return CourseAssignment.objects.filter(user__login=login, course__code=code).exists()


def seated(login: str, extid: str) -> bool:
    return Seat.objects.filter(user__login=login, session__extid=extid).exists()


# The import -------------------------------------------------------------------------------------


def test_course_unenrolment_deletes_the_assignment(run_import, world):
    rep = run_import("unenrolments", H, [["amartin", "EXT-101", "No"]])
    assert results(rep) == [("deleted", "")]
    assert rep.counts["deleted"] == 1
    assert not assigned("amartin", "SAFE-101")


def test_session_unenrolment_deletes_the_seat_and_leaves_the_course_assignment(run_import, world):
    CourseAssignment.objects.create(user=world["amartin"], course=world["classroom"])
    rep = run_import("unenrolments", H, [["amartin", "FIRE-201-S1", ""]])
    assert results(rep) == [("deleted", "")]
    assert not seated("amartin", "FIRE-201-S1")
    # The session is what the row names: the user stays on the course (another session, later).
    assert assigned("amartin", "FIRE-201")


def test_vendor_headers_are_accepted(run_import, world):
    rep = run_import(
        "unenrolments",
        ["Username", "Activity external reference", "Send unenrolment email"],
        [["amartin", "EXT-101", "No"]],
    )
    assert results(rep) == [("deleted", "")]


def test_completed_course_keeps_its_completion(run_import, world):
    CourseRecord.objects.create(
        user=world["amartin"], course=world["safe"], status="C", completion_percent=100
    )
    rep = run_import("unenrolments", H, [["amartin", "EXT-101", "No"]])
    assert results(rep) == [("deleted", "completion_kept")]
    assert rep.counts["warnings"] == 1
    assert not assigned("amartin", "SAFE-101")
    rec = CourseRecord.objects.get(user__login="amartin", course__code="SAFE-101")
    assert (rec.status, rec.completion_percent) == ("C", 100)


def test_in_progress_course_keeps_its_record_without_warning(run_import, world):
    CourseRecord.objects.create(user=world["amartin"], course=world["safe"], status="I")
    rep = run_import("unenrolments", H, [["amartin", "EXT-101", "No"]])
    assert results(rep) == [("deleted", "")]
    assert CourseRecord.objects.get(user__login="amartin").status == "I"


def test_attended_session_keeps_its_seat_as_attended(run_import, world, smtp):
    Seat.objects.filter(user__login="amartin").update(status="attended")
    rep = run_import("unenrolments", H, [["amartin", "FIRE-201-S1", "Yes"]])
    assert results(rep) == [("unchanged", "completion_kept")]
    assert Seat.objects.get(user__login="amartin").status == "attended"
    assert not OutboxMail.objects.exists()  # nothing was removed: nothing to tell


def test_absent_seat_is_removed(run_import, world):
    Seat.objects.filter(user__login="amartin").update(status="absent")
    rep = run_import("unenrolments", H, [["amartin", "FIRE-201-S1", "No"]])
    assert results(rep) == [("deleted", "")]
    assert not seated("amartin", "FIRE-201-S1")


def test_not_enrolled_is_skipped_and_sends_no_mail(
    run_import, world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rep = run_import(
            "unenrolments", H, [["bdurand", "EXT-101", "Yes"], ["bdurand", "FIRE-201-S1", "Yes"]]
        )
    assert results(rep) == [("skipped", "not_enrolled"), ("skipped", "not_enrolled")]
    assert rep.rows[0]["message"] == "The user is not enrolled in 'SAFE-101'"
    # Decision: nobody is told they left something they were never in.
    assert not OutboxMail.objects.exists() and smtp.envelopes == []


def test_user_not_found_is_rejected(run_import, world):
    rep = run_import("unenrolments", H, [["nobody", "EXT-101", "No"]])
    assert results(rep) == [("rejected", "user_not_found")]
    assert "nobody" in rep.rows[0]["message"]


def test_activity_not_found_is_rejected(run_import, world):
    rep = run_import("unenrolments", H, [["amartin", "EXT-999", "No"]])
    assert results(rep) == [("rejected", "activity_not_found")]
    assert assigned("amartin", "SAFE-101")


def test_extref_naming_two_items_is_ambiguous_and_rejected(run_import, world):
    f.course("SAFE-102", extref="EXT-101")
    world["classroom"].extref = "FIRE-201-S1"
    world["classroom"].save()
    rep = run_import(
        "unenrolments", H, [["amartin", "EXT-101", "No"], ["amartin", "FIRE-201-S1", "No"]]
    )
    assert results(rep) == [("rejected", "ambiguous_activity")] * 2
    assert "course SAFE-101, course SAFE-102" in rep.rows[0]["message"]
    assert "course FIRE-201, session FIRE-201-S1" in rep.rows[1]["message"]
    assert assigned("amartin", "SAFE-101") and seated("amartin", "FIRE-201-S1")


@pytest.mark.parametrize(
    "row,code",
    [
        (["", "EXT-101", "No"], "missing_value"),
        (["amartin", "", "No"], "missing_value"),
        (["amartin", "EXT-101", "maybe"], "invalid_choice"),
    ],
)
def test_invalid_values_are_rejected(run_import, world, row, code):
    rep = run_import("unenrolments", H, [row])
    assert results(rep) == [("rejected", code)]
    assert assigned("amartin", "SAFE-101")


def test_duplicate_row_rejects_the_later_row(run_import, world):
    rep = run_import(
        "unenrolments", H, [["amartin", "EXT-101", "No"], ["AMARTIN", "ext-101", "Yes"]]
    )
    assert results(rep) == [("deleted", ""), ("rejected", "duplicate_row")]


def test_out_of_scope_user_is_rejected(run_import, world):
    a = f.org("A")
    f.org("B")
    inside = f.user("gina", organisation=a)
    CourseAssignment.objects.create(user=inside, course=world["safe"])
    rep = run_import(
        "unenrolments", H, [["gina", "EXT-101", "No"], ["amartin", "EXT-101", "No"]], scope="A"
    )
    assert results(rep) == [("deleted", ""), ("rejected", "out_of_scope")]
    assert assigned("amartin", "SAFE-101") and not assigned("gina", "SAFE-101")


def test_verify_only_first_gives_the_same_results_and_writes_and_sends_nothing(
    run_import, world, smtp, django_capture_on_commit_callbacks
):
    path = run_import.file(
        H,
        [
            ["amartin", "EXT-101", "Yes"],
            ["amartin", "FIRE-201-S1", "Yes"],
            ["bdurand", "EXT-101", "Yes"],
            ["nobody", "EXT-101", "Yes"],
        ],
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        verified = run_import.run("unenrolments", path, verify_only=True)
    assert callbacks == []
    assert assigned("amartin", "SAFE-101") and seated("amartin", "FIRE-201-S1")
    assert not OutboxMail.objects.exists() and smtp.envelopes == []
    with django_capture_on_commit_callbacks(execute=True):
        real = run_import.run("unenrolments", path)
    assert results(verified) == results(real)
    assert results(real) == [
        ("deleted", ""),
        ("deleted", ""),
        ("skipped", "not_enrolled"),
        ("rejected", "user_not_found"),
    ]
    assert len(smtp.envelopes) == 2


def test_importing_the_same_file_twice_changes_nothing(run_import, world):
    path = run_import.file(H, [["amartin", "EXT-101", "No"], ["amartin", "FIRE-201-S1", "No"]])
    first = run_import.run("unenrolments", path)
    second = run_import.run("unenrolments", path)
    assert results(first) == [("deleted", ""), ("deleted", "")]
    assert results(second) == [("skipped", "not_enrolled"), ("skipped", "not_enrolled")]
    assert (second.counts["deleted"], second.counts["skipped"]) == (0, 2)


def test_undo_recreates_the_assignment_and_the_seat(run_import, world):
    a = CourseAssignment.objects.get(user__login="amartin", course__code="SAFE-101")
    CourseAssignment.objects.filter(pk=a.pk).update(option="mandatory", billing_code="B7")
    seat = Seat.objects.get(user__login="amartin")
    rep = run_import(
        "unenrolments", H, [["amartin", "EXT-101", "No"], ["amartin", "FIRE-201-S1", "No"]]
    )
    assert rep.counts["deleted"] == 2
    op, conflicts = undo(rep.operation.pk)
    assert (op.status, conflicts, op.created) == ("done", [], 2)
    back = CourseAssignment.objects.get(pk=a.pk)
    assert (back.user_id, back.course_id, back.option, back.billing_code) == (
        a.user_id,
        a.course_id,
        "mandatory",
        "B7",
    )
    assert Seat.objects.get(pk=seat.pk).status == "booked"


def test_results_file_is_the_input_plus_status_columns(run_import, world):
    rep = run_import(
        "unenrolments",
        ["Username", "activity_extref", "send_email", "note"],
        [["amartin", "EXT-101", "no", "leaver"], ["nobody", "EXT-101", "", "typo"]],
    )
    rows = read_results(rep.results_path)
    assert list(rows[0]) == [
        "Username",
        "activity_extref",
        "send_email",
        "note",
        "row",
        "result",
        "codes",
        "message",
    ]
    assert [list(r.values())[:6] for r in rows] == [
        ["amartin", "EXT-101", "no", "leaver", "2", "deleted"],
        ["nobody", "EXT-101", "", "typo", "3", "rejected"],
    ]
    assert read_results(rep.rejects_path) == [
        {"Username": "nobody", "activity_extref": "EXT-101", "send_email": "", "note": "typo"}
    ]


def test_template_imports_cleanly_when_safe_101_has_extref_ext_101(run_import, world, tmp_path):
    path = str(tmp_path / "unenrolments-template.csv")
    write_template("unenrolments", path)
    first = run_import.run("unenrolments", path)
    assert results(first) == [("deleted", ""), ("skipped", "not_enrolled")]
    again = run_import.run("unenrolments", path)
    assert results(again) == [("skipped", "not_enrolled"), ("skipped", "not_enrolled")]


# Mail -------------------------------------------------------------------------------------------


def test_send_email_yes_delivers_a_mail_through_smtp(
    run_import, world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rep = run_import("unenrolments", H, [["amartin", "EXT-101", "Yes"]])
    assert results(rep) == [("deleted", "")]
    mail = OutboxMail.objects.get()
    assert (mail.state, mail.to, mail.operation_id, mail.user_id) == (
        "sent",
        "alice.martin@example.com",
        rep.operation.pk,
        world["amartin"].pk,
    )
    assert mail.sent_at is not None and mail.error == ""
    (envelope,) = smtp.envelopes
    assert envelope.rcpt_tos == ["alice.martin@example.com"]
    (msg,) = smtp.messages
    assert msg["To"] == "alice.martin@example.com"
    assert msg["Subject"] == "Unenrolment: Workplace safety"
    body = msg.get_content()
    assert "Hello Alice Amartin" in body and '"Workplace safety"' in body and "EXT-101" in body


def test_session_mail_names_the_session(
    run_import, world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_import("unenrolments", H, [["amartin", "FIRE-201-S1", "yes"]])
    (msg,) = smtp.messages
    assert msg["Subject"] == "Unenrolment: Fire drill (2030-03-04 09:30)"
    assert "classroom session" in msg.get_content()


def test_send_email_no_sends_none(run_import, world, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rep = run_import("unenrolments", H, [["amartin", "EXT-101", "No"]])
    assert results(rep) == [("deleted", "")]
    assert not OutboxMail.objects.exists() and smtp.envelopes == []


def test_mail_template_unenrolment_is_used_when_it_exists(
    run_import, world, smtp, django_capture_on_commit_callbacks
):
    tpl = MailTemplate.objects.create(
        code="unenrolment",
        subject="Removed from {{ activity.title }}",
        body="Dear {{ user.first_name }}, you left {{ activity.title }} ({{ activity.ref }}); "
        "{braces} stay.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        run_import("unenrolments", H, [["amartin", "EXT-101", "Yes"]])
    assert OutboxMail.objects.get().template_id == tpl.pk
    (msg,) = smtp.messages
    assert msg["Subject"] == "Removed from Workplace safety"
    assert msg.get_content().strip() == (
        "Dear Alice, you left Workplace safety (EXT-101); {braces} stay."
    )


def test_template_field_the_import_cannot_fill_is_refused_before_anything_is_sent(
    run_import, world, smtp, django_capture_on_commit_callbacks
):
    MailTemplate.objects.create(
        code="unenrolment", subject="Session {{ session.extid }} cancelled", body="{{ user.login }}"
    )
    with django_capture_on_commit_callbacks(execute=True):
        rep = run_import(
            "unenrolments",
            H,
            [["amartin", "EXT-101", "Yes"], ["amartin", "FIRE-201-S1", "Yes"]],
        )
    # A course has no session: that row is refused, naming the field; the session row is sent.
    assert results(rep) == [("rejected", "mail_template_field"), ("deleted", "")]
    assert rep.rows[0]["message"] == (
        "Mail template 'unenrolment' uses the field 'session.extid', which this operation cannot "
        "fill"
    )
    assert assigned("amartin", "SAFE-101")
    (msg,) = smtp.messages
    assert msg["Subject"] == "Session FIRE-201-S1 cancelled"


def test_user_without_email_is_unenrolled_with_warning_no_email(
    run_import, world, smtp, django_capture_on_commit_callbacks
):
    u = f.user("cnomail", email="")
    CourseAssignment.objects.create(user=u, course=world["safe"])
    with django_capture_on_commit_callbacks(execute=True):
        rep = run_import("unenrolments", H, [["cnomail", "EXT-101", "Yes"]])
    assert results(rep) == [("deleted", "no_email")]
    assert not OutboxMail.objects.exists() and smtp.envelopes == []


def test_all_or_nothing_abort_queues_and_sends_nothing(
    run_import, world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rep = run_import(
            "unenrolments",
            H,
            [["amartin", "EXT-101", "Yes"], ["nobody", "EXT-101", "Yes"]],
            all_or_nothing=True,
        )
    assert rep.operation.status == "aborted"
    assert assigned("amartin", "SAFE-101")
    assert not OutboxMail.objects.exists() and smtp.envelopes == []


def test_unreachable_smtp_server_leaves_the_mail_queued_for_a_later_try_and_the_import_succeeds(
    run_import, world, dead_smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rep = run_import("unenrolments", H, [["amartin", "EXT-101", "Yes"]])
    assert rep.operation.status == "done"
    assert results(rep) == [("deleted", "")]
    assert not assigned("amartin", "SAFE-101")
    mail = OutboxMail.objects.get()
    assert (mail.state, mail.attempts, mail.sent_at) == ("queued", 1, None)
    assert mail.next_attempt_at > timezone.now()
    assert "refused" in mail.error.lower()


def test_send_mail_command_delivers_the_queued_outbox_and_retries_failed_mails(db, smtp):
    OutboxMail.objects.create(to="a@example.com", subject="One", body="First")
    OutboxMail.objects.create(
        to="b@example.com", subject="Two", body="Second", state="failed", error="earlier"
    )
    out = io.StringIO()
    call_command("send_mail", stdout=out)
    assert "Sent 1 mail(s), 0 failed, 0 still queued." in out.getvalue()
    call_command("send_mail", "--retry-failed", stdout=out)
    assert [m["Subject"] for m in smtp.messages] == ["One", "Two"]
    assert set(OutboxMail.objects.values_list("state", flat=True)) == {"sent"}


def test_deliver_respects_the_limit_and_reports_counts(db, smtp):
    for i in range(3):
        OutboxMail.objects.create(to=f"u{i}@example.com", subject=f"S{i}", body="b")
    assert outbox.deliver(limit=2) == (2, 0)
    assert OutboxMail.objects.filter(state="queued").count() == 1
    assert outbox.deliver() == (1, 0)
    assert len(smtp.envelopes) == 3


def test_template_fields_cannot_reach_beyond_their_values():
    with pytest.raises(templates.TemplateError) as e:
        templates.check("unenrolment", ["{{ user.first_name.upper }}"], MAIL_FIELDS)
    assert e.value.field == "user.first_name.upper"
    with pytest.raises(templates.TemplateError):
        templates.check("unenrolment", ["{{ user.first_name|escape }}"], MAIL_FIELDS)
    assert templates.render("{x} {{ user.login }}", {"user": {"login": "a"}}) == "{x} a"


def test_queries_do_not_grow_with_the_number_of_rows(run_import, world):
    def queries(n: int, prefix: str) -> int:
        course = f.course(f"{prefix}-C", extref=f"{prefix}-EXT")
        session = ClassroomSession.objects.create(
            course=course, extid=f"{prefix}-S", start=timezone.now(), max_participants=99
        )
        rows = []
        for i in range(n):
            u = f.user(f"{prefix}{i}")
            CourseAssignment.objects.create(user=u, course=course)
            Seat.objects.create(session=session, user=u)
            rows += [[u.login, f"{prefix}-EXT", "Yes"], [u.login, f"{prefix}-S", "No"]]
        rows.append(["nobody", f"{prefix}-EXT", "No"])
        path = run_import.file(H, rows)
        with CaptureQueriesContext(connection) as ctx:
            rep = run_import.run("unenrolments", path)
        assert rep.counts["deleted"] == 2 * n
        return len(ctx.captured_queries)

    assert queries(5, "small") == queries(40, "large")


def test_a_refused_mail_fails_alone_and_one_connection_serves_the_run(db, smtp):
    for to in ("a@example.com", "refused@example.com", "c@example.com"):
        OutboxMail.objects.create(to=to, subject=to, body="b")
    assert outbox.deliver() == (2, 1)
    failed = OutboxMail.objects.get(state="failed")
    assert failed.to == "refused@example.com" and "No such mailbox" in failed.error
    assert [e.rcpt_tos for e in smtp.envelopes] == [["a@example.com"], ["c@example.com"]]
    assert len(smtp.sessions) == 1
