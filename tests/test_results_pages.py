"""Issue 14, item 6: results pages list warnings, sum the rejects up by code with how to fix
them, offer the rejected rows with their reasons, and write counts with thousands separators."""

import csv
import io

import pytest

from registrar.bulk.codes import FIX
from registrar.journal.models import Operation

from .portal_fixtures import BOTH
from .test_portal import signed_in, start, streamed, text

pytestmark = pytest.mark.django_db(databases=BOTH)


def test_an_operation_page_sums_its_rows_up_by_code_with_how_to_fix_them(world):
    c = signed_in("admin")
    op = Operation.objects.get(pk=start(c, "run").operation_id)
    assert op.options["codes"] == {"course_not_found": 1}
    page = text(c.get(f"/history/{op.pk}/"))
    codes = page[page.index('data-testid="codes"') :].split("</table>")[0]
    assert "<code>course_not_found</code>" in codes
    assert FIX["course_not_found"].split("(")[0].strip() in codes


def test_the_rejected_rows_download_with_their_reasons(world):
    c = signed_in("admin")
    op = start(c, "run").operation_id
    page = text(c.get(f"/history/{op}/"))
    assert 'data-testid="rejects-with-reasons"' in page
    r = c.get(f"/history/{op}/rejects-with-reasons/")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(streamed(r).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["course_id", "user_email", "completion_date", "codes", "message"]
    assert rows[1][:3] == ["NOPE-999", "eve@example.com", "2024-06-17"]
    assert rows[1][3] == "course_not_found" and "NOPE-999" in rows[1][4]
    assert len(rows) == 2


def test_rows_with_warnings_are_listed_not_only_counted(world, run_import):
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid", "org_supervisor_extid"],
        [["Paris", "PAR", "ACME", "NOBODY-42"], ["Lyon", "LYO", "ACME", ""]],
    )
    assert [r["result"] for r in rep.rows] == ["created", "created"]
    page = text(signed_in("admin").get(f"/history/{rep.operation.pk}/"))
    warned = page[page.index('data-testid="warned"') :].split("</table>")[0]
    assert "<code>supervisor_not_found</code>" in warned and "NOBODY-42" in warned
    assert warned.count("<tr>") == 2  # the heading and the one row that warned


def test_counts_are_written_with_the_readers_thousands_separator(world):
    from django.template import Context, Template
    from django.utils import translation

    tpl = Template("{% load portal %}{{ n|num }}")
    assert tpl.render(Context({"n": 10216})) == "10,216"
    with translation.override("fr"):
        assert (
            tpl.render(Context({"n": 10216})).replace("\u202f", " ").replace("\u00a0", " ")
            == "10 216"
        )
