"""external-trainings import (SPEC §4.14, seed 003): one test per rule."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registrar.bulk.docs import write_template
from registrar.journal.undo import undo
from registrar.learning.models import ExternalTraining

from . import factories as f

H = [
    "course_name",
    "course_code",
    "passport_type",
    "start_date",
    "end_date",
    "provider",
    "duration",
    "modality",
    "learner",
    "learner_lname",
    "learner_fname",
    "action",
]


def row(**kw) -> list[str]:
    base = {
        "course_name": "First aid at work",
        "course_code": "FA-2023",
        "passport_type": "Certification",
        "start_date": "2023-03-01",
        "end_date": "2023-03-02",
        "provider": "Red Cross",
        "duration": "14 h",
        "modality": "Classroom",
        "learner": "amartin",
        "learner_lname": "Martin",
        "learner_fname": "Alice",
        "action": "",
    }
    base.update(kw)
    return [base[h] for h in H]


@pytest.fixture
def world(db):
    acme = f.org("ACME-EU")
    alice = f.user(
        "amartin", organisation=acme, extid="E1001", last_name="Martin", first_name="Alice"
    )
    f.user("bdurand", organisation=acme, extid="E1002", last_name="Durand", first_name="Bob")
    return alice


def entry(user, **kw) -> ExternalTraining:
    values = {
        "course_name": "First aid at work",
        "course_code": "FA-2023",
        "passport_type": "Certification",
        "start_date": date(2023, 3, 1),
        "end_date": date(2023, 3, 2),
        "provider": "Red Cross",
        "duration": "14 h",
        "modality": "Classroom",
    }
    values.update(kw)
    return ExternalTraining.objects.create(user=user, **values)


def results(report):
    return [(r["result"], r["codes"]) for r in report.rows]


def fields(e: ExternalTraining) -> dict:
    return {
        k: getattr(e, k)
        for k in (
            "course_name",
            "course_code",
            "passport_type",
            "start_date",
            "end_date",
            "provider",
            "duration",
            "modality",
        )
    }


def snapshot() -> list[dict]:
    return list(ExternalTraining.objects.order_by("pk").values())


# add ------------------------------------------------------------------------------------------


def test_add_creates_the_passport_entry_with_every_column(run_import, world):
    rep = run_import("external-trainings", H, [row(action="add")])
    assert results(rep) == [("created", "")]
    e = ExternalTraining.objects.get()
    assert e.user == world
    assert fields(e) == {
        "course_name": "First aid at work",
        "course_code": "FA-2023",
        "passport_type": "Certification",
        "start_date": date(2023, 3, 1),
        "end_date": date(2023, 3, 2),
        "provider": "Red Cross",
        "duration": "14 h",
        "modality": "Classroom",
    }


def test_action_is_add_by_default_and_optional_columns_may_be_empty(run_import, world):
    rep = run_import(
        "external-trainings",
        H,
        [row(course_code="", passport_type="", provider="", duration="", modality="")],
    )
    assert results(rep) == [("created", "")]
    e = ExternalTraining.objects.get()
    assert (e.course_code, e.provider, e.duration) == ("", "", "")


def test_add_of_an_identical_entry_is_unchanged(run_import, world):
    entry(world)
    rep = run_import("external-trainings", H, [row()])
    assert results(rep) == [("unchanged", "")]
    assert ExternalTraining.objects.count() == 1


def test_add_of_an_existing_entry_that_differs_updates_it(run_import, world):
    e = entry(world, provider="Old provider", end_date=date(2023, 3, 5))
    rep = run_import("external-trainings", H, [row()])
    assert results(rep) == [("updated", "")]
    e.refresh_from_db()
    assert (e.provider, e.end_date) == ("Red Cross", date(2023, 3, 2))
    assert ExternalTraining.objects.count() == 1


# identity -------------------------------------------------------------------------------------


def test_entry_is_identified_by_learner_course_code_and_start_date(run_import, world):
    entry(world, course_name="First aid (old title)")
    rep = run_import(
        "external-trainings",
        H,
        [
            row(course_code="fa-2023"),  # same code, another case and title: the same entry
            row(start_date="2024-03-01", end_date="2024-03-02"),  # another start: another entry
            row(learner="bdurand", learner_lname="", learner_fname=""),  # another learner
        ],
    )
    assert results(rep) == [("updated", ""), ("created", ""), ("created", "")]
    e = ExternalTraining.objects.get(user=world, start_date=date(2023, 3, 1))
    assert (e.course_name, e.course_code) == ("First aid at work", "fa-2023")
    assert ExternalTraining.objects.count() == 3


def test_without_a_code_the_entry_is_identified_by_its_name(run_import, world):
    entry(world, course_code="", course_name="First  Aid at WORK")
    entry(world, course_code="OTHER", course_name="First aid at work")
    rep = run_import("external-trainings", H, [row(course_code="", provider="New provider")])
    assert results(rep) == [("updated", "")]
    assert ExternalTraining.objects.get(course_code="").provider == "New provider"
    assert ExternalTraining.objects.get(course_code="OTHER").provider == "Red Cross"


def test_a_row_with_a_code_gives_it_to_the_entry_of_the_same_name_without_one(run_import, world):
    e = entry(world, course_code="")
    rep = run_import("external-trainings", H, [row()])
    assert results(rep) == [("updated", "")]
    e.refresh_from_db()
    assert e.course_code == "FA-2023"
    assert ExternalTraining.objects.count() == 1


def test_two_entries_matching_one_row_are_ambiguous(run_import, world):
    entry(world)
    entry(world, provider="Copy made by hand")
    rep = run_import("external-trainings", H, [row(action="delete")])
    assert results(rep) == [("rejected", "ambiguous_training")]
    assert ExternalTraining.objects.count() == 2


# update and delete ---------------------------------------------------------------------------


def test_update_changes_an_existing_entry(run_import, world):
    e = entry(world, duration="2 days")
    rep = run_import("external-trainings", H, [row(action="update")])
    assert results(rep) == [("updated", "")]
    e.refresh_from_db()
    assert e.duration == "14 h"


def test_update_of_a_missing_entry_is_rejected_with_training_not_found(run_import, world):
    rep = run_import("external-trainings", H, [row(action="update")])
    assert results(rep) == [("rejected", "training_not_found")]
    assert "'FA-2023' starting 2023-03-01" in rep.rows[0]["message"]
    assert not ExternalTraining.objects.exists()


def test_delete_removes_the_entry(run_import, world):
    entry(world)
    other = entry(world, course_code="OTHER")
    rep = run_import("external-trainings", H, [row(action="delete")])
    assert results(rep) == [("deleted", "")]
    assert rep.counts["deleted"] == 1
    assert list(ExternalTraining.objects.all()) == [other]


def test_delete_of_a_missing_entry_is_skipped(run_import, world):
    rep = run_import("external-trainings", H, [row(action="delete")])
    assert results(rep) == [("skipped", "not_in_passport")]


def test_french_actions_are_accepted(run_import, world):
    entry(world, course_code="A")
    entry(world, course_code="B")
    rep = run_import(
        "external-trainings",
        H,
        [
            row(course_code="A", action="Suppression"),
            row(course_code="B", action="modification", provider="X"),
            row(course_code="C", action="AJOUT"),
        ],
    )
    assert results(rep) == [("deleted", ""), ("updated", ""), ("created", "")]
    assert sorted(ExternalTraining.objects.values_list("course_code", "provider")) == [
        ("B", "X"),
        ("C", "Red Cross"),
    ]


def test_unknown_action_is_rejected(run_import, world):
    rep = run_import("external-trainings", H, [row(action="remove")])
    assert results(rep) == [("rejected", "invalid_choice")]


def test_an_empty_cell_empties_the_field_unless_update_info_if_present(run_import, world):
    e = entry(world)
    path = run_import.file(H, [row(provider="", modality="")])
    kept = run_import.run("external-trainings", path, options={"update_info_if_present": "yes"})
    assert results(kept) == [("unchanged", "")]
    emptied = run_import.run("external-trainings", path)
    assert results(emptied) == [("updated", "")]
    e.refresh_from_db()
    assert (e.provider, e.modality, e.duration) == ("", "", "14 h")


def test_a_column_the_file_lacks_is_left_as_it_is(run_import, world):
    e = entry(world, provider="Red Cross", modality="Blended")
    header = [h for h in H if h not in ("provider", "modality")]
    values = dict(zip(H, row(duration="3 h"), strict=True))
    rep = run_import("external-trainings", header, [[values[h] for h in header]])
    assert results(rep) == [("updated", "")]
    e.refresh_from_db()
    assert (e.provider, e.modality, e.duration) == ("Red Cross", "Blended", "3 h")


# learner ---------------------------------------------------------------------------------------


def test_learner_is_a_login_or_else_an_external_id(run_import, world):
    rep = run_import(
        "external-trainings",
        H,
        [row(learner="amartin"), row(learner="E1002", learner_lname="Durand", learner_fname="Bob")],
    )
    assert results(rep) == [("created", ""), ("created", "")]
    assert set(ExternalTraining.objects.values_list("user__login", flat=True)) == {
        "amartin",
        "bdurand",
    }


def test_a_login_that_is_another_users_external_id_is_ambiguous(run_import, world):
    f.user("E1001")  # a login equal to Alice's extid
    rep = run_import("external-trainings", H, [row(learner="E1001")])
    assert results(rep) == [("rejected", "ambiguous_user")]
    assert "2 users match 'E1001'" in rep.rows[0]["message"]


def test_a_value_that_is_one_users_login_and_extid_is_that_user(run_import, world):
    f.user("SELF", extid="SELF", last_name="Martin", first_name="Alice")
    rep = run_import("external-trainings", H, [row(learner="SELF")])
    assert results(rep) == [("created", "")]


def test_unknown_learner_is_rejected(run_import, world):
    rep = run_import("external-trainings", H, [row(learner="nobody")])
    assert results(rep) == [("rejected", "user_not_found")]


def test_learner_names_must_match_ignoring_case_accents_and_spaces(run_import, world):
    f.user("hlefevre", last_name="Lefèvre", first_name="Hélène")
    rep = run_import(
        "external-trainings",
        H,
        [
            row(learner="hlefevre", learner_lname=" LEFEVRE ", learner_fname="helene"),
            row(learner="amartin", learner_lname="Durand", learner_fname="Alice"),
            row(learner="amartin", course_code="X", learner_lname="", learner_fname="Bob"),
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "learner_name_mismatch"),
        ("rejected", "learner_name_mismatch"),
    ]
    assert "is named 'Martin', not 'Durand' (learner_lname)" in rep.rows[1]["message"]


def test_disabled_learner_and_learner_without_training_access_are_accepted(run_import, world):
    f.user("gone", disabled=True, last_name="Gone", first_name="Test")
    f.user("office", training_access=False, last_name="Office", first_name="Test")
    rep = run_import(
        "external-trainings",
        H,
        [
            row(learner="gone", learner_lname="", learner_fname=""),
            row(learner="office", learner_lname="", learner_fname=""),
        ],
    )
    assert results(rep) == [("created", ""), ("created", "")]


def test_out_of_scope_learner_is_rejected(run_import, world):
    f.user("zed", organisation=f.org("OTHER"))
    rep = run_import(
        "external-trainings",
        H,
        [row(learner="zed", learner_lname="", learner_fname=""), row()],
        scope="ACME-EU",
    )
    assert results(rep) == [("rejected", "out_of_scope"), ("created", "")]


# values ----------------------------------------------------------------------------------------


def test_end_date_before_start_date_is_rejected_with_a_clear_message(run_import, world):
    rep = run_import("external-trainings", H, [row(start_date="2023-03-05", end_date="2023/03/01")])
    assert results(rep) == [("rejected", "end_before_start")]
    assert rep.rows[0]["message"] == (
        "Column end_date: the end date 2023-03-01 is before the start date 2023-03-05"
    )


def test_a_one_day_training_may_end_on_its_start_date(run_import, world):
    rep = run_import("external-trainings", H, [row(end_date="2023-03-01")])
    assert results(rep) == [("created", "")]


@pytest.mark.parametrize(
    "kw,code",
    [
        ({"course_name": ""}, "missing_value"),
        ({"start_date": ""}, "missing_value"),
        ({"end_date": ""}, "missing_value"),
        ({"learner": ""}, "missing_value"),
        ({"start_date": "01/03/2023"}, "invalid_date"),
        ({"end_date": "March 2023"}, "invalid_date"),
        ({"course_code": "x" * 101}, "value_too_long"),
    ],
)
def test_invalid_values_are_rejected(run_import, world, kw, code):
    rep = run_import("external-trainings", H, [row(**kw)])
    assert results(rep) == [("rejected", code)]
    assert not ExternalTraining.objects.exists()


def test_future_dates_are_rejected(run_import, world):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    rep = run_import("external-trainings", H, [row(end_date=tomorrow)])
    assert results(rep) == [("rejected", "future_date")]


def test_vendor_and_french_headers_are_accepted(run_import, world):
    header = [
        "Nom du cours",
        "code_cours",
        "Type de passeport",
        "Date début",
        "Date fin",
        "Fournisseur",
        "Durée",
        "Modalité",
        "Apprenant",
        "Nom apprenant",
        "Prénom apprenant",
        "Action",
    ]
    rep = run_import("external-trainings", header, [row(action="ajout")])
    assert results(rep) == [("created", "")]
    assert fields(ExternalTraining.objects.get())["modality"] == "Classroom"


def test_duplicate_row_rejects_the_later_row(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 2
    rep = run_import(
        "external-trainings",
        H,
        [
            row(),
            row(course_code="OTHER"),
            row(learner="E1001", course_code="fa-2023", action="delete"),  # the first, spelt anew
        ],
    )
    assert results(rep) == [("created", ""), ("created", ""), ("rejected", "duplicate_row")]
    assert "row 2" in rep.rows[2]["message"]


def test_two_rows_reaching_one_existing_entry_are_duplicates(run_import, world):
    entry(world, course_code="")
    rep = run_import("external-trainings", H, [row(course_code=""), row()])
    assert results(rep) == [("unchanged", ""), ("rejected", "duplicate_row")]


# engine rules ----------------------------------------------------------------------------------


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, world):
    entry(world, course_code="UPD", provider="Old")
    entry(world, course_code="DEL")
    path = run_import.file(
        H,
        [
            row(),
            row(course_code="UPD"),
            row(course_code="DEL", action="delete"),
            row(course_code="NONE", action="update"),
        ],
    )
    before = snapshot()
    verified = run_import.run("external-trainings", path, verify_only=True)
    assert snapshot() == before
    real = run_import.run("external-trainings", path)
    assert (
        results(verified)
        == results(real)
        == [
            ("created", ""),
            ("updated", ""),
            ("deleted", ""),
            ("rejected", "training_not_found"),
        ]
    )


def test_importing_the_same_file_twice_changes_nothing(run_import, world):
    entry(world, course_code="UPD", provider="Old")
    entry(world, course_code="DEL")
    path = run_import.file(
        H,
        [
            row(),
            row(course_code="UPD"),
            row(course_code="DEL", action="delete"),
            row(learner="nobody"),
        ],
    )
    run_import.run("external-trainings", path)
    before = snapshot()
    second = run_import.run("external-trainings", path)
    assert results(second) == [
        ("unchanged", ""),
        ("unchanged", ""),
        ("skipped", "not_in_passport"),
        ("rejected", "user_not_found"),
    ]
    assert snapshot() == before


def test_undo_restores_added_updated_and_deleted_entries(run_import, world):
    entry(world, course_code="UPD", provider="Old")
    entry(world, course_code="DEL", passport_type="Licence", duration="1 h")
    before = snapshot()
    rep = run_import(
        "external-trainings",
        H,
        [row(), row(course_code="UPD"), row(course_code="DEL", action="delete")],
    )
    assert (rep.counts["created"], rep.counts["updated"], rep.counts["deleted"]) == (1, 1, 1)
    op, conflicts = undo(rep.operation.pk)
    assert (op.status, conflicts) == ("done", [])
    after = snapshot()
    for x in before + after:
        x.pop("op")
    assert after == [{k: v for k, v in x.items()} for x in before]


def test_template_imports_cleanly(run_import, world, tmp_path):
    path = str(tmp_path / "external-trainings-template.csv")
    write_template("external-trainings", path)
    first = run_import.run("external-trainings", path)
    assert results(first) == [("created", ""), ("created", "")]
    again = run_import.run("external-trainings", path)
    assert results(again) == [("unchanged", ""), ("unchanged", "")]


def test_queries_do_not_grow_with_the_number_of_rows(run_import, world):
    def queries(n: int, prefix: str) -> int:
        rows = []
        for i in range(n):
            u = f.user(f"{prefix}{i}", extid=f"{prefix}-E{i}")
            entry(u, course_code="UPD", provider="Old")
            entry(u, course_code="DEL")
            common = {"learner_lname": "", "learner_fname": ""}
            rows += [
                row(learner=u.login, **common),
                row(learner=f"{prefix}-E{i}", course_code="UPD", **common),
                row(learner=u.login, course_code="DEL", action="delete", **common),
            ]
        rows.append(row(learner="nobody"))
        path = run_import.file(H, rows)
        with CaptureQueriesContext(connection) as ctx:
            rep = run_import.run("external-trainings", path)
        assert (rep.counts["created"], rep.counts["updated"], rep.counts["deleted"]) == (n, n, n)
        return len(ctx.captured_queries)

    assert queries(5, "small") == queries(40, "large")


def test_names_are_folded_alike_on_the_plain_text_path():
    """fold's shortcut for plain ASCII gives what the full Unicode folding gives."""
    import random
    import unicodedata

    from registrar.bulk.imports.external_trainings import fold

    def full(s):
        bare = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
        return " ".join(bare.casefold().split())

    rng = random.Random(15)
    cells = [
        "".join(chr(rng.randrange(128)) for _ in range(rng.randrange(12))) for _ in range(5000)
    ]
    cells += [chr(i) * 3 for i in range(128)] + ["  Safety   FIRST ", "A\x1cb\tC"]
    assert [fold(s) for s in cells] == [full(s) for s in cells]
    assert fold("Sécurité  INCENDIE") == "securite incendie"
