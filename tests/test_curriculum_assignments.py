"""curriculum-assignments import (SPEC §4.9, seed 003): one test per rule."""

from datetime import date

import pytest

from registrar.bulk import engine
from registrar.bulk.docs import write_template
from registrar.bulk.imports import KINDS
from registrar.directory.models import Audience, User, UserAudience
from registrar.journal.undo import undo
from registrar.learning.models import CourseAssignment, CurriculumAssignment

from . import factories as f

KIND = "curriculum-assignments"
H = [
    "user_loginid",
    "curriculum_extid",
    "start_date",
    "end_date",
    "target_date",
    "assignment_option",
]
PROPAGATE = {"propagate_to_courses": "yes"}


def row(user, curriculum, start="", end="", target="", option="") -> list[str]:
    return [user, curriculum, start, end, target, option]


@pytest.fixture
def world(db):
    amartin = f.user("amartin", email="alice.martin@example.com")
    f.user("bdurand", email="bob.durand@example.com")
    s1, s2, s3 = f.course("SAFE-101"), f.course("SAFE-102"), f.course("SAFE-201")
    safety = f.curriculum("CUR-SAFETY", courses=[s1, s2], extref="ACME-CUR-SAFETY")
    f.curriculum("CUR-FIRE", courses=[s2, s3])
    f.curriculum("CUR-EMPTY")
    managers = Audience.objects.create(name="Managers")
    lead = f.curriculum("CUR-LEAD", courses=[f.course("LEAD-101")])
    lead.audiences.add(managers, through_defaults={})
    UserAudience.objects.create(user=amartin, audience=managers)
    return {"amartin": amartin, "bdurand": User.objects.get(login="bdurand"), "safety": safety}


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


FIELDS = ("option", "start_date", "target_date", "end_date", "source")


def state() -> dict:
    return {
        "curricula": sorted(
            CurriculumAssignment.objects.values_list("user__login", "curriculum__code", *FIELDS)
        ),
        "courses": sorted(
            CourseAssignment.objects.values_list("user__login", "course__code", *FIELDS)
        ),
    }


def courses_of(login: str) -> list[tuple]:
    return sorted(
        CourseAssignment.objects.filter(user__login=login).values_list(
            "course__code", "option", "start_date", "target_date", "end_date"
        )
    )


# Creating assignments ---------------------------------------------------------------------------


def test_row_creates_a_curriculum_assignment_with_dates_option_and_source_import(run_import, world):
    rep = run_import(
        KIND, H, [row("amartin", "CUR-SAFETY", "2025-01-06", "2025-12-31", "2025-06-30", "M")]
    )
    assert results(rep) == [("created", "")]
    a = CurriculumAssignment.objects.get()
    assert (a.user.login, a.curriculum.code, a.option, a.source) == (
        "amartin",
        "CUR-SAFETY",
        "mandatory",
        "import",
    )
    assert (a.start_date, a.target_date, a.end_date) == (
        date(2025, 1, 6),
        date(2025, 6, 30),
        date(2025, 12, 31),
    )
    assert not CourseAssignment.objects.exists()  # propagate_to_courses is off by default


@pytest.mark.parametrize(
    "given, stored", [("libre", "free"), ("R", "recommended"), ("recommandé", "recommended")]
)
def test_assignment_option_accepts_words_letters_and_french(run_import, world, given, stored):
    rep = run_import(KIND, H, [row("amartin", "CUR-SAFETY", option=given)])
    assert results(rep) == [("created", "")]
    assert CurriculumAssignment.objects.get().option == stored


def test_empty_option_is_free(run_import, world):
    rep = run_import(KIND, ["user_loginid", "curriculum_extid"], [["amartin", "CUR-SAFETY"]])
    assert results(rep) == [("created", "")]
    assert CurriculumAssignment.objects.get().option == "free"


# References ------------------------------------------------------------------------------------


def test_curriculum_is_found_by_its_code_or_else_its_external_reference(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "ACME-CUR-SAFETY"), row("bdurand", "CUR-SAFETY")])
    assert results(rep) == [("created", ""), ("created", "")]
    assert set(CurriculumAssignment.objects.values_list("curriculum__code", flat=True)) == {
        "CUR-SAFETY"
    }


def test_a_code_wins_over_another_curriculums_external_reference(run_import, world):
    f.curriculum("CUR-OTHER", extref="CUR-SAFETY")
    rep = run_import(KIND, H, [row("amartin", "CUR-SAFETY")])
    assert results(rep) == [("created", "")]
    assert CurriculumAssignment.objects.get().curriculum.code == "CUR-SAFETY"


def test_an_external_reference_shared_by_two_curricula_is_ambiguous(run_import, world):
    f.curriculum("CUR-A", extref="SHARED")
    f.curriculum("CUR-B", extref="SHARED")
    rep = run_import(KIND, H, [row("amartin", "SHARED")])
    assert results(rep) == [("rejected", "ambiguous_content")]
    assert "CUR-A, CUR-B" in rep.rows[0]["message"]


def test_unknown_curriculum_is_curriculum_not_found(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "CUR-NOPE")])
    assert results(rep) == [("rejected", "curriculum_not_found")]
    assert "CUR-NOPE" in rep.rows[0]["message"]


def test_unknown_user_is_user_not_found(run_import, world):
    rep = run_import(KIND, H, [row("nobody", "CUR-SAFETY")])
    assert results(rep) == [("rejected", "user_not_found")]


def test_disabled_untrained_and_out_of_scope_users_are_rejected(run_import, world):
    f.user("gone", disabled=True)
    f.user("notrain", training_access=False)
    f.user("elsewhere", organisation=f.org("OTHER"))
    rep = run_import(
        KIND,
        H,
        [row("gone", "CUR-SAFETY"), row("notrain", "CUR-SAFETY"), row("elsewhere", "CUR-SAFETY")],
        scope="ORG",
    )
    assert results(rep) == [
        ("rejected", "user_disabled"),
        ("rejected", "user_not_in_training"),
        ("rejected", "out_of_scope"),
    ]


def test_the_same_curriculum_by_code_and_by_reference_is_a_duplicate_row(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "CUR-SAFETY"), row("amartin", "ACME-CUR-SAFETY")])
    assert results(rep) == [("created", ""), ("rejected", "duplicate_row")]


def test_duplicates_are_caught_across_batches(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    test_the_same_curriculum_by_code_and_by_reference_is_a_duplicate_row(run_import, world)


# Dates ------------------------------------------------------------------------------------------


def test_dates_must_run_start_target_end_date_order(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "CUR-SAFETY", "2025-06-01", "2025-05-01"),
            row("bdurand", "CUR-SAFETY", "", "2025-05-01", "2025-06-01"),
        ],
    )
    assert results(rep) == [("rejected", "date_order"), ("rejected", "date_order")]
    assert not CurriculumAssignment.objects.exists()


# Existing assignments: update_existing ---------------------------------------------------------


def existing(world, **kw) -> CurriculumAssignment:
    kw.setdefault("start_date", date(2025, 1, 6))
    return CurriculumAssignment.objects.create(
        user=world["amartin"], curriculum=world["safety"], source="action", **kw
    )


def test_existing_assignment_is_skipped_already_assigned_by_default(run_import, world):
    existing(world)
    rep = run_import(KIND, H, [row("amartin", "CUR-SAFETY", "2025-02-01")])
    assert results(rep) == [("skipped", "already_assigned")]
    assert CurriculumAssignment.objects.get().start_date == date(2025, 1, 6)


def test_existing_assignment_that_says_the_same_is_unchanged(run_import, world):
    existing(world)
    rep = run_import(KIND, H, [row("amartin", "CUR-SAFETY", "2025-01-06")])
    assert results(rep) == [("unchanged", "")]


def test_update_existing_changes_the_given_values_and_keeps_empty_cells(run_import, world):
    existing(world, end_date=date(2025, 12, 31))
    rep = run_import(
        KIND,
        H,
        [row("amartin", "CUR-SAFETY", target="2025-06-30", option="obligatoire")],
        options={"update_existing": "yes"},
    )
    assert results(rep) == [("updated", "")]
    a = CurriculumAssignment.objects.get()
    assert (a.start_date, a.target_date, a.end_date, a.option, a.source) == (
        date(2025, 1, 6),
        date(2025, 6, 30),
        date(2025, 12, 31),
        "mandatory",
        "action",
    )


def test_update_existing_checks_the_dates_against_the_assignments_own(run_import, world):
    existing(world)
    rep = run_import(
        KIND,
        H,
        [row("amartin", "CUR-SAFETY", target="2024-12-01")],
        options={"update_existing": "yes"},
    )
    assert results(rep) == [("rejected", "date_order")]


# Audiences --------------------------------------------------------------------------------------


def test_respect_audiences_rejects_a_user_in_none_of_the_curriculums_audiences(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "CUR-LEAD"), row("bdurand", "CUR-LEAD")])
    assert results(rep) == [("created", ""), ("rejected", "audience_mismatch")]


def test_respect_audiences_no_assigns_whatever_the_audiences(run_import, world):
    rep = run_import(KIND, H, [row("bdurand", "CUR-LEAD")], options={"respect_audiences": "no"})
    assert results(rep) == [("created", "")]


# propagate_to_courses ---------------------------------------------------------------------------


def test_propagate_creates_the_courses_assignments_with_the_curriculums_dates_and_option(
    run_import, world
):
    rep = run_import(
        KIND,
        H,
        [row("amartin", "CUR-SAFETY", "2025-01-06", "2025-12-31", "2025-06-30", "R")],
        options=PROPAGATE,
    )
    assert results(rep) == [("created", "")]
    dates = (date(2025, 1, 6), date(2025, 6, 30), date(2025, 12, 31))
    assert courses_of("amartin") == [
        ("SAFE-101", "recommended", *dates),
        ("SAFE-102", "recommended", *dates),
    ]
    assert set(CourseAssignment.objects.values_list("source", flat=True)) == {"import"}


def test_propagate_leaves_existing_course_assignments_without_update_existing(run_import, world):
    CourseAssignment.objects.create(
        user=world["amartin"], course=world["safety"].courses.get(code="SAFE-101"), option="free"
    )
    rep = run_import(KIND, H, [row("amartin", "CUR-SAFETY", option="M")], options=PROPAGATE)
    assert results(rep) == [("created", "")]
    assert courses_of("amartin") == [
        ("SAFE-101", "free", None, None, None),
        ("SAFE-102", "mandatory", None, None, None),
    ]


def test_propagate_with_update_existing_sets_existing_course_assignments(run_import, world):
    CourseAssignment.objects.create(
        user=world["amartin"],
        course=world["safety"].courses.get(code="SAFE-101"),
        option="free",
        end_date=date(2024, 1, 1),
        billing_code="KEPT",
    )
    existing(world, option="mandatory")
    rep = run_import(
        KIND,
        H,
        [row("amartin", "CUR-SAFETY", target="2025-03-31")],
        options={**PROPAGATE, "update_existing": "yes"},
    )
    assert results(rep) == [("updated", "")]
    # the curriculum assignment as it is after the row: its start date, the new target, no end
    carried = ("mandatory", date(2025, 1, 6), date(2025, 3, 31), None)
    assert courses_of("amartin") == [("SAFE-101", *carried), ("SAFE-102", *carried)]
    assert CourseAssignment.objects.get(course__code="SAFE-101").billing_code == "KEPT"


def test_propagate_adds_missing_course_assignments_to_an_unchanged_curriculum_assignment(
    run_import, world
):
    existing(world)
    rep = run_import(KIND, H, [row("amartin", "CUR-SAFETY", "2025-01-06")], options=PROPAGATE)
    assert results(rep) == [("updated", "")]
    assert [c[0] for c in courses_of("amartin")] == ["SAFE-101", "SAFE-102"]
    again = run_import(KIND, H, [row("amartin", "CUR-SAFETY", "2025-01-06")], options=PROPAGATE)
    assert results(again) == [("unchanged", "")]


def test_propagate_skipped_row_carries_nothing(run_import, world):
    existing(world)
    rep = run_import(KIND, H, [row("amartin", "CUR-SAFETY", "2025-03-01")], options=PROPAGATE)
    assert results(rep) == [("skipped", "already_assigned")]
    assert not CourseAssignment.objects.exists()


@pytest.mark.parametrize("batch_size", [5000, 1])
def test_two_curricula_sharing_a_course_later_row_wins_with_update_existing(
    run_import, world, settings, batch_size
):
    settings.REGISTRAR_BATCH_SIZE = batch_size
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "CUR-SAFETY", "2025-01-06", option="M"),
            row("amartin", "CUR-FIRE", "2025-02-03", option="R"),
        ],
        options={**PROPAGATE, "update_existing": "yes"},
    )
    assert results(rep) == [("created", ""), ("created", "")]
    assert [(c[0], c[1], c[2]) for c in courses_of("amartin")] == [
        ("SAFE-101", "mandatory", date(2025, 1, 6)),
        ("SAFE-102", "recommended", date(2025, 2, 3)),  # in both: the later row's values
        ("SAFE-201", "recommended", date(2025, 2, 3)),
    ]


def test_two_curricula_sharing_a_course_reimported_are_unchanged(run_import, world):
    path = run_import.file(
        H,
        [
            row("amartin", "CUR-SAFETY", "2025-01-06", option="M"),
            row("amartin", "CUR-FIRE", "2025-02-03", option="R"),
        ],
    )
    options = {**PROPAGATE, "update_existing": "yes"}
    run_import.run(KIND, path, options=options)
    after_first = state()
    again = run_import.run(KIND, path, options=options)
    assert results(again) == [("unchanged", ""), ("unchanged", "")]
    assert state() == after_first
    assert again.operation.changes.count() == 0


@pytest.mark.parametrize("batch_size", [5000, 1])
def test_two_curricula_sharing_a_course_first_row_wins_without_update_existing(
    run_import, world, settings, batch_size
):
    settings.REGISTRAR_BATCH_SIZE = batch_size
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "CUR-SAFETY", "2025-01-06", option="M"),
            row("amartin", "CUR-FIRE", "2025-02-03", option="R"),
        ],
        options=PROPAGATE,
    )
    assert results(rep) == [("created", ""), ("created", "")]
    assert [(c[0], c[1]) for c in courses_of("amartin")] == [
        ("SAFE-101", "mandatory"),
        ("SAFE-102", "mandatory"),
        ("SAFE-201", "recommended"),
    ]


def test_a_curriculum_without_courses_propagates_nothing(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "CUR-EMPTY")], options=PROPAGATE)
    assert results(rep) == [("created", "")]
    assert not CourseAssignment.objects.exists()


# §2 rules: verify-only, idempotence, undo, template ---------------------------------------------


def mixed_file(run_import):
    return run_import.file(
        H,
        [
            row("amartin", "CUR-SAFETY", "2025-01-06", "2025-12-31", "2025-06-30", "M"),
            row("bdurand", "CUR-FIRE", "2025-02-03", "", "", "recommandé"),
            row("bdurand", "CUR-LEAD"),
            row("amartin", "CUR-NOPE"),
            row("bdurand", "CUR-SAFETY", "2025-05-01", "2025-04-01"),
        ],
    )


EXPECTED = [
    ("created", ""),
    ("created", ""),
    ("rejected", "audience_mismatch"),
    ("rejected", "curriculum_not_found"),
    ("rejected", "date_order"),
]


@pytest.mark.parametrize("options", [{}, PROPAGATE])
def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, world, options):
    path = mixed_file(run_import)
    before = state()
    verified = run_import.run(KIND, path, verify_only=True, options=options)
    assert state() == before
    assert verified.operation.status == "verified"
    real = run_import.run(KIND, path, options=options)
    assert results(verified) == results(real) == EXPECTED


@pytest.mark.parametrize("options", [{}, PROPAGATE, {**PROPAGATE, "update_existing": "yes"}])
def test_importing_the_same_file_twice_changes_nothing(run_import, world, options):
    path = mixed_file(run_import)
    first = run_import.run(KIND, path, options=options)
    assert results(first) == EXPECTED
    after_first = state()
    second = run_import.run(KIND, path, options=options)
    assert results(second) == [("unchanged", "")] * 2 + EXPECTED[2:]
    assert state() == after_first


def test_undo_restores_the_database(run_import, world):
    existing(world)
    CourseAssignment.objects.create(
        user=world["amartin"], course=world["safety"].courses.get(code="SAFE-101"), option="free"
    )
    before = state()
    rep = run_import(
        KIND,
        H,
        [row("amartin", "CUR-SAFETY", target="2025-04-01", option="M"), row("bdurand", "CUR-FIRE")],
        options={**PROPAGATE, "update_existing": "yes"},
    )
    assert results(rep) == [("updated", ""), ("created", "")]
    assert state() != before
    _, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    assert state() == before


@pytest.mark.parametrize("xlsx", [False, True])
def test_template_imports_into_a_database_holding_its_identifiers(db, tmp_path, xlsx):
    f.user("amartin", email="alice.martin@example.com")
    f.user("bdurand", email="bob.durand@example.com")
    f.curriculum("CUR-SAFETY", extref="ACME-CUR-SAFETY")
    f.curriculum("CUR-ETHICS", extref="ACME-CUR-ETHICS")
    path = str(tmp_path / ("t.xlsx" if xlsx else "t.csv"))
    write_template(KIND, path)
    verified = engine.run_import(engine.Request(kind=KIND, path=path, verify_only=True))
    assert (verified.counts["rows"], verified.counts["rejected"]) == (len(KINDS[KIND].template), 0)
    first = engine.run_import(engine.Request(kind=KIND, path=path))
    assert first.counts["rejected"] == 0 and first.counts["created"] == first.counts["rows"]
    again = engine.run_import(engine.Request(kind=KIND, path=path))
    assert again.counts["unchanged"] == again.counts["rows"]
