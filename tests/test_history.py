"""The portal's history (issue 14, item 7): checks apart, filters, redo named as such, the
state of an undone operation after a redo, options and an undo's conflicts shown readably."""

import re

import pytest
from django.utils import timezone

from registrar.journal.models import Operation
from registrar.journal.undo import undo

from .portal_fixtures import BOTH
from .test_portal import signed_in, start, text

pytestmark = pytest.mark.django_db(databases=BOTH)


def listed(c, query: str = "") -> list[int]:
    html = text(c.get(f"/history/{query}"))
    return [int(n) for n in dict.fromkeys(re.findall(r'<td><a href="/history/(\d+)/">', html))]


def test_history_hides_verify_only_checks_unless_asked_and_marks_them(world):
    c = signed_in("admin")
    check = start(c, "verify").operation_id
    run = start(c, "run").operation_id
    assert listed(c) == [run]
    assert listed(c, "?checks=on") == [run, check]
    html = text(c.get("/history/?checks=on"))
    assert html.count('class="would"') == 1
    page = text(c.get(f"/history/{check}/"))
    assert 'data-testid="check-only"' in page and "nothing was written" in page


def test_history_filters_on_what_who_and_dates(world):
    admin, eu = signed_in("admin"), signed_in("eu.admin")
    mine = start(admin, "run").operation_id
    theirs = start(eu, "run").operation_id
    undone, _ = undo(mine)
    assert listed(admin, "?what=import") == [theirs, mine]
    assert listed(admin, "?what=undo") == [undone.pk]
    assert listed(admin, "?who=eu.adm") == [theirs]
    # The filter takes dates in the platform's zone: late in the UTC evening, Paris is a day on.
    today = timezone.localtime(Operation.objects.get(pk=mine).started_at).date().isoformat()
    assert listed(admin, f"?from={today}&to={today}&what=import") == [theirs, mine]
    assert listed(admin, "?to=2000-01-01") == []
    assert listed(admin, "?from=not-a-date&what=bogus") == [undone.pk, theirs, mine]


def test_an_undo_of_an_undo_is_a_redo_and_the_original_says_it_was_redone(world):
    c = signed_in("admin")
    op = start(c, "run").operation_id
    first, _ = undo(op)
    redo, _ = undo(first.pk)
    html = text(c.get("/history/"))
    assert f"redo #{op}</a>" in html and f"undo #{op}</a>" in html
    page = text(c.get(f"/history/{op}/"))
    state = re.search(r'data-testid="undo-state">([^<]+)<', page)[1]
    assert state == f"undone by #{first.pk}, redone by #{redo.pk}"
    assert f"<h1>#{redo.pk} redo #{op}</h1>" in text(c.get(f"/history/{redo.pk}/"))


def test_an_operations_options_are_shown_readably_not_as_python(world):
    op = Operation.objects.create(
        kind="action",
        name="users.assign-courses",
        status=Operation.Status.DONE,
        options={
            "params": {"courses": ["SAFE-101", "ETH-201"], "notify": True, "end_date": None},
            "selected": 3,
        },
    )
    page = text(signed_in("admin").get(f"/history/{op.pk}/"))
    options = page[page.index('data-testid="options"') :].split("</dd>")[0]
    assert "SAFE-101, ETH-201" in options and "yes" in options and "—" in options
    assert "[" not in options and "True" not in options and "{" not in options


def test_an_undos_page_lists_what_it_removed_per_table_and_counts_conflicts(world):
    c = signed_in("admin")
    op = start(c, "run").operation_id
    done, conflicts = undo(op)
    page = text(c.get(f"/history/{done.pk}/"))
    tables = page[page.index('data-testid="undo-tables"') :].split("</table>")[0]
    assert "removed" in tables and "course record" in tables
    assert done.conflicts == len(conflicts) == 0


def test_the_favicon_is_served(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r.url.endswith("portal/favicon.svg")


def test_an_undo_with_conflicts_runs_only_once_confirmed_and_names_them(world):
    from registrar.jobs.models import Job
    from registrar.learning.models import CourseRecord

    from .portal_fixtures import run_jobs
    from .test_portal import job_of

    c = signed_in("admin")
    op = start(c, "run").operation_id
    record = CourseRecord.objects.first()
    CourseRecord.objects.filter(pk=record.pk).update(score=99, op=None)  # changed since
    check = job_of(c.post(f"/history/{op}/undo/", {"action": "verify"}))
    run_jobs()
    check.refresh_from_db()
    assert check.result["conflict_count"] >= 1
    html = text(c.get(f"/jobs/{check.pk}/"))
    assert 'data-testid="confirm-conflicts"' in html
    conflicts = html[html.index('data-testid="conflicts"') :].split("</ul>")[0]
    assert "<strong>" in conflicts and record.user.login in conflicts
    assert c.post(f"/jobs/{check.pk}/run/").status_code == 400
    assert Job.objects.filter(what=Job.UNDO, verify_only=False).count() == 0
    real = job_of(c.post(f"/jobs/{check.pk}/run/", {"confirm": "on"}))
    run_jobs()
    real.refresh_from_db()
    assert real.status == "done" and real.result["conflict_count"] >= 1
    assert CourseRecord.objects.filter(pk=record.pk).exists()  # left as it is
