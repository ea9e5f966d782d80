"""The API's bulk actions (/api/actions/{target}/{action}): verify, run, job, rows, undo; the
parameters and the selection refused with 400 naming the key; roles and scopes."""

import pytest

from registrar.learning.models import CourseAssignment

from .portal_fixtures import BOTH, run_jobs
from .test_api import Api

pytestmark = pytest.mark.django_db(databases=BOTH)
ASSIGN = "/api/actions/users/assign-courses"


@pytest.fixture
def api(tokens):
    return {"admin": Api(tokens.admin), "eu": Api(tokens.eu)}


def run(api, url: str, body: dict) -> dict:
    r = api.post(url, body)
    assert r.status_code == 202, r.content
    run_jobs()
    r = api.get(f"/api/jobs/{r.json()['id']}")
    assert r.status_code == 200
    return r.json()


def test_action_is_listed_with_its_typed_parameters(api):
    r = api["admin"].get("/api/actions", target="users")
    names = [a["name"] for a in r.json()]
    assert "users.assign-courses" in names
    detail = api["admin"].get(ASSIGN).json()
    params = {p["name"]: p for p in detail["params"]}
    assert params["courses"]["required"] and params["courses"]["type"] == "list"
    assert params["option"]["choices"] == ["free", "recommended", "mandatory"]


def test_action_verify_then_run_then_undo_through_the_api(world, api):
    body = {"selection": {"ids": ["eve", "sam"]}, "params": {"courses": ["SAFE-101"]}}
    job = run(api["admin"], f"{ASSIGN}/verify", body)
    assert job["status"] == "done" and job["result"]["created"] == 2
    assert not CourseAssignment.objects.exists()
    job = run(api["admin"], f"{ASSIGN}/run", body)
    assert job["result"]["created"] == 2 and job["what"] == "action"
    rows = api["admin"].get(f"/api/operations/{job['operation']}/rows").json()["rows"]
    assert {(r["user_login"], r["course_code"], r["result"]) for r in rows} == {
        ("eve", "SAFE-101", "created"),
        ("sam", "SAFE-101", "created"),
    }
    assert CourseAssignment.objects.count() == 2
    r = api["admin"].post(f"/api/operations/{job['operation']}/undo", {"verify_only": False})
    assert r.status_code == 202
    run_jobs()
    assert not CourseAssignment.objects.exists()


def test_action_invalid_parameter_is_400_naming_the_key(api):
    r = api["admin"].post(
        f"{ASSIGN}/run", {"selection": {"ids": ["eve"]}, "params": {"courses": ["NOPE"]}}
    )
    assert r.status_code == 400 and "courses" in r.json()["detail"]
    r = api["admin"].post(
        f"{ASSIGN}/run", {"selection": {"where": ["colour:eq:red"]}, "params": {"courses": []}}
    )
    assert r.status_code == 400


def test_action_selection_preview_counts_and_lists_the_first_items(api):
    r = api["admin"].post(f"{ASSIGN}/selection", {"selection": {"where": ["org:in:ACME-EU"]}})
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2 and {u["login"] for u in body["first"]} == {"eu.admin", "eve"}


def test_action_of_a_scoped_admin_rejects_users_outside_their_branch(api):
    body = {"selection": {"ids": ["eve", "sam"]}, "params": {"courses": ["SAFE-101"]}}
    job = run(api["eu"], f"{ASSIGN}/run", body)
    rows = api["eu"].get(f"/api/operations/{job['operation']}/rows").json()["rows"]
    by_login = {r["user_login"]: r for r in rows}
    assert by_login["eve"]["result"] == "created"
    assert by_login["sam"]["result"] == "rejected" and by_login["sam"]["codes"] == "out_of_scope"
    assert list(CourseAssignment.objects.values_list("user__login", flat=True)) == ["eve"]


def test_action_unknown_is_404(api):
    assert api["admin"].get("/api/actions/users/frobnicate").status_code == 404
