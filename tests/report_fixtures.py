"""A small, hand-counted school for the completion report (tests/test_reports.py and
tests/test_dashboard.py): the expected figures are written out next to the data in
docs of each test.

    ROOT ⊃ {EU ⊃ {FR}, US}        learners: a1, a2, dis (disabled) in FR; b1 in EU; c1, c2 in US
    courses K1, K2, K3; curricula CUR1 = {K1, K2}, CUR2 = {K3}; programme P1 = {CUR1, CUR2}
    today = 2025-06-01; PAST target 2025-01-01, FUTURE target 2026-01-01
"""

from datetime import date, datetime
from types import SimpleNamespace

from django.utils import timezone

from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumAssignment,
    CurriculumRecord,
    ProgrammeAssignment,
    ProgrammeRecord,
)

from . import factories as f

TODAY = date(2025, 6, 1)
PAST, FUTURE = date(2025, 1, 1), date(2026, 1, 1)


def at(y: int, m: int, d: int):
    return timezone.make_aware(datetime(y, m, d, 12, 0))


JANUARY = at(2025, 1, 10)


def assign(model, field, u, item, target=None, when=JANUARY):
    model.objects.create(user=u, **{field: item}, target_date=target, assigned_at=when)


def record(model, field, u, item, status, when=None, **kw):
    model.objects.create(user=u, **{field: item}, status=status, status_date=when, **kw)


def build_school() -> SimpleNamespace:
    """The school's rows (call it from a test's fixture)."""
    root = f.org("ROOT", label="Root")
    eu = f.org("EU", parent=root, label="Europe")
    fr = f.org("FR", parent=eu, label="France")
    us = f.org("US", parent=root, label="Americas")
    a1, a2 = f.user("a1", fr), f.user("a2", fr)
    dis = f.user("dis", fr, disabled=True)
    b1 = f.user("b1", eu)
    c1, c2 = f.user("c1", us), f.user("c2", us)
    k1, k2, k3 = f.course("K1", "Safety"), f.course("K2", "Ethics"), f.course("K3", "Privacy")
    cur1, cur2 = f.curriculum("CUR1", [k1, k2]), f.curriculum("CUR2", [k3])
    p1 = f.programme("P1", [cur1, cur2])
    CA, CR = CourseAssignment, CourseRecord
    # K1: a1 completed; a2 not started, overdue; b1 in progress; c1 an imported completion with
    # no assignment (dated 2024); dis completed but disabled.
    assign(CA, "course", a1, k1, PAST)
    record(CR, "course", a1, k1, "C", at(2025, 2, 1))
    assign(CA, "course", a2, k1, PAST)
    assign(CA, "course", b1, k1, FUTURE)
    record(CR, "course", b1, k1, "I")
    record(CR, "course", c1, k1, "C", at(2024, 3, 1), source="import")
    assign(CA, "course", dis, k1, PAST)
    record(CR, "course", dis, k1, "C", at(2025, 2, 1))
    # K2: a1 in progress, overdue; c2 completed by the global importer (legacy, 2019); b1 a
    # record not started.
    assign(CA, "course", a1, k2, PAST)
    record(CR, "course", a1, k2, "I")
    assign(CA, "course", c2, k2)
    record(CR, "course", c2, k2, "C", at(2019, 5, 5), legacy=True)
    assign(CA, "course", b1, k2)
    record(CR, "course", b1, k2, "N")
    # K3: c1 assigned in May, nothing done.
    assign(CA, "course", c1, k3, FUTURE, at(2025, 5, 1))
    # CUR1: a1 assigned (overdue), in progress through K1/K2; a2 assigned, nothing started; b1
    # a completed curriculum record, no assignment; c2 in progress through a legacy K2 only.
    QA, QR = CurriculumAssignment, CurriculumRecord
    assign(QA, "curriculum", a1, cur1, PAST)
    assign(QA, "curriculum", a2, cur1, FUTURE)
    record(QR, "curriculum", b1, cur1, "C", at(2025, 3, 1))
    assign(QA, "curriculum", c2, cur1)
    # CUR2: c1 assigned, overdue, nothing started.
    assign(QA, "curriculum", c1, cur2, PAST)
    # P1: a1 in progress (courses), overdue; c1 completed (record, no assignment); a2 nothing;
    # b1 in progress through its completed CUR1, overdue.
    PA, PR = ProgrammeAssignment, ProgrammeRecord
    assign(PA, "programme", a1, p1, PAST)
    record(PR, "programme", c1, p1, "C", at(2025, 4, 1))
    assign(PA, "programme", a2, p1)
    assign(PA, "programme", b1, p1, PAST)
    return SimpleNamespace(
        root=root, eu=eu, fr=fr, us=us, a1=a1, a2=a2, b1=b1, c1=c1, c2=c2, dis=dis, k1=k1
    )


def figures(assigned, not_started, in_progress, completed, overdue, rate):
    return {
        "assigned": assigned,
        "not_started": not_started,
        "in_progress": in_progress,
        "completed": completed,
        "overdue": overdue,
        "completion_rate": rate,
    }


BY_COURSE = {
    "K1": figures(4, 1, 1, 2, 1, 0.5),
    "K2": figures(3, 1, 1, 1, 1, 0.333),
    "K3": figures(1, 1, 0, 0, 0, 0.0),
}
BY_ORGANISATION = {
    "ROOT": figures(8, 3, 2, 3, 2, 0.375),
    "EU": figures(5, 2, 2, 1, 2, 0.2),
    "FR": figures(3, 1, 1, 1, 2, 0.333),
    "US": figures(3, 1, 0, 2, 0, 0.667),
}
