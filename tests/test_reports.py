"""The completion report (SPEC §9): its figures against the hand-counted school of
tests/report_fixtures.py, per course, organisation subtree, curriculum and programme; filters,
scope, one grouped query per report; the command line and the API give the same figures."""

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registrar.api.models import ApiToken
from registrar.learning.models import CourseAssignment, CourseRecord
from registrar.reports import access, cache
from registrar.reports.completions import KEYS, Filters, ReportError, completions, scope_of

from . import factories as f
from .portal_fixtures import BOTH
from .report_fixtures import BY_COURSE, BY_ORGANISATION, TODAY, build_school, figures

pytestmark = pytest.mark.django_db(databases=BOTH)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with no kept report (the test databases reuse ids)."""
    cache.forget()


@pytest.fixture
def school(db):
    return build_school()


def report(by="course", scope=None, **filters):
    return completions(by, Filters.parse(filters), scope, today=TODAY)


def keyed(rows, by="course"):
    return {r.pop(KEYS[by]): r for r in rows}


# --- figures --------------------------------------------------------------------------------


def test_per_course_counts_assignments_and_records_without_one(school):
    assert keyed(report()) == BY_COURSE


def test_completion_rate_is_completed_over_assigned_to_three_decimals(school):
    rates = {r["course_code"]: r["completion_rate"] for r in report()}
    assert rates == {"K1": 0.5, "K2": 0.333, "K3": 0.0}


def test_overdue_is_past_target_date_and_not_completed(school):
    # K1: a1 completed past its target (not overdue), a2 not started past it (overdue), b1 in
    # progress before its target (not overdue).
    assert report(course="K1")[0]["overdue"] == 1
    assert report(course="K1")[0]["not_started"] == 1


def test_overdue_counts_from_the_day_after_the_target(school):
    rows = completions("course", Filters(course="K1"), None, today=date(2025, 1, 1))
    assert rows[0]["overdue"] == 0


def test_disabled_users_are_left_out_unless_asked(school):
    rows = keyed(report(include_disabled="yes"))
    assert rows["K1"] == figures(5, 1, 1, 3, 1, 0.6)


def test_accreditation_leaves_legacy_course_records_out(school):
    rows = keyed(report(accreditation="1"))
    assert rows["K2"] == figures(2, 1, 1, 0, 1, 0.0)
    assert rows["K1"] == BY_COURSE["K1"]


def test_organisation_counts_its_whole_subtree_depth_first(school):
    rows = report("organisation")
    assert [r["org_extid"] for r in rows] == ["ROOT", "EU", "FR", "US"]
    assert keyed(rows, "organisation") == BY_ORGANISATION


def test_curriculum_status_rolls_up_from_its_courses(school):
    # CUR1: a1 in progress (K1 completed, K2 in progress), overdue; a2 not started; b1 completed
    # (its curriculum record, no assignment); c2 in progress through its legacy K2.
    rows = keyed(report("curriculum"), "curriculum")
    assert rows == {
        "CUR1": figures(4, 1, 2, 1, 1, 0.25),
        "CUR2": figures(1, 1, 0, 0, 1, 0.0),
    }


def test_curriculum_roll_up_ignores_legacy_records_for_accreditation(school):
    rows = keyed(report("curriculum", accreditation="yes"), "curriculum")
    assert rows["CUR1"] == figures(4, 2, 1, 1, 1, 0.25)


def test_programme_status_rolls_up_from_its_curricula_and_courses(school):
    # P1: a1 in progress (its courses), overdue; c1 completed (record); a2 nothing; b1 in
    # progress (CUR1 completed), overdue.
    assert keyed(report("programme"), "programme") == {"P1": figures(4, 1, 2, 1, 2, 0.25)}


def test_a_completion_counts_at_once(school):
    CourseRecord.objects.filter(user=school.a2, course=school.k1).delete()
    CourseRecord.objects.create(user=school.a2, course=school.k1, status="C")
    assert report(course="K1")[0]["completed"] == 3


def test_an_unassigned_course_does_not_appear(school):
    f.course("K9")
    assert "K9" not in keyed(report())


# --- filters --------------------------------------------------------------------------------


def test_course_filter_narrows_to_the_course(school):
    assert keyed(report(course="K3")) == {"K3": BY_COURSE["K3"]}


def test_course_filter_matches_a_code_in_another_case(school):
    assert [r["course_code"] for r in report(course="k3")] == ["K3"]


def test_curriculum_filter_narrows_to_its_courses(school):
    assert sorted(keyed(report(curriculum="CUR1"))) == ["K1", "K2"]


def test_course_filter_narrows_curricula_to_those_containing_it(school):
    assert [r["curriculum_code"] for r in report("curriculum", course="K3")] == ["CUR2"]


def test_org_filter_counts_only_its_subtree(school):
    rows = keyed(report(org="EU"))
    assert rows["K1"] == figures(3, 1, 1, 1, 1, 0.333)  # a1, a2, b1: c1 is in US
    assert "K3" not in rows


def test_org_filter_on_organisations_shows_the_subtree_only(school):
    rows = report("organisation", org="EU")
    assert [r["org_extid"] for r in rows] == ["EU", "FR"]
    assert rows[0] == {"org_extid": "EU", **BY_ORGANISATION["EU"]}


def test_course_filter_on_organisations(school):
    rows = keyed(report("organisation", course="K1"), "organisation")
    assert {k: v["assigned"] for k, v in rows.items()} == {"ROOT": 4, "EU": 3, "FR": 2, "US": 1}


def test_period_keeps_learners_whose_assignment_began_in_it(school):
    # 2025: c1's K1 completion (2024) and c2's legacy K2 (2019) began before.
    rows = keyed(report(since="2025-01-01", until="2025-12-31"))
    assert rows["K1"] == figures(3, 1, 1, 1, 1, 0.333)
    assert rows["K2"]["assigned"] == 2
    assert keyed(report(since="2025-04-01")) == {"K3": BY_COURSE["K3"]}
    assert keyed(report(until="2024-12-31")) == {
        "K1": figures(1, 0, 0, 1, 0, 1.0),
        "K2": figures(1, 0, 0, 1, 0, 1.0),
    }


@pytest.mark.parametrize(
    "filters,key",
    [
        ({"org": "NOPE"}, "org"),
        ({"course": "NOPE"}, "course"),
        ({"curriculum": "NOPE"}, "curriculum"),
        ({"since": "01/02/2025"}, "since"),
        ({"until": "2025-13-01"}, "until"),
        ({"since": "2025-02-01", "until": "2025-01-01"}, "since"),
        ({"accreditation": "maybe"}, "accreditation"),
        ({"course": "x" * 101}, "course"),
    ],
)
def test_a_bad_filter_is_refused_naming_its_key(school, filters, key):
    with pytest.raises(ReportError) as e:
        report(**filters)
    assert e.value.key == key and e.value.status == 400


def test_an_unknown_grouping_is_refused(school):
    with pytest.raises(ReportError) as e:
        report("lesson")
    assert e.value.key == "by"


# --- scope ----------------------------------------------------------------------------------


def test_a_scoped_reader_counts_only_their_subtree(school):
    eu = scope_of(["EU"])
    assert keyed(report(scope=eu)) == keyed(report(org="EU"))
    rows = report("organisation", scope=eu)
    assert [r["org_extid"] for r in rows] == ["EU", "FR"]


def test_a_scoped_reader_may_not_ask_for_an_organisation_outside(school):
    with pytest.raises(ReportError) as e:
        report(scope=scope_of(["EU"]), org="US")
    assert (e.value.key, e.value.status) == ("org", 403)


def test_report_scope_comes_from_learning_grants(school):
    boss, eu_admin, content = f.user("boss", school.root), f.user("eua", school.eu), f.user("cm")
    f.grant(boss, "Site administrator")
    f.grant(eu_admin, "Organisation administrator", school.eu)
    f.grant(content, "Content administrator")
    assert access.scope_for(boss) is None
    assert access.scope_for(eu_admin) == {school.eu.pk, school.fr.pk}
    with pytest.raises(ReportError) as e:
        access.scope_for(content)
    assert e.value.status == 403


# --- one query per report -------------------------------------------------------------------


def queries(captured) -> list[str]:
    """The statements that read data (PostgreSQL's SET/RESET of work_mem left out)."""
    return [q["sql"] for q in captured if not q["sql"].startswith(("SET ", "RESET "))]


@pytest.mark.parametrize("by", ["course", "curriculum", "programme"])
def test_each_report_is_one_grouped_query(school, by):
    with CaptureQueriesContext(connection) as q:
        report(by)
    assert len(queries(q.captured_queries)) == 1
    assert "GROUP BY" in queries(q.captured_queries)[0]


def test_organisation_report_is_the_tree_and_one_grouped_query(school):
    with CaptureQueriesContext(connection) as q:
        report("organisation")
    grouped = [x for x in queries(q.captured_queries) if "GROUP BY" in x]
    assert len(queries(q.captured_queries)) == 2 and len(grouped) == 1


def test_query_count_does_not_grow_with_courses_or_organisations(school):
    with CaptureQueriesContext(connection) as before:
        report("organisation", org="EU", course="K1")
    for i in range(20):
        o = f.org(f"X{i}", parent=school.eu)
        u = f.user(f"x{i}", o)
        c = f.course(f"KX{i}")
        CourseAssignment.objects.create(user=u, course=c)
        CourseAssignment.objects.create(user=u, course=school.k1)
    with CaptureQueriesContext(connection) as after:
        rows = report("organisation", org="EU", course="K1")
        report("course")
    assert len(queries(after.captured_queries)) == len(queries(before.captured_queries)) + 1
    assert len(rows) == 22


# --- the command line -----------------------------------------------------------------------


def run_cli(*args) -> str:
    import io

    out = io.StringIO()
    call_command("report", "completions", *args, "--today", TODAY.isoformat(), stdout=out)
    return out.getvalue()


def test_cli_json_prints_the_keys_of_spec_9(school):
    rows = json.loads(run_cli("--json"))
    assert list(rows[0]) == ["course_code", *BY_COURSE["K1"]]
    assert keyed(rows) == BY_COURSE


@pytest.mark.parametrize("by", ["course", "organisation", "curriculum", "programme"])
def test_cli_json_equals_the_query_layer(school, by):
    assert json.loads(run_cli("--by", by, "--json")) == report(by)


def test_cli_options_narrow_like_the_filters(school):
    rows = json.loads(run_cli("--by", "organisation", "--org", "EU", "--course", "K1", "--json"))
    assert rows == report("organisation", org="EU", course="K1")
    rows = json.loads(run_cli("--accreditation", "--json"))
    assert rows == report(accreditation=True)


def test_cli_scope_confines_the_report(school):
    rows = json.loads(run_cli("--by", "organisation", "--scope", "US", "--json"))
    assert [r["org_extid"] for r in rows] == ["US"]


def test_cli_table_has_a_header_and_a_row_per_course(school):
    lines = run_cli().splitlines()
    assert lines[0].split() == ["course_code", *BY_COURSE["K1"]]
    assert [line.split()[0] for line in lines[1:]] == ["K1", "K2", "K3"]
    assert lines[1].split()[1:] == ["4", "1", "1", "2", "1", "0.500"]


@pytest.mark.parametrize(
    "args,reason",
    [
        (["--by", "lesson"], "by"),
        (["--org", "NOPE"], "org"),
        (["--course", "NOPE"], "course"),
        (["--scope", "NOPE"], "scope"),
        (["--scope", "US", "--org", "EU"], "org"),
        (["--since", "yesterday"], "since"),
    ],
)
def test_cli_bad_option_exits_2_naming_it(school, args, reason):
    with pytest.raises(CommandError) as e:
        run_cli(*args)
    assert e.value.returncode == 2 and str(e.value).startswith(reason)


def test_cli_unknown_report_exits_2(school):
    with pytest.raises(CommandError) as e:
        call_command("report", "lessons")
    assert e.value.returncode == 2


# --- the API --------------------------------------------------------------------------------


def api_get(token, **params):
    return Client().get("/api/reports/completions", params, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def readers(school):
    boss, eu_admin, content = f.user("boss", school.root), f.user("eua", school.eu), f.user("cm")
    f.grant(boss, "Site administrator")
    f.grant(eu_admin, "Organisation administrator", school.eu)
    f.grant(content, "Content administrator")
    return {u.login: ApiToken.issue(u, "t")[1] for u in (boss, eu_admin, content)}


@pytest.fixture
def frozen_today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)


@pytest.mark.parametrize("by", ["course", "organisation", "curriculum", "programme"])
def test_api_figures_equal_the_cli(school, readers, frozen_today, by):
    r = api_get(readers["boss"], by=by)
    assert r.status_code == 200
    assert r.json() == json.loads(run_cli("--by", by, "--json"))


def test_api_filters_equal_the_cli(school, readers, frozen_today):
    r = api_get(readers["boss"], by="organisation", org="EU", course="K1", accreditation="true")
    cli = run_cli(
        "--by", "organisation", "--org", "EU", "--course", "K1", "--accreditation", "--json"
    )
    assert r.json() == json.loads(cli)


def test_api_scoped_reader_sees_only_their_subtree(school, readers, frozen_today):
    r = api_get(readers["eua"], by="organisation")
    assert [x["org_extid"] for x in r.json()] == ["EU", "FR"]
    assert api_get(readers["eua"], org="US").status_code == 403


def test_api_refuses_a_role_without_learning_records(school, readers):
    assert api_get(readers["cm"]).status_code == 403


def test_api_bad_filter_is_400_naming_the_key(school, readers):
    r = api_get(readers["boss"], by="lesson")
    assert r.status_code == 400 and r.json()["detail"].startswith("by:")
    r = api_get(readers["boss"], since="tomorrow")
    assert r.status_code == 400 and r.json()["detail"].startswith("since:")


def test_api_needs_a_token(school):
    assert Client().get("/api/reports/completions").status_code == 401


def test_api_answer_follows_an_action_at_once(school, readers, frozen_today, act):
    before = {r["course_code"]: r for r in api_get(readers["boss"]).json()}
    assert before["K3"]["assigned"] == 1
    rep = act("users.assign-courses", ids=["a1", "a2"], params={"courses": ["K3"]})
    assert [r["result"] for r in rep.rows] == ["created", "created"]
    after = {r["course_code"]: r for r in api_get(readers["boss"]).json()}
    assert after["K3"]["assigned"] == 3 and after["K3"]["not_started"] == 3


@pytest.mark.parametrize("full", [True, False])
def test_both_forms_of_the_pairs_give_the_same_figures(school, monkeypatch, full):
    """One FULL JOIN (SQLite 3.39+) or the two halves (PostgreSQL, older SQLite)."""
    monkeypatch.setattr("registrar.reports.completions._full_join", lambda: full)
    assert keyed(report()) == BY_COURSE
    assert keyed(report("organisation"), "organisation") == BY_ORGANISATION
    assert keyed(report("curriculum"), "curriculum")["CUR1"] == figures(4, 1, 2, 1, 1, 0.25)
