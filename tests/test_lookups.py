"""The bulk lookups (core.lookups): the rows they find, and on SQLite the index they probe."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registrar.core import lookups
from registrar.learning.models import CourseRecord

from . import factories as F


@pytest.fixture
def records(db):
    """Three users and four courses; each user has a record of two of them."""
    users = [F.user(f"u{i}") for i in range(3)]
    courses = [F.course(f"C{i}") for i in range(4)]
    for i, u in enumerate(users):
        for c in (courses[i], courses[i + 1]):
            CourseRecord.objects.create(user=u, course=c, status="C")
    return users, courses


def _ids(objs) -> set[int]:
    return {o.id for o in objs}


@pytest.mark.parametrize("limit", [50_000, 0])
def test_pairs_finds_the_records_of_every_user_and_course_combination(records, monkeypatch, limit):
    """Listed as pairs (few combinations) or filtered side by side (past PAIRS_LIMIT): the same
    rows, and only the combinations asked for."""
    users, courses = records
    monkeypatch.setattr(lookups, "PAIRS_LIMIT", limit)
    found = lookups.pairs(
        CourseRecord, "user_id", "course_id", _ids(users[:2]), _ids(courses[1:]), "status"
    )
    want = {(users[0].id, courses[1].id), (users[1].id, courses[1].id)}
    want.add((users[1].id, courses[2].id))
    assert set(found) == want
    assert {r["status"] for r in found.values()} == {"C"}


def test_exact_pairs_reads_its_rows_as_the_orm_would(records):
    users, courses = records
    found = lookups.exact_pairs(
        CourseRecord,
        "user_id",
        "course_id",
        [(users[0].id, courses[0].id), (users[0].id, courses[3].id)],
        "status",
        "status_date",
        "completion_percent",
    )
    want = CourseRecord.objects.get(user=users[0], course=courses[0])
    assert list(found) == [(users[0].id, courses[0].id)]
    row = found[(users[0].id, courses[0].id)]
    assert row == {
        "id": want.id,
        "user_id": users[0].id,
        "course_id": courses[0].id,
        "status": "C",
        "status_date": None,
        "completion_percent": 0,
        "op": None,
    }


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner")
def test_pairs_past_the_limit_probes_each_user_once_on_sqlite(records, monkeypatch):
    """Past PAIRS_LIMIT, SQLite would probe the unique (user, course) index once per user and
    course (2.5 million probes for 2,500 users and 1,000 courses): the courses are filtered
    instead, a probe per user."""
    users, courses = records
    monkeypatch.setattr(lookups, "PAIRS_LIMIT", 0)
    with CaptureQueriesContext(connection) as q:
        lookups.pairs(CourseRecord, "user_id", "course_id", _ids(users), _ids(courses), "status")
    (sql,) = [x["sql"] for x in q.captured_queries if "learning_courserecord" in x["sql"]]
    with connection.cursor() as c:
        c.execute(f"EXPLAIN QUERY PLAN {sql}")
        plan = " ".join(str(r[-1]) for r in c.fetchall())
    assert "(user_id=?)" in plan, plan
    assert "course_id=?" not in plan, plan


@pytest.mark.parametrize("share", [0, 10], ids=["every-user-read-once", "one-lookup-a-batch"])
@pytest.mark.parametrize("scope", [None, "ORG"])
def test_learners_by_login_names_the_users_who_can_learn(db, monkeypatch, share, scope):
    """The lane's login lookup, both ways: exact logins, enabled, with training access, in the
    import's scope; the others are left to the row path, which tells why."""
    from types import SimpleNamespace

    from registrar.bulk import lookups as bulk_lookups
    from registrar.directory.models import Organisation

    far = Organisation.objects.create(extid="FAR", label="Far away")
    ok = [F.user("alice"), F.user("Bob")]
    F.user("carol", disabled=True)
    F.user("dan", training_access=False)
    gina = F.user("gina", organisation=far)
    monkeypatch.setattr(bulk_lookups, "WHOLE_SHARE", share)
    scope_ids = None if scope is None else {ok[0].organisation_id}
    ctx = SimpleNamespace(cache={}, scope_ids=scope_ids)
    asked = ["alice", "bob", "Bob", "carol", "dan", "gina", "nobody", None, "alice"]
    for _ in range(2):  # a second batch: from the cache when every user was read once
        found = bulk_lookups.learners_by_login(asked, ctx)
        want = {"alice": ok[0].id, "Bob": ok[1].id}
        if scope is None:
            want["gina"] = gina.id
        assert found == want
    assert ("by_login" in ctx.cache) == (share == 0)
