"""The portal's assistant: select → trim → action → parameters → verify → run → results → undo,
generated from each action's declared parameters; roles and scopes as for imports."""

import json
import re

import pytest

from registrar.jobs.models import Job
from registrar.learning.models import CourseAssignment

from .portal_fixtures import BOTH, run_jobs
from .test_portal import signed_in

pytestmark = pytest.mark.django_db(databases=BOTH)


def test_assistant_selection_page_shows_the_count_and_first_users(world):
    c = signed_in("admin")
    r = c.get("/assistants/users/", {"go": "1", "f": "org", "o": "in", "v": "ACME-EU"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "2 items selected" in html and "<td>eve</td>" in html and "<td>sam</td>" not in html
    assert "/assistants/users/assign-courses/?selection=" in html


def test_assistant_selection_with_an_unknown_field_says_so(world):
    c = signed_in("admin")
    r = c.get("/assistants/users/", {"go": "1", "f": "colour", "o": "eq", "v": "red"})
    assert r.status_code == 400 and "unknown_field" in r.content.decode()


def test_assistant_trim_leaves_out_the_ticked_users(world):
    c = signed_in("admin")
    r = c.get(
        "/assistants/users/",
        {"go": "1", "f": "org", "o": "in", "v": "ACME-EU", "drop": "eu.admin"},
    )
    assert "1 item selected" in r.content.decode()


def test_assistant_parameters_form_is_generated_from_the_action(world):
    c = signed_in("admin")
    sel = json.dumps({"ids": ["eve"]})
    r = c.get("/assistants/users/assign-courses/", {"selection": sel})
    html = r.content.decode()
    for name in ("courses", "option", "start_date", "target_date", "billing_mode"):
        assert f'name="{name}"' in html
    assert "1 item selected" in html


def test_assistant_verify_run_results_and_undo(world):
    c = signed_in("admin")
    sel = json.dumps({"where": [["org", "in", "ACME-EU"]]})
    url = "/assistants/users/assign-courses/"
    r = c.post(
        url, {"selection": sel, "courses": "SAFE-101", "option": "mandatory", "go": "verify"}
    )
    assert r.status_code == 302
    run_jobs()
    job = Job.objects.get(what=Job.ACTION, verify_only=True)
    page = c.get(r["Location"]).content.decode()
    assert "Verified" in page and "eve" in page and not CourseAssignment.objects.exists()
    r = c.post(f"/jobs/{job.pk}/run/")
    run_jobs()
    page = c.get(r["Location"]).content.decode()
    assert "Done." in page and 'data-testid="undo"' in page
    assert CourseAssignment.objects.filter(user__login="eve", option="mandatory").exists()
    op_id = re.search(r"/history/(\d+)/undo/", page).group(1)
    c.post(f"/history/{op_id}/undo/", {"action": "undo"})
    run_jobs()
    assert not CourseAssignment.objects.exists()


def test_assistant_refuses_a_bad_parameter_naming_it(world):
    c = signed_in("admin")
    sel = json.dumps({"ids": ["eve"]})
    r = c.post(
        "/assistants/users/assign-courses/",
        {"selection": sel, "courses": "NOPE-1", "go": "run"},
    )
    assert r.status_code == 400 and "courses" in r.content.decode()
    assert not Job.objects.exists()


def test_assistant_in_french(world):
    c = signed_in("us.admin")
    r = c.get("/assistants/")
    assert r.status_code == 200 and "Assistants" in r.content.decode()


def test_a_french_users_page_leaves_the_next_request_in_the_default_language(world):
    """The culture's language is the request's only: the thread used to stay French after a
    French user's page, so that what ran next (another request, a job) spoke French."""
    from django.utils import translation

    signed_in("us.admin").get("/assistants/")
    assert translation.get_language() != "fr"
