"""mail-templates import (SPEC §4.15): one template per code and culture, in Django's template
language, checked against the fields a mail can fill; one test per rule."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registrar.bulk.docs import write_template
from registrar.journal.models import Operation
from registrar.journal.undo import undo
from registrar.notify import mail, templates
from registrar.notify.models import MailTemplate

from . import factories as f
from .portal_fixtures import BOTH

H = ["code", "subject", "body", "culture"]
HELLO = ["welcome", "Welcome {{ user.first_name }}", "Your login: {{ user.login }}", ""]
BONJOUR = ["welcome", "Bienvenue {{ user.first_name }}", "Identifiant : {{ user.login }}", "fr-FR"]


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def stored() -> dict:
    return {(t.code, t.culture): (t.subject, t.body) for t in MailTemplate.objects.all()}


def test_templates_are_created_once_per_culture(run_import):
    rep = run_import("mail-templates", H, [HELLO, BONJOUR])
    assert results(rep) == [("created", ""), ("created", "")]
    assert stored() == {
        ("welcome", ""): ("Welcome {{ user.first_name }}", "Your login: {{ user.login }}"),
        ("welcome", "fr-FR"): ("Bienvenue {{ user.first_name }}", "Identifiant : {{ user.login }}"),
    }


def test_the_same_file_again_changes_nothing(run_import):
    run_import("mail-templates", H, [HELLO, BONJOUR])
    again = run_import("mail-templates", H, [HELLO, BONJOUR])
    assert results(again) == [("unchanged", ""), ("unchanged", "")]


def test_an_existing_template_is_updated_matched_on_code_and_culture(run_import):
    run_import("mail-templates", H, [HELLO, BONJOUR])
    new = ["welcome", "Bienvenue !", "Bonjour {{ user.first_name }}", "fr-fr"]
    rep = run_import("mail-templates", H, [new])
    assert results(rep) == [("updated", "")]
    assert stored()[("welcome", "fr-FR")] == ("Bienvenue !", "Bonjour {{ user.first_name }}")
    assert stored()[("welcome", "")] == tuple(HELLO[1:3])  # the default is another template
    assert MailTemplate.objects.count() == 2


def test_line_breaks_of_a_multi_line_body_are_kept_as_newlines(run_import):
    rep = run_import("mail-templates", H, [["x", "S", "Hello,\r\n\r\n{{ portal_url }}", ""]])
    assert results(rep) == [("created", "")]
    assert MailTemplate.objects.get().body == "Hello,\n\n{{ portal_url }}"


@pytest.mark.parametrize(
    "subject, body, field",
    [
        ("Hi", "{{ user.password }}", "user.password"),
        ("{{ course.name }}", "x", "course.name"),
        ("Hi", "{% load static %}{% static 'x' %}", "{% load %}"),
        ("Hi", "{% include 'x.txt' %}", "{% include %}"),
        ("Hi", "{{ user.login|safe }}", "|safe"),
        ("Your link {{ password_link }}", "x", "password_link"),
    ],
)
def test_a_template_naming_an_unknown_field_is_rejected(run_import, subject, body, field):
    rep = run_import("mail-templates", H, [["t", subject, body, ""]])
    assert results(rep) == [("rejected", "template_field_unavailable")]
    assert rep.rows[0]["message"] == (
        f"Mail template 't' uses the field '{field}', which this operation cannot fill"
    )
    assert not MailTemplate.objects.exists()


def test_a_malformed_template_is_rejected_with_the_parsers_reason(run_import):
    rep = run_import("mail-templates", H, [["t", "Hi", "{% if user.login %}no end", ""]])
    assert results(rep) == [("rejected", "template_field_unavailable")]
    assert "endif" in rep.rows[0]["message"]


def test_required_values_and_a_bad_culture_are_rejected(run_import):
    rep = run_import(
        "mail-templates", H, [["", "S", "B", ""], ["t", "", "B", ""], ["t", "S", "B", "français"]]
    )
    assert results(rep) == [
        ("rejected", "missing_value"),
        ("rejected", "missing_value"),
        ("rejected", "invalid_choice"),
    ]


def test_the_same_code_and_culture_twice_is_a_duplicate_row(run_import):
    rep = run_import("mail-templates", H, [HELLO, BONJOUR, [*BONJOUR[:3], "FR-fr"]])
    assert results(rep) == [("created", ""), ("created", ""), ("rejected", "duplicate_row")]


def test_a_role_scoped_to_part_of_the_platform_cannot_change_templates(run_import):
    f.org("EU")
    rep = run_import("mail-templates", H, [HELLO], scope="EU")
    assert results(rep) == [("rejected", "out_of_scope")]
    assert not MailTemplate.objects.exists()


def test_undo_restores_the_templates_as_they_were(run_import):
    run_import("mail-templates", H, [HELLO])
    rep = run_import("mail-templates", H, [["welcome", "Changed", "Changed", ""], BONJOUR])
    assert results(rep) == [("updated", ""), ("created", "")]
    op, conflicts = undo(rep.operation.pk)
    assert (op.status, conflicts) == ("done", [])
    assert stored() == {("welcome", ""): tuple(HELLO[1:3])}


def test_verify_only_writes_nothing(run_import):
    rep = run_import("mail-templates", H, [HELLO, BONJOUR], verify_only=True)
    assert results(rep) == [("created", ""), ("created", "")]
    assert not MailTemplate.objects.exists()


def test_template_imports_cleanly_and_its_templates_can_be_sent(run_import, tmp_path):
    path = str(tmp_path / "mail-templates-template.csv")
    write_template("mail-templates", path)
    first = run_import.run("mail-templates", path)
    assert [r["result"] for r in first.rows] == ["created", "created"]
    again = run_import.run("mail-templates", path)
    assert [r["result"] for r in again.rows] == ["unchanged", "unchanged"]
    # An assign-courses action can use them; a mail outside any course cannot.
    prepared = mail.prepare("course-assigned", templates.fields("user", "course", "assignment"))
    assert set(prepared.versions) == {"", "fr-FR"}
    with pytest.raises(mail.TemplateError) as e:
        mail.prepare("course-assigned", templates.fields("user"))
    assert e.value.field == "course.title"


def test_queries_do_not_grow_with_the_number_of_rows(run_import):
    def queries(n: int, prefix: str) -> int:
        rows = [[f"{prefix}{i}", "S {{ user.login }}", f"B{i}", ""] for i in range(n)]
        rows += [[f"{prefix}{i}", "S", "B", "fr-FR"] for i in range(n)]
        run_import("mail-templates", H, rows[: n // 2])  # some exist: updated, others created
        # (The same new text for the updated rows: journal.writes.update groups rows by value.)
        path = run_import.file(H, [[*r[:2], "B!", r[3]] for r in rows])
        with CaptureQueriesContext(connection) as ctx:
            rep = run_import.run("mail-templates", path)
        assert rep.counts["rejected"] == 0 and rep.counts["updated"] == n // 2
        return len(ctx.captured_queries)

    assert queries(4, "small") == queries(40, "large")


# The admin ---------------------------------------------------------------------------------------


@pytest.mark.django_db(databases=BOTH)
def test_the_admin_edits_templates_through_the_journal_and_refuses_unknown_fields():
    c = Client()
    c.force_login(f.user("boss", is_staff=True, is_superuser=True))
    url = "/admin/notify/mailtemplate/add/"
    bad = {"code": "welcome", "culture": "", "subject": "Hi", "body": "{{ user.password }}"}
    r = c.post(url, bad)
    assert r.status_code == 200 and "user.password" in r.content.decode()
    assert not MailTemplate.objects.exists()
    good = {**bad, "body": "Hello {{ user.first_name }}"}
    assert c.post(url, good).status_code == 302
    t = MailTemplate.objects.get()
    op = Operation.objects.get(kind="admin")
    assert t.op == op.pk and t.body == "Hello {{ user.first_name }}"
    change = f"/admin/notify/mailtemplate/{t.pk}/change/"
    assert c.post(change, {**good, "body": "Bye {{ user.login }}"}).status_code == 302
    last = Operation.objects.filter(kind="admin").latest("pk")
    undo(last.pk)
    t.refresh_from_db()
    assert t.body == "Hello {{ user.first_name }}"
