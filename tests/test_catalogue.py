"""catalogue import (SPEC §4.7): one test per rule."""

import uuid
from decimal import Decimal

from registrar.catalogue.models import (
    Category,
    Course,
    CourseCredit,
    CreditType,
    Curriculum,
    CurriculumCourse,
    Folder,
    Lesson,
    Programme,
    ProgrammeCurriculum,
)

from . import factories as f

MODELS = [
    Programme,
    Curriculum,
    Course,
    Lesson,
    ProgrammeCurriculum,
    CurriculumCourse,
    CourseCredit,
    CreditType,
    Category,
    Folder,
]


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def snapshot() -> dict:
    """Every catalogue table, without the `op` column (which records the last writer)."""
    out = {}
    for m in MODELS:
        rows = [{k: v for k, v in x.items() if k != "op"} for x in m._base_manager.values()]
        out[m._meta.label] = sorted(rows, key=lambda x: x["id"])
    return out


def codes_of(qs) -> set[str]:
    return set(qs.values_list("code", flat=True))


def run(run_import, rows, **kw):
    return run_import.dicts("catalogue", rows, **kw)


FULL = [
    {"type": "programme", "code": "PRG", "title": "Compliance", "published": "1"},
    {"type": "curriculum", "code": "CUR1", "title": "Safety", "parent_codes": "PRG"},
    {"type": "curriculum", "code": "CUR2", "title": "Health", "parent_codes": "PRG"},
    {
        "type": "course",
        "code": "SAFE-201",
        "title": "Fire safety",
        "parent_codes": "CUR1||CUR2",
        "published": "1",
        "category": "Safety",
        "folder": "Compliance/Safety",
        "credits": "CPD:1.5",
        "modality": "e-learning",
        "provider": "Acme",
        "extref": "EXT-201",
        "description": "All about fire",
        "uuid": "6f1c1c8e-3f6a-4b8e-9d8e-2f1a0b6c7d01",
    },
    {
        "type": "lesson",
        "code": "SAFE-201-L1",
        "title": "Basics",
        "parent_codes": "SAFE-201",
        "lesson_type": "L",
    },
    {
        "type": "lesson",
        "code": "SAFE-201-L2",
        "title": "Webinar",
        "parent_codes": "SAFE-201",
        "lesson_type": "w",
    },
]


def test_items_are_created_with_their_links(run_import, db):
    rep = run(run_import, FULL)
    assert results(rep) == [
        ("created", ""),
        ("created", ""),
        ("created", ""),
        ("created", "credit_type_created"),
        ("created", ""),
        ("created", ""),
    ]
    assert rep.counts["created"] == 6 and rep.counts["rejected"] == 0
    assert codes_of(Programme.objects.get(code="PRG").curricula.all()) == {"CUR1", "CUR2"}
    course = Course.objects.get(code="SAFE-201")
    assert codes_of(course.curricula.all()) == {"CUR1", "CUR2"}
    assert (course.title, course.published, course.disabled) == ("Fire safety", True, False)
    assert (course.modality, course.provider, course.extref, course.description) == (
        "e-learning",
        "Acme",
        "EXT-201",
        "All about fire",
    )
    lessons = {x.code: (x.course_id, x.lesson_type, x.title) for x in Lesson.objects.all()}
    assert lessons == {
        "SAFE-201-L1": (course.pk, "L", "Basics"),
        "SAFE-201-L2": (course.pk, "W", "Webinar"),
    }
    assert ProgrammeCurriculum.objects.count() == 2 and CurriculumCourse.objects.count() == 2


def test_links_to_items_already_in_the_platform(run_import, db):
    p = f.programme("PRG")
    c = f.curriculum("CUR")
    k = f.course("K")
    rep = run(
        run_import,
        [
            {"type": "curriculum", "code": "NEWCUR", "title": "New", "parent_codes": "PRG"},
            {"type": "course", "code": "NEWK", "title": "New", "parent_codes": "CUR||NEWCUR"},
            {
                "type": "lesson",
                "code": "NEWL",
                "title": "New",
                "parent_codes": "K",
                "lesson_type": "E",
            },
        ],
    )
    assert results(rep) == [("created", "")] * 3
    assert codes_of(p.curricula.all()) == {"NEWCUR"}
    assert codes_of(Course.objects.get(code="NEWK").curricula.all()) == {"CUR", "NEWCUR"}
    assert codes_of(c.courses.all()) == {"NEWK"}
    assert Lesson.objects.get(code="NEWL").course_id == k.pk


def test_parents_may_come_later_in_the_file_than_children(run_import, db):
    rep = run(run_import, list(reversed(FULL)))
    assert [r for r, _ in results(rep)] == ["created"] * 6
    assert codes_of(Course.objects.get(code="SAFE-201").curricula.all()) == {"CUR1", "CUR2"}
    assert codes_of(Programme.objects.get(code="PRG").curricula.all()) == {"CUR1", "CUR2"}
    assert Lesson.objects.filter(course__code="SAFE-201").count() == 2


def test_unknown_parent_is_rejected_parent_not_found(run_import, db):
    f.curriculum("CUR")
    rep = run(
        run_import,
        [
            {"type": "course", "code": "K1", "title": "K1", "parent_codes": "CUR||NOPE"},
            {"type": "curriculum", "code": "C1", "title": "C1", "parent_codes": "NOPE"},
            {
                "type": "lesson",
                "code": "L1",
                "title": "L1",
                "parent_codes": "NOPE",
                "lesson_type": "L",
            },
            # a parent of the wrong type is not a parent: CUR is a curriculum, not a course
            {
                "type": "lesson",
                "code": "L2",
                "title": "L2",
                "parent_codes": "CUR",
                "lesson_type": "L",
            },
        ],
    )
    assert results(rep) == [("rejected", "parent_not_found")] * 4
    assert "NOPE" in rep.rows[0]["message"]
    assert not Course.objects.exists() and not Lesson.objects.exists()
    assert Curriculum.objects.count() == 1


def test_a_parent_whose_own_row_is_rejected_is_not_found(run_import, db):
    f.course("TAKEN", uuid=uuid.UUID("11111111-1111-4111-8111-111111111111"))
    rep = run(
        run_import,
        [
            # rejected while reading the cell, so its children and grandchildren are orphans
            {"type": "programme", "code": "PRG", "title": "P", "uuid": "not-a-uuid"},
            {"type": "curriculum", "code": "CUR", "title": "C", "parent_codes": "PRG"},
            {"type": "course", "code": "K1", "title": "K", "parent_codes": "CUR"},
            {
                "type": "lesson",
                "code": "L1",
                "title": "L",
                "parent_codes": "K1",
                "lesson_type": "L",
            },
            # rejected while planning (uuid of another item): its lesson is an orphan too
            {
                "type": "course",
                "code": "K2",
                "title": "K",
                "uuid": "11111111-1111-4111-8111-111111111111",
            },
            {
                "type": "lesson",
                "code": "L2",
                "title": "L",
                "parent_codes": "K2",
                "lesson_type": "L",
            },
        ],
    )
    assert results(rep) == [
        ("rejected", "invalid_identifier"),
        ("rejected", "parent_not_found"),
        ("rejected", "parent_not_found"),
        ("rejected", "parent_not_found"),
        ("rejected", "uuid_in_use"),
        ("rejected", "parent_not_found"),
    ]
    assert Course.objects.count() == 1 and not Programme.objects.exists()
    assert not Curriculum.objects.exists() and not Lesson.objects.exists()


def test_a_lesson_needs_exactly_one_course(run_import, db):
    f.course("K1")
    f.course("K2")
    rep = run(
        run_import,
        [
            {
                "type": "lesson",
                "code": "L0",
                "title": "none",
                "parent_codes": "",
                "lesson_type": "L",
            },
            {
                "type": "lesson",
                "code": "L2",
                "title": "two",
                "parent_codes": "K1||K2",
                "lesson_type": "L",
            },
            {
                "type": "lesson",
                "code": "L1",
                "title": "one",
                "parent_codes": "K1",
                "lesson_type": "L",
            },
        ],
    )
    assert results(rep) == [
        ("rejected", "parent_not_found"),
        ("rejected", "parent_not_found"),
        ("created", ""),
    ]
    assert list(Lesson.objects.values_list("code", flat=True)) == ["L1"]


def test_a_new_lesson_without_lesson_type_is_a_lesson_l(run_import, db):
    """SPEC §4.7 does not require lesson_type: a new lesson defaults to L (lesson), an existing
    one keeps its type, and a type that is not A, L, W, T or E is still refused."""
    course = f.course("K1")
    Lesson.objects.create(course=course, code="OLD", title="old", lesson_type="W")
    rep = run(
        run_import,
        [
            {
                "type": "lesson",
                "code": "L0",
                "title": "no type",
                "parent_codes": "K1",
                "lesson_type": "",
            },
            {
                "type": "lesson",
                "code": "L1",
                "title": "bad type",
                "parent_codes": "K1",
                "lesson_type": "Z",
            },
            {
                "type": "lesson",
                "code": "L2",
                "title": "ok",
                "parent_codes": "K1",
                "lesson_type": "T",
            },
            {"type": "lesson", "code": "OLD", "title": "old", "parent_codes": "K1"},
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "invalid_choice"),
        ("created", ""),
        ("unchanged", ""),
    ]
    types = dict(Lesson.objects.values_list("code", "lesson_type"))
    assert types == {"L0": "L", "L2": "T", "OLD": "W"}


def test_a_lesson_type_column_absent_from_the_file_makes_lessons_l(run_import, db):
    f.course("K1")
    rep = run_import(
        "catalogue", ["type", "code", "title", "parent_codes"], [["lesson", "L9", "x", "K1"]]
    )
    assert results(rep) == [("created", "")]
    assert Lesson.objects.get(code="L9").lesson_type == "L"


def test_a_programme_has_no_parent(run_import, db):
    f.programme("OTHER")
    rep = run(
        run_import, [{"type": "programme", "code": "P", "title": "P", "parent_codes": "OTHER"}]
    )
    assert results(rep) == [("rejected", "parent_not_found")]


def test_given_uuid_is_stored(run_import, db):
    u1, u2 = uuid.uuid4(), uuid.uuid4()
    rep = run(
        run_import,
        [
            {"type": "course", "code": "K", "title": "K", "uuid": str(u1).upper()},
            {
                "type": "lesson",
                "code": "L",
                "title": "L",
                "parent_codes": "K",
                "lesson_type": "L",
                "uuid": str(u2),
            },
            {"type": "programme", "code": "P", "title": "P", "uuid": ""},
        ],
    )
    assert [r for r, _ in results(rep)] == ["created"] * 3
    assert Course.objects.get(code="K").uuid == u1
    assert Lesson.objects.get(code="L").uuid == u2
    assert Programme.objects.get(code="P").uuid is not None  # generated when empty


def test_invalid_uuid_is_rejected_invalid_identifier(run_import, db):
    rep = run(run_import, [{"type": "course", "code": "K", "title": "K", "uuid": "1234-nope"}])
    assert results(rep) == [("rejected", "invalid_identifier")]
    assert not Course.objects.exists()


def test_uuid_of_another_item_is_rejected_uuid_in_use(run_import, db):
    u, fresh = uuid.uuid4(), uuid.uuid4()
    f.course("K", uuid=u)
    rep = run(
        run_import,
        [
            {"type": "course", "code": "OTHER", "title": "x", "uuid": str(u)},
            {"type": "programme", "code": "K", "title": "same code, other type", "uuid": str(u)},
            {"type": "course", "code": "K", "title": "itself", "uuid": str(u)},
            {"type": "course", "code": "NEW1", "title": "x", "uuid": str(fresh)},
            {
                "type": "curriculum",
                "code": "NEW2",
                "title": "same uuid earlier in the file",
                "uuid": str(fresh),
            },
        ],
    )
    assert results(rep) == [
        ("rejected", "uuid_in_use"),
        ("rejected", "uuid_in_use"),
        ("updated", ""),
        ("created", ""),
        ("rejected", "uuid_in_use"),
    ]
    assert Course.objects.get(code="K").title == "itself"
    assert Course.objects.get(code="NEW1").uuid == fresh
    assert not Programme.objects.exists() and not Curriculum.objects.exists()


def test_published_and_disabled_flags(run_import, db):
    rep = run(
        run_import,
        [
            {"type": "course", "code": "A", "title": "A", "published": "1", "disabled": "0"},
            {"type": "course", "code": "B", "title": "B", "published": "no", "disabled": "yes"},
            {"type": "course", "code": "C", "title": "C", "published": "", "disabled": ""},
            {"type": "course", "code": "D", "title": "D", "published": "maybe", "disabled": ""},
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("created", ""),
        ("created", ""),
        ("rejected", "invalid_choice"),
    ]
    flags = dict(
        (c, (p, d)) for c, p, d in Course.objects.values_list("code", "published", "disabled")
    )
    assert flags == {"A": (True, False), "B": (False, True), "C": (False, False)}
    rep = run(
        run_import,
        [{"type": "course", "code": "A", "title": "A", "published": "0", "disabled": "1"}],
    )
    assert results(rep) == [("updated", "")]
    assert Course.objects.filter(code="A", published=False, disabled=True).exists()


def test_category_and_folder_are_created_when_new(run_import, db):
    safety = Category.objects.create(name="Safety")
    comp = Folder.objects.create(name="Compliance", path="Compliance")
    rep = run(
        run_import,
        [
            {
                "type": "course",
                "code": "A",
                "title": "A",
                "category": "Safety",
                "folder": "Compliance/Safety/Fire",
            },
            {
                "type": "course",
                "code": "B",
                "title": "B",
                "category": "Health",
                "folder": " Compliance / Safety ",
            },
            {
                "type": "course",
                "code": "C",
                "title": "C",
                "category": "Health",
                "folder": "HR/Onboarding",
            },
            {
                "type": "programme",
                "code": "P",
                "title": "P",
                "category": "Health",
                "folder": "Compliance",
            },
        ],
    )
    assert [r for r, _ in results(rep)] == ["created"] * 4
    folders = {x.path: (x.name, x.parent.path if x.parent else None) for x in Folder.objects.all()}
    assert folders == {
        "Compliance": ("Compliance", None),
        "Compliance/Safety": ("Safety", "Compliance"),
        "Compliance/Safety/Fire": ("Fire", "Compliance/Safety"),
        "HR": ("HR", None),
        "HR/Onboarding": ("Onboarding", "HR"),
    }
    assert Folder.objects.get(path="Compliance").pk == comp.pk
    assert sorted(Category.objects.values_list("name", flat=True)) == ["Health", "Safety"]
    got = {
        c.code: (c.category.name, c.folder.path)
        for c in Course.objects.select_related("category", "folder")
    }
    assert got == {
        "A": ("Safety", "Compliance/Safety/Fire"),
        "B": ("Health", "Compliance/Safety"),
        "C": ("Health", "HR/Onboarding"),
    }
    assert Course.objects.get(code="A").category_id == safety.pk
    p = Programme.objects.get(code="P")
    assert (p.category.name, p.folder_id) == ("Health", comp.pk)


def test_credits_create_course_credit_rows(run_import, db):
    ama = CreditType.objects.create(name="AMA PRA Category 1")
    rep = run(
        run_import,
        [
            {
                "type": "course",
                "code": "A",
                "title": "A",
                "credits": "CPD:1.5||AMA PRA Category 1:2",
            },
            {"type": "course", "code": "B", "title": "B", "credits": "AMA PRA Category 1:0.5"},
            {"type": "course", "code": "C", "title": "C", "credits": "CPD:3"},
        ],
    )
    assert results(rep) == [
        ("created", "credit_type_created"),
        ("created", ""),
        ("created", "credit_type_created"),
    ]
    assert rep.counts["warnings"] == 2
    assert CreditType.objects.filter(name="CPD").count() == 1
    credits = {
        (c.course.code, c.credit_type.name): c.amount
        for c in CourseCredit.objects.select_related("course", "credit_type")
    }
    assert credits == {
        ("A", "CPD"): Decimal("1.5"),
        ("A", "AMA PRA Category 1"): Decimal("2"),
        ("B", "AMA PRA Category 1"): Decimal("0.5"),
        ("C", "CPD"): Decimal("3"),
    }
    assert CourseCredit.objects.filter(credit_type=ama).count() == 2
    # a changed amount updates the award row, a new type adds one
    rep = run(
        run_import,
        [{"type": "course", "code": "A", "title": "A", "credits": "CPD:2||AMA PRA Category 1:2"}],
    )
    assert results(rep) == [("updated", "")]
    assert CourseCredit.objects.get(course__code="A", credit_type__name="CPD").amount == Decimal(
        "2"
    )
    assert CourseCredit.objects.count() == 4


def test_credits_with_a_bad_amount_are_rejected(run_import, db):
    rep = run(
        run_import,
        [
            {"type": "course", "code": "A", "title": "A", "credits": "CPD:lots"},
            {"type": "course", "code": "B", "title": "B", "credits": "CPD"},
        ],
    )
    assert results(rep) == [("rejected", "invalid_number"), ("rejected", "invalid_number")]
    assert not CreditType.objects.exists() and not Course.objects.exists()


def test_credits_on_a_non_course_are_rejected(run_import, db):
    f.course("K")
    rep = run(
        run_import,
        [
            {"type": "programme", "code": "P", "title": "P", "credits": "CPD:1"},
            {"type": "curriculum", "code": "C", "title": "C", "credits": "CPD:1"},
            {
                "type": "lesson",
                "code": "L",
                "title": "L",
                "parent_codes": "K",
                "lesson_type": "L",
                "credits": "CPD:1",
            },
        ],
    )
    assert results(rep) == [("rejected", "invalid_choice")] * 3
    assert "credits" in rep.rows[0]["message"]
    assert not CreditType.objects.exists() and not CourseCredit.objects.exists()
    assert not Programme.objects.exists() and not Lesson.objects.exists()


def test_title_update_is_reported_updated(run_import, db):
    run(run_import, FULL)
    changed = [
        dict(r, title=r["title"] + " (v2)") if r["type"] in ("course", "lesson") else r
        for r in FULL
    ]
    rep = run(run_import, changed)
    assert results(rep) == [("unchanged", "")] * 3 + [("updated", "")] * 3
    assert Course.objects.get(code="SAFE-201").title == "Fire safety (v2)"
    assert Lesson.objects.get(code="SAFE-201-L1").title == "Basics (v2)"
    assert Programme.objects.get(code="PRG").title == "Compliance"


def test_importing_the_same_file_twice_changes_nothing(run_import, db):
    rows = [
        *FULL,
        {
            "type": "course",
            "code": "SPACED",
            "title": "x",
            "folder": " HR / Onboarding ",
            "parent_codes": " CUR1 ",
        },
        {"type": "course", "code": "BAD", "title": "x", "parent_codes": "NOPE"},
        {"type": "lesson", "code": "NOTYPE", "title": "x", "parent_codes": "SAFE-201"},
    ]
    path = run_import.file(
        list(dict.fromkeys(k for r in rows for k in r)),
        [[r.get(h, "") for h in dict.fromkeys(k for r in rows for k in r)] for r in rows],
    )
    first = run_import.run("catalogue", path)
    assert [r for r, _ in results(first)] == ["created"] * 7 + ["rejected", "created"]
    before = snapshot()
    second = run_import.run("catalogue", path)
    assert results(second) == [("unchanged", "")] * 7 + [
        ("rejected", "parent_not_found"),
        ("unchanged", ""),
    ]
    assert [(r["result"], r["codes"]) for r in first.rows[7:8]] == results(second)[7:8]
    assert snapshot() == before
    assert second.counts["unchanged"] == 8 and second.counts["created"] == 0


def test_new_parents_are_added_and_links_are_never_removed(run_import, db):
    c1, c2 = f.curriculum("C1"), f.curriculum("C2")
    k = f.course("K")
    c1.courses.add(k, through_defaults={})
    l_ = f.lesson("L", k)
    k2 = f.course("K2")
    rep = run(
        run_import,
        [
            {"type": "course", "code": "K", "title": k.title, "parent_codes": "C2"},
            {"type": "lesson", "code": "L", "title": "L", "parent_codes": "K2"},
        ],
    )
    assert results(rep) == [("updated", ""), ("updated", "")]
    assert codes_of(k.curricula.all()) == {"C1", "C2"}
    assert codes_of(c2.courses.all()) == {"K"}
    l_.refresh_from_db()
    assert (l_.course_id, l_.lesson_type) == (k2.pk, "L")  # the type is kept when not given
    rep = run(
        run_import, [{"type": "course", "code": "K", "title": k.title, "parent_codes": "C1||C2"}]
    )
    assert results(rep) == [("unchanged", "")]


def test_update_info_if_present_keeps_values_of_empty_cells(run_import, db):
    cat = Category.objects.create(name="Safety")
    folder = Folder.objects.create(name="F", path="F")
    f.course(
        "K",
        "Title",
        provider="Acme",
        modality="classroom",
        description="Long text",
        extref="E1",
        category=cat,
        folder=folder,
        published=True,
    )
    empty = {
        "type": "course",
        "code": "K",
        "title": "Title",
        "provider": "",
        "modality": "",
        "description": "",
        "extref": "",
        "category": "",
        "folder": "",
        "published": "",
    }
    rep = run(run_import, [empty], options={"update_info_if_present": "yes"})
    assert results(rep) == [("unchanged", "")]
    k = Course.objects.get(code="K")
    assert (
        k.provider,
        k.modality,
        k.description,
        k.extref,
        k.category_id,
        k.folder_id,
        k.published,
    ) == (
        "Acme",
        "classroom",
        "Long text",
        "E1",
        cat.pk,
        folder.pk,
        True,
    )
    rep = run(
        run_import, [dict(empty, provider="Other")], options={"update_info_if_present": "yes"}
    )
    assert results(rep) == [("updated", "")]
    assert Course.objects.get(code="K").provider == "Other"
    # without the option an empty cell erases the value
    rep = run(run_import, [empty])
    assert results(rep) == [("updated", "")]
    k = Course.objects.get(code="K")
    assert (
        k.provider,
        k.modality,
        k.description,
        k.extref,
        k.category_id,
        k.folder_id,
        k.published,
    ) == (
        "",
        "",
        "",
        "",
        None,
        None,
        False,
    )


def test_columns_absent_from_the_file_are_left_as_they_are(run_import, db):
    f.course("K", "Title", provider="Acme", published=True)
    rep = run(run_import, [{"type": "course", "code": "K", "title": "Title"}])
    assert results(rep) == [("unchanged", "")]
    k = Course.objects.get(code="K")
    assert (k.provider, k.published) == ("Acme", True)


def test_duplicate_row_rejects_the_later_row(run_import, db):
    rep = run(
        run_import,
        [
            {"type": "course", "code": "K", "title": "first"},
            {"type": "course", "code": "K", "title": "second"},
            {"type": "programme", "code": "K", "title": "same code, other type"},
        ],
    )
    assert results(rep) == [("created", ""), ("rejected", "duplicate_row"), ("created", "")]
    assert Course.objects.get(code="K").title == "first"
    assert Programme.objects.get(code="K").title == "same code, other type"


def test_missing_required_values_are_rejected(run_import, db):
    rep = run(
        run_import,
        [
            {"type": "", "code": "K", "title": "t"},
            {"type": "course", "code": "", "title": "t"},
            {"type": "course", "code": "K2", "title": ""},
            {"type": "module", "code": "K3", "title": "t"},
        ],
    )
    assert results(rep) == [("rejected", "missing_value")] * 3 + [("rejected", "invalid_choice")]
    assert not Course.objects.exists()


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, db):
    path = run_import.file(
        ["type", "code", "title", "parent_codes", "lesson_type", "folder", "category", "credits"],
        [
            ["course", "K", "K", "CUR", "", "A/B", "Cat", "CPD:1"],
            ["curriculum", "CUR", "C", "", "", "", "", ""],
            ["lesson", "L", "L", "K", "L", "", "", ""],
            ["lesson", "L2", "L", "NOPE", "L", "", "", ""],
        ],
    )
    verified = run_import.run("catalogue", path, verify_only=True)
    assert snapshot() == {m._meta.label: [] for m in MODELS}
    real = run_import.run("catalogue", path)
    assert results(verified) == results(real)
    assert [r for r, _ in results(real)] == ["created", "created", "created", "rejected"]


def test_the_same_item_under_two_type_names_is_a_duplicate_row(run_import, db):
    rep = run(
        run_import,
        [
            {"type": "course", "code": "K", "title": "first"},
            {"type": "activity", "code": "K", "title": "second"},
            {"type": "curriculum", "code": "C", "title": "C"},
            {"type": "journey", "code": "C", "title": "C again"},
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "duplicate_row"),
        ("created", ""),
        ("rejected", "duplicate_row"),
    ]
    assert Course.objects.get(code="K").title == "first"


def test_a_credit_type_given_twice_in_one_row_is_rejected(run_import, db):
    rep = run(
        run_import,
        [
            {"type": "curriculum", "code": "C", "title": "C"},
            {"type": "course", "code": "K", "title": "K", "credits": "CPD:1||CPD:2"},
            {
                "type": "course",
                "code": "K2",
                "title": "K2",
                "parent_codes": "C",
                "credits": "CPD:1",
            },
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "invalid_choice"),
        ("created", "credit_type_created"),
    ]
    assert codes_of(Course.objects.all()) == {"K2"}
    assert CourseCredit.objects.get().amount == Decimal("1")
