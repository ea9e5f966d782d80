"""Fixtures for the portal, API and job tests: two organisations, a site administrator, a
scoped administrator of each, a course, API tokens, and a worker run in-process."""

from types import SimpleNamespace
from unittest.mock import patch

import pytest
from django_tasks_db.management.commands.db_worker import Worker

from registrar.api.models import ApiToken

from . import factories as f

BOTH = ["default", "jobs"]


def run_jobs() -> None:
    """Run every queued job to its end, as `registrar worker --batch` does. (The worker closes
    connections between tasks; inside a test's transaction that would lose it, so not here.)"""
    with patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        _worker()


def _worker() -> None:
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


@pytest.fixture
def world(db):
    """ACME ⊃ {ACME-EU, ACME-US}; admin (site administrator), eu_admin and us_admin
    (Organisation administrator of their branch), learners in each branch, a course."""
    root = f.org("ACME", label="Acme")
    eu = f.org("ACME-EU", parent=root, label="Acme Europe")
    us = f.org("ACME-US", parent=root, label="Acme Americas")
    admin = f.user("admin", root, is_staff=True, culture="en-GB")
    admin.set_password("admin-pass")
    admin.save()
    f.grant(admin, "Site administrator")
    eu_admin = f.user("eu.admin", eu, culture="en-GB")
    eu_admin.set_password("eu-pass")
    eu_admin.save()
    f.grant(eu_admin, "Organisation administrator", eu)
    us_admin = f.user("us.admin", us, culture="fr-FR")
    us_admin.set_password("us-pass")
    us_admin.save()
    f.grant(us_admin, "Organisation administrator", us)
    eve = f.user("eve", eu, email="eve@example.com")
    sam = f.user("sam", us, email="sam@example.com")
    course = f.course("SAFE-101", "Workplace safety")
    return SimpleNamespace(
        root=root,
        eu=eu,
        us=us,
        admin=admin,
        eu_admin=eu_admin,
        us_admin=us_admin,
        eve=eve,
        sam=sam,
        course=course,
    )


@pytest.fixture
def tokens(world):
    """A bearer token for each administrator."""
    return SimpleNamespace(
        admin=ApiToken.issue(world.admin, "test")[1],
        eu=ApiToken.issue(world.eu_admin, "test")[1],
        us=ApiToken.issue(world.us_admin, "test")[1],
    )


COMPLETIONS = (
    "course_id;user_email;completion_date\r\n"
    "SAFE-101;eve@example.com;2024-06-15\r\n"
    "SAFE-101;sam@example.com;2024-06-16\r\n"
    "NOPE-999;eve@example.com;2024-06-17\r\n"
)
