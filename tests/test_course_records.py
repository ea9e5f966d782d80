"""course-records import (SPEC §4.2, seed 001): one test per rule."""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import xlsxwriter
from django.core.management import call_command
from django.utils import timezone

from registrar.bulk import engine
from registrar.bulk.docs import write_template
from registrar.bulk.imports import KINDS
from registrar.bulk.io.readers import FileError
from registrar.catalogue.models import CertificateTemplate, CreditType
from registrar.journal.models import ImportLock, Operation
from registrar.journal.undo import undo
from registrar.learning.models import (
    Certificate,
    CourseAssignment,
    CourseRecord,
    CreditAward,
    CurriculumRecord,
    ProgrammeRecord,
)

from . import factories as f

H = ["user", "course", "complete", "completion_date", "credit_type", "credits", "enrolled_date"]
KIND = "course-records"


@pytest.fixture
def world(db):
    f.user("amartin", email="alice.martin@example.com")
    f.user("bdurand", email="bob.durand@example.com")
    f.course("SAFE-101", "Workplace safety")
    f.course("SAFE-102", "Manual handling")
    CreditType.objects.create(name="CPD")
    CreditType.objects.create(name="AMA PRA Category 1")
    return None


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def state() -> dict:
    """Everything this import may write, for before/after comparisons."""
    return {
        m.__name__: sorted(m.objects.values_list(*fields))
        for m, fields in (
            (CourseAssignment, ("user__login", "course__code", "start_date", "source")),
            (
                CourseRecord,
                ("user__login", "course__code", "status", "status_date", "enrolled_date", "legacy"),
            ),
            (CreditAward, ("user__login", "course__code", "credit_type__name", "amount", "legacy")),
            (Certificate, ("user__login", "course__code", "template_version")),
            (CurriculumRecord, ("user__login", "curriculum__code", "status")),
            (ProgrammeRecord, ("user__login", "programme__code", "status")),
        )
    }


def local_day(dt) -> str:
    return timezone.localtime(dt).date().isoformat()


# The record ------------------------------------------------------------------------------------


def test_completed_row_creates_assignment_record_and_credit_award(run_import, world):
    rep = run_import(
        KIND, H, [["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "1.5", "2024-03-01"]]
    )
    assert results(rep) == [("created", "")]
    rec = CourseRecord.objects.get(user__login="amartin", course__code="SAFE-101")
    assert (rec.status, rec.completion_percent, rec.source, rec.score) == ("C", 100, "import", None)
    assert local_day(rec.status_date) == "2024-03-15"
    assert rec.enrolled_date == date(2024, 3, 1)
    a = CourseAssignment.objects.get(user__login="amartin", course__code="SAFE-101")
    assert (a.start_date, a.source) == (date(2024, 3, 1), "import")
    award = CreditAward.objects.get(user__login="amartin", course__code="SAFE-101")
    assert (award.credit_type.name, award.amount, award.awarded_on, award.source) == (
        "CPD",
        Decimal("1.5"),
        date(2024, 3, 15),
        "import",
    )


def test_incomplete_row_creates_a_not_started_enrolment(run_import, world):
    rep = run_import(KIND, H, [["amartin", "SAFE-101", "0", "", "", "", "2024/03/01"]])
    assert results(rep) == [("created", "")]
    rec = CourseRecord.objects.get()
    assert (rec.status, rec.completion_percent, rec.status_date, rec.enrolled_date) == (
        "N",
        0,
        None,
        date(2024, 3, 1),
    )
    assert CourseAssignment.objects.count() == 1 and not CreditAward.objects.exists()


def test_one_row_per_credit_type_adds_an_award_to_the_same_record(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""],
            ["amartin", "SAFE-101", "1", "2024-03-15", "AMA PRA Category 1", "2.25", ""],
        ],
    )
    assert results(rep) == [("created", ""), ("created", "")]
    assert CourseRecord.objects.count() == 1 and CourseAssignment.objects.count() == 1
    assert sorted(CreditAward.objects.values_list("credit_type__name", "amount")) == [
        ("AMA PRA Category 1", Decimal("2.25")),
        ("CPD", Decimal("1.00")),
    ]


def test_one_row_per_credit_type_works_across_batches(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""],
            [
                "alice.martin@example.com",
                "SAFE-101",
                "1",
                "2024-03-15",
                "AMA PRA Category 1",
                "2",
                "",
            ],
            ["amartin", "SAFE-101", "1", "2024-03-16", "CPD", "1", ""],
            ["ALICE.MARTIN@example.com", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""],
            ["bdurand", "SAFE-101", "0", "", "", "", ""],
            ["bdurand", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""],
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("created", ""),
        ("rejected", "duplicate_row"),  # same cells as row 2: the engine's own check
        ("rejected", "duplicate_row"),  # the same learner by email, in another batch
        ("created", ""),
        ("rejected", "record_mismatch"),  # row 6 made an enrolment, not a completion
    ]
    assert CreditAward.objects.count() == 2 and CourseRecord.objects.count() == 2


def test_the_rows_of_one_user_and_course_must_agree(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""],
            ["amartin", "SAFE-101", "1", "2024-03-20", "AMA PRA Category 1", "2", ""],
        ],
    )
    assert results(rep) == [("created", ""), ("rejected", "record_mismatch")]
    assert "completion_date disagrees with row 2" in rep.rows[1]["message"]


def test_duplicate_key_is_user_course_and_credit_type(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""],
            ["amartin", "safe-101", "1", "2024-03-15", "cpd", "1", ""],
            ["alice.martin@example.com", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""],
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "duplicate_row"),
        ("rejected", "duplicate_row"),
    ]


# Values ----------------------------------------------------------------------------------------


def test_credits_on_incomplete_are_rejected(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "SAFE-101", "0", "", "CPD", "1", ""],
            ["bdurand", "SAFE-101", "0", "", "", "1", ""],
        ],
    )
    assert results(rep) == [
        ("rejected", "credits_on_incomplete"),
        ("rejected", "credits_on_incomplete"),
    ]
    assert not CourseRecord.objects.exists() and not CreditAward.objects.exists()


def test_completion_date_on_incomplete_is_rejected(run_import, world):
    rep = run_import(KIND, H, [["amartin", "SAFE-101", "0", "2024-03-15", "", "", ""]])
    assert results(rep) == [("rejected", "completion_on_incomplete")]


@pytest.mark.parametrize(
    "row,column",
    [
        (["amartin", "SAFE-101", "1", "2024-03-15", "", "1", ""], "credit_type"),
        (["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "", ""], "credits"),
        (["amartin", "SAFE-101", "1", "", "", "", ""], "completion_date"),
        (["", "SAFE-101", "1", "2024-03-15", "", "", ""], "user"),
        (["amartin", "", "1", "2024-03-15", "", "", ""], "course"),
        (["amartin", "SAFE-101", "", "2024-03-15", "", "", ""], "complete"),
    ],
)
def test_credits_without_credit_type_and_other_missing_values(run_import, world, row, column):
    rep = run_import(KIND, H, [row])
    assert results(rep) == [("rejected", "missing_value")]
    assert f"Column {column} is required" in rep.rows[0]["message"]
    assert not CourseRecord.objects.exists()


@pytest.mark.parametrize(
    "row,code",
    [
        (["amartin", "SAFE-101", "1", "15/03/2024", "", "", ""], "invalid_date"),
        (["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "lots", ""], "invalid_number"),
        (["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "-1", ""], "invalid_number"),
        (["amartin", "SAFE-101", "maybe", "2024-03-15", "", "", ""], "invalid_choice"),
        (["amartin", "SAFE-101", "1", "2024-03-15", "", "", "March"], "invalid_date"),
    ],
)
def test_invalid_values_are_rejected(run_import, world, row, code):
    rep = run_import(KIND, H, [row])
    assert results(rep) == [("rejected", code)]


def test_future_completion_date_is_rejected(run_import, world):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    rep = run_import(KIND, H, [["amartin", "SAFE-101", "1", tomorrow, "", "", ""]])
    assert results(rep) == [("rejected", "future_date")]


def test_iso_datetime_and_slash_dates_are_accepted(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "SAFE-101", "1", "2024-06-15T14:30:00+10:00", "", "", ""],
            ["amartin", "SAFE-102", "yes", "2024/06/15", "", "", ""],
        ],
    )
    assert results(rep) == [("created", ""), ("created", "")]
    rec = CourseRecord.objects.get(course__code="SAFE-101")
    assert rec.status_date == datetime.fromisoformat("2024-06-15T14:30:00+10:00")


# References ------------------------------------------------------------------------------------


def test_user_is_found_by_login_else_by_email(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "SAFE-101", "1", "2024-03-15", "", "", ""],
            ["Bob.Durand@Example.com", "SAFE-101", "1", "2024-03-15", "", "", ""],
            ["nobody", "SAFE-101", "1", "2024-03-15", "", "", ""],
            ["nobody@example.com", "SAFE-101", "1", "2024-03-15", "", "", ""],
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("created", ""),
        ("rejected", "user_not_found"),
        ("rejected", "user_not_found"),
    ]
    assert set(CourseRecord.objects.values_list("user__login", flat=True)) == {"amartin", "bdurand"}


def test_login_wins_over_an_email_that_looks_the_same(run_import, world):
    f.user("carol@example.com", email="carol.other@example.com")
    f.user("carol", email="carol@example.com")
    rep = run_import(KIND, H, [["carol@example.com", "SAFE-101", "1", "2024-03-15", "", "", ""]])
    assert results(rep) == [("created", "")]
    assert CourseRecord.objects.get().user.login == "carol@example.com"


def test_email_shared_by_two_users_is_ambiguous(run_import, world):
    f.user("dave1", email="dave@example.com")
    f.user("dave2", email="DAVE@example.com")
    rep = run_import(KIND, H, [["dave@example.com", "SAFE-101", "1", "2024-03-15", "", "", ""]])
    assert results(rep) == [("rejected", "ambiguous_user")]


def test_user_disabled_is_rejected(run_import, world):
    f.user("erin", disabled=True)
    rep = run_import(KIND, H, [["erin", "SAFE-101", "1", "2024-03-15", "", "", ""]])
    assert results(rep) == [("rejected", "user_disabled")]


def test_user_not_in_training_is_rejected(run_import, world):
    f.user("fred", training_access=False)
    rep = run_import(KIND, H, [["fred", "SAFE-101", "1", "2024-03-15", "", "", ""]])
    assert results(rep) == [("rejected", "user_not_in_training")]


def test_out_of_scope_user_is_rejected(run_import, world):
    a = f.org("A")
    f.org("B")
    f.user("gina", organisation=a)
    rep = run_import(
        KIND,
        H,
        [
            ["gina", "SAFE-101", "1", "2024-03-15", "", "", ""],
            ["amartin", "SAFE-101", "1", "2024-03-15", "", "", ""],
        ],
        scope="A",
    )
    assert results(rep) == [("created", ""), ("rejected", "out_of_scope")]
    assert CourseRecord.objects.get().user.login == "gina"


def test_unknown_course_is_rejected(run_import, world):
    rep = run_import(KIND, H, [["amartin", "NOPE", "1", "2024-03-15", "", "", ""]])
    assert results(rep) == [("rejected", "course_not_found")]


def test_unpublished_course_takes_historical_records(run_import, world):
    f.course("OLD-1", published=False, disabled=True)
    rep = run_import(KIND, H, [["amartin", "OLD-1", "1", "2019-03-15", "", "", ""]])
    assert results(rep) == [("created", "")]


def test_unknown_credit_type_is_rejected(run_import, world):
    rep = run_import(KIND, H, [["amartin", "SAFE-101", "1", "2024-03-15", "CME", "1", ""]])
    assert results(rep) == [("rejected", "credit_type_not_found")]
    assert not CourseRecord.objects.exists()


def test_credit_type_is_matched_case_insensitively(run_import, world):
    rep = run_import(KIND, H, [["amartin", "SAFE-101", "1", "2024-03-15", "cpd", "1", ""]])
    assert results(rep) == [("created", "")]
    assert CreditAward.objects.get().credit_type.name == "CPD"


# Never update what exists ----------------------------------------------------------------------


def completed(user, course, day="2024-03-15", **kw):
    when = timezone.make_aware(datetime.fromisoformat(day))
    return CourseRecord.objects.create(
        user=user, course=course, status="C", status_date=when, completion_percent=100, **kw
    )


def test_an_existing_record_that_differs_is_record_exists(run_import, world):
    alice = f.user("alice2")
    c1 = f.course("C1")
    c2 = f.course("C2")
    completed(alice, c1, "2024-01-10", legacy=True)
    started = CourseRecord.objects.create(user=alice, course=c2, status="I", completion_percent=40)
    before = state()
    rep = run_import(
        KIND,
        H,
        [
            ["alice2", "C1", "1", "2024-03-15", "", "", ""],  # another completion date
            ["alice2", "C2", "1", "2024-03-15", "", "", ""],  # in progress, not completed
        ],
    )
    assert results(rep) == [("rejected", "record_exists"), ("rejected", "record_exists")]
    assert state() == before
    started.refresh_from_db()
    assert (started.status, started.completion_percent) == ("I", 40)


def test_an_existing_record_that_says_the_same_is_unchanged(run_import, world):
    alice = f.user("alice2")
    c1 = f.course("C1")
    c2 = f.course("C2")
    completed(alice, c1, "2024-03-15", legacy=True, enrolled_date=date(2024, 3, 1))
    CourseAssignment.objects.create(user=alice, course=c1, start_date=date(2024, 3, 1))
    CourseRecord.objects.create(
        user=alice, course=c2, status="I", legacy=True, enrolled_date=date(2024, 2, 1)
    )
    CourseAssignment.objects.create(user=alice, course=c2)  # no start date: nothing against
    before = state()
    rep = run_import(
        KIND,
        H,
        [
            ["alice2", "C1", "1", "2024-03-15", "", "", "2024-03-01"],
            ["alice2", "C2", "0", "", "", "", "2024-02-01"],  # not completed: in progress agrees
        ],
    )
    assert results(rep) == [("unchanged", ""), ("unchanged", "")]
    assert state() == before


def test_an_existing_record_gets_a_new_credit_award_but_an_existing_award_is_never_updated(
    run_import, world
):
    alice = f.user("alice2")
    c1 = f.course("C1")
    completed(alice, c1, "2024-03-15", legacy=True)
    CourseAssignment.objects.create(user=alice, course=c1)
    cpd = CreditType.objects.get(name="CPD")
    CreditAward.objects.create(
        user=alice,
        course=c1,
        credit_type=cpd,
        amount=Decimal("1"),
        awarded_on=date(2024, 3, 15),
        legacy=True,
    )
    rep = run_import(
        KIND,
        H,
        [
            ["alice2", "C1", "1", "2024-03-15", "CPD", "2", ""],  # another amount
            ["alice2", "C1", "1", "2024-03-15", "AMA PRA Category 1", "3", ""],
        ],
    )
    assert results(rep) == [("rejected", "record_exists"), ("created", "")]
    assert sorted(CreditAward.objects.values_list("credit_type__name", "amount")) == [
        ("AMA PRA Category 1", Decimal("3.00")),
        ("CPD", Decimal("1.00")),
    ]
    assert CourseRecord.objects.count() == 1


def test_an_existing_assignment_is_kept_unless_its_start_date_differs(run_import, world):
    alice, bob = f.user("alice2"), f.user("bob2")
    c1 = f.course("C1")
    CourseAssignment.objects.create(user=alice, course=c1, start_date=date(2024, 1, 5))
    CourseAssignment.objects.create(user=bob, course=c1, start_date=date(2024, 1, 5))
    rep = run_import(
        KIND,
        H,
        [
            ["alice2", "C1", "1", "2024-03-15", "", "", ""],  # says nothing of the enrolment
            ["bob2", "C1", "1", "2024-03-15", "", "", "2024-02-01"],
        ],
    )
    assert results(rep) == [("created", ""), ("rejected", "record_exists")]
    assert CourseAssignment.objects.count() == 2
    assert set(CourseAssignment.objects.values_list("start_date", flat=True)) == {date(2024, 1, 5)}
    assert CourseRecord.objects.get().user == alice


def test_a_legacy_record_is_not_turned_into_an_accredited_one(run_import, world):
    path = run_import.file(H, [["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""]])
    assert results(run_import.run(KIND, path)) == [("created", "")]
    again = run_import.run(KIND, path, options={"course": "SAFE-101"})
    assert results(again) == [("rejected", "record_exists")]
    assert CourseRecord.objects.get().legacy is True


# The two importers -----------------------------------------------------------------------------


def test_global_importer_flags_records_and_credit_awards_legacy(run_import, world):
    rep = run_import(KIND, H, [["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "1", ""]])
    assert results(rep) == [("created", "")]
    assert CourseRecord.objects.get().legacy is True
    assert CreditAward.objects.get().legacy is True


def test_course_level_importer_records_count_in_accreditation(run_import, world):
    rep = run_import(
        KIND,
        ["user", "complete", "completion_date", "credit_type", "credits"],
        [
            ["amartin", "1", "2024-03-15", "CPD", "1"],
            ["amartin", "1", "2024-03-15", "AMA PRA Category 1", "1"],
            ["bdurand", "0", "", "", ""],
        ],
        options={"course": "SAFE-102"},
    )
    assert results(rep) == [("created", "")] * 3
    assert set(CourseRecord.objects.values_list("course__code", "legacy")) == {("SAFE-102", False)}
    assert set(CreditAward.objects.values_list("course__code", "legacy")) == {("SAFE-102", False)}
    assert CourseRecord.objects.count() == 2 and CreditAward.objects.count() == 2


def test_course_level_importer_rejects_a_row_for_another_course(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "SAFE-102", "1", "2024-03-15", "", "", ""],
            ["bdurand", "", "1", "2024-03-15", "", "", ""],
            ["amartin", "SAFE-101", "1", "2024-03-15", "", "", ""],
        ],
        options={"course": "SAFE-102"},
    )
    assert results(rep) == [("created", ""), ("created", ""), ("rejected", "course_mismatch")]
    assert "this course-level import is for course 'SAFE-102'" in rep.rows[2]["message"]


def test_course_level_importer_names_its_course_as_every_reference_does(run_import, world):
    """Issue 11's defect: `--set course=safe-101` passed the option check (case-insensitive) and
    then every row was course_not_found (exact). One matching rule for courses now."""
    rep = run_import(
        KIND,
        ["user", "complete", "completion_date"],
        [["amartin", "1", "2024-03-15"]],
        options={"course": "safe-102"},
    )
    assert results(rep) == [("created", "")]
    assert CourseRecord.objects.get().course.code == "SAFE-102"


def test_course_level_importer_of_an_unknown_course_is_refused_before_reading(run_import, world):
    path = run_import.file(["user", "complete"], [["amartin", "0"], ["bdurand", "0"]])
    with pytest.raises(FileError) as e:
        run_import.run(KIND, path, options={"course": "NOPE"})
    assert (e.value.code, e.value.params["option"]) == ("invalid_option", "course")
    assert not CourseRecord.objects.exists()


def test_global_importer_requires_the_course_column(run_import, world):
    path = run_import.file(["user", "complete"], [["amartin", "0"]])
    with pytest.raises(FileError) as e:
        run_import.run(KIND, path)
    assert (e.value.code, e.value.params["column"]) == ("missing_column", "course")


# Certificates and roll-up ----------------------------------------------------------------------


@pytest.fixture
def certified(world):
    tpl = CertificateTemplate.objects.create(name="Acme", version=3)
    f.course("CERT-1", certificate_template=tpl)
    return tpl


def test_imported_records_get_no_certificate_by_default(run_import, certified):
    rep = run_import(KIND, H, [["amartin", "CERT-1", "1", "2024-03-15", "", "", ""]])
    assert results(rep) == [("created", "")]
    assert not Certificate.objects.exists()


def test_certificates_yes_issues_the_templates_version_for_completed_records(run_import, certified):
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "CERT-1", "1", "2024-03-15", "CPD", "1", ""],
            ["amartin", "CERT-1", "1", "2024-03-15", "AMA PRA Category 1", "1", ""],
            ["bdurand", "CERT-1", "0", "", "", "", ""],  # not completed
            ["bdurand", "SAFE-101", "1", "2024-03-15", "", "", ""],  # no template
        ],
        options={"certificates": "yes"},
    )
    assert results(rep) == [("created", "")] * 4
    cert = Certificate.objects.get()
    assert (cert.user.login, cert.course.code, cert.template, cert.template_version) == (
        "amartin",
        "CERT-1",
        certified,
        3,
    )
    assert (local_day(cert.issued_at), cert.source) == ("2024-03-15", "import")


def test_completed_records_roll_up_to_curricula_and_programmes(run_import, world):
    a, b = f.course("R-1"), f.course("R-2")
    cur = f.curriculum("CUR-R", courses=[a, b])
    f.programme("PRG-R", curricula=[cur])
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "R-1", "1", "2024-03-15", "", "", ""],
            ["amartin", "R-2", "1", "2024-03-20", "", "", ""],
            ["bdurand", "R-1", "1", "2024-03-15", "", "", ""],
            ["bdurand", "R-2", "0", "", "", "", ""],
        ],
    )
    assert results(rep) == [("created", "")] * 4
    assert list(CurriculumRecord.objects.values_list("user__login", "status")) == [("amartin", "C")]
    assert list(ProgrammeRecord.objects.values_list("user__login", "status")) == [("amartin", "C")]
    assert local_day(CurriculumRecord.objects.get().status_date) == "2024-03-20"


# §2 rules: verify-only, idempotence, undo, lock, xlsx, template ---------------------------------


def mixed_file(run_import):
    return run_import.file(
        H,
        [
            ["amartin", "SAFE-101", "1", "2024-03-15", "CPD", "1", "2024-03-01"],
            ["amartin", "SAFE-101", "1", "2024-03-15", "AMA PRA Category 1", "2", "2024-03-01"],
            ["bdurand", "SAFE-102", "0", "", "", "", ""],
            ["bdurand", "SAFE-101", "0", "", "CPD", "1", ""],
            ["nobody", "SAFE-101", "1", "2024-03-15", "", "", ""],
        ],
    )


EXPECTED = [
    ("created", ""),
    ("created", ""),
    ("created", ""),
    ("rejected", "credits_on_incomplete"),
    ("rejected", "user_not_found"),
]


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, world):
    path = mixed_file(run_import)
    before = state()
    verified = run_import.run(KIND, path, verify_only=True)
    assert state() == before
    assert verified.operation.status == "verified"
    real = run_import.run(KIND, path)
    assert results(verified) == results(real) == EXPECTED


def test_importing_the_same_file_twice_changes_nothing(run_import, world):
    path = mixed_file(run_import)
    first = run_import.run(KIND, path)
    assert results(first) == EXPECTED
    after_first = state()
    second = run_import.run(KIND, path)
    assert results(second) == [("unchanged", "")] * 3 + EXPECTED[3:]
    assert state() == after_first


def test_undo_restores_the_database(run_import, certified):
    a, b = f.course("R-1"), f.course("R-2")
    f.curriculum("CUR-R", courses=[a, b])
    alice = f.user("alice2")
    CourseAssignment.objects.create(user=alice, course=a)  # kept as it was, before and after
    before = state()
    rep = run_import(
        KIND,
        H,
        [
            ["alice2", "R-1", "1", "2024-03-15", "CPD", "1", ""],
            ["alice2", "R-2", "1", "2024-03-15", "CPD", "1", ""],
            ["amartin", "CERT-1", "1", "2024-03-15", "CPD", "1", ""],
        ],
        options={"certificates": "yes"},
    )
    assert results(rep) == [("created", "")] * 3
    assert state() != before
    assert CurriculumRecord.objects.filter(user=alice, status="C").exists()
    op, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    assert state() == before


def test_import_locked_by_a_crash_until_unlock(run_import, world):
    crashed = Operation.objects.create(kind="import", name=KIND)
    ImportLock.objects.create(kind=KIND, scope_key="*", operation=crashed)
    path = run_import.file(H, [["amartin", "SAFE-101", "1", "2024-03-15", "", "", ""]])
    with pytest.raises(FileError) as e:
        run_import.run(KIND, path)
    assert (e.value.code, e.value.params["kind"]) == ("import_locked", KIND)
    assert not CourseRecord.objects.exists()
    call_command("unlock", KIND, stdout=io.StringIO())
    crashed.refresh_from_db()
    assert crashed.status == "failed"
    rep = run_import.run(KIND, path)
    assert results(rep) == [("created", "")]


def test_xlsx_input_with_numbers_and_date_cells(run_import, world, tmp_path):
    path = str(tmp_path / "records.xlsx")
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["User Login", "Course Code", "Complete", "Completion Date"])
    sheet.write_row(0, 4, ["Credit Type", "Credits"])
    sheet.write_row(1, 0, ["amartin", "SAFE-101", 1])
    sheet.write_datetime(1, 3, datetime(2024, 3, 15), day)
    sheet.write_row(1, 4, ["CPD", 1.5])
    sheet.write_row(2, 0, ["bdurand", "SAFE-101", 0, "", "CPD", 1])
    book.close()
    rep = run_import.run(KIND, path)
    assert results(rep) == [("created", ""), ("rejected", "credits_on_incomplete")]
    assert rep.rejects_path.endswith(".xlsx")
    award = CreditAward.objects.get()
    assert (award.amount, award.awarded_on) == (Decimal("1.5"), date(2024, 3, 15))


@pytest.mark.parametrize("xlsx", [False, True])
def test_template_imports_into_a_database_holding_its_identifiers(db, tmp_path, xlsx):
    alice = f.user("amartin", email="alice.martin@example.com")
    bob = f.user("bdurand", email="bob.durand@example.com")
    safe101 = f.course("SAFE-101", "Workplace safety")
    safe102 = f.course("SAFE-102")
    CreditType.objects.create(name="CPD")
    # Assigned already, as the demo assigns everyone, without a record: the template still fits.
    for u, c in ((alice, safe102), (bob, safe101)):
        CourseAssignment.objects.create(user=u, course=c, start_date=date(2024, 1, 8))
    path = str(tmp_path / ("t.xlsx" if xlsx else "t.csv"))
    write_template(KIND, path)
    req = engine.Request(kind=KIND, path=path)
    verified = engine.run_import(engine.Request(kind=KIND, path=path, verify_only=True))
    assert (verified.counts["rows"], verified.counts["rejected"]) == (len(KINDS[KIND].template), 0)
    first = engine.run_import(req)
    assert first.counts["rejected"] == 0 and first.counts["created"] == first.counts["rows"]
    again = engine.run_import(req)
    assert again.counts["unchanged"] == again.counts["rows"]
