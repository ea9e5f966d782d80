"""The export's columns (SPEC §6): each one's group, the SQL that reads it and how it is shown.

Expressions name the aliases of bulk.export_query: users `u`, `o` (organisation), `m` and `am`
(managers); curricula `k`, `ka` (assignment), `kr` (record), `kcat`, `kfol`; courses `c`,
`ca`, `cr`, `ccat`, `cfol` and, for an external training, `et`; lessons `l`, `lr`, `lcat`,
`lfol`; credits `aw` (the award) and `ct` (its type). Placeholders, filled in per database by
the query builder: `{json:ALIAS:KEY}` a key of a catalogue item's `custom` JSON, `{date:X}` a
date as text, `{day:X}` the day of a moment in the platform's time zone, `{audiences}`."""

from dataclasses import dataclass

USERS, CURRICULA, COURSES, CREDITS, LESSONS = "users", "curricula", "courses", "credits", "lessons"
GROUPS = (USERS, CURRICULA, COURSES, CREDITS, LESSONS)
# How a value is shown: text as it is, dates ISO 8601 (YYYY-MM-DD), moments ISO 8601 in UTC
# (YYYY-MM-DDTHH:MM:SSZ), flags yes/no, numbers as digits.
TEXT, DATE, MOMENT, FLAG, INT, NUM = "text", "date", "moment", "flag", "int", "num"
CUSTOM_FIELDS = 10


@dataclass(frozen=True)
class Column:
    """One export column: its group, its SQL (see the module's aliases) and its kind. `ext`: what
    an external training (passport entry) puts in a course column (None: empty)."""

    name: str
    group: str
    sql: str
    kind: str = TEXT
    ext: str | None = None


def _content(prefix: str, group: str, a: str, asg: str, rec: str, cat: str, fol: str) -> list:
    """The columns curricula and courses share: the item, the user's status, the assignment."""
    # The enrolment date: the record's (courses), else the day the assignment was made.
    assigned = f"{{day:{asg}.assigned_at}}"
    enrolled = (
        assigned if group == CURRICULA else f"COALESCE({{date:{rec}.enrolled_date}}, {assigned})"
    )
    return [
        Column(f"{prefix}_category", group, f"{cat}.name"),
        Column(f"{prefix}_title", group, f"{a}.title", ext="et.course_name"),
        Column(f"{prefix}_folder", group, f"{fol}.path"),
        Column(f"{prefix}_code", group, f"{a}.code", ext="et.course_code"),
        Column(f"{prefix}_disabled", group, f"{a}.disabled", FLAG),
        # A pair with an assignment and no record yet is not started.
        Column(f"{prefix}_status", group, f"COALESCE({rec}.status, 'N')", ext="'C'"),
        Column(f"{prefix}_status_date", group, f"{rec}.status_date", MOMENT),
        Column(f"{prefix}_enrolment_date", group, enrolled),
        Column(f"{prefix}_start_date", group, f"{asg}.start_date", DATE, ext="et.start_date"),
        Column(f"{prefix}_target_date", group, f"{asg}.target_date", DATE),
        Column(f"{prefix}_end_date", group, f"{asg}.end_date", DATE, ext="et.end_date"),
        Column(f"{prefix}_option", group, f"{asg}.option"),
        *[
            Column(f"{prefix}_custom{i}", group, f"{{json:{a}:custom{i}}}")
            for i in range(1, CUSTOM_FIELDS + 1)
        ],
    ]


USER_COLUMNS = [
    Column("user_login", USERS, "u.login"),
    Column("user_extid", USERS, "u.extid"),
    Column("user_lname", USERS, "u.last_name"),
    Column("user_fname", USERS, "u.first_name"),
    Column("user_email", USERS, "u.email"),
    Column("user_culture", USERS, "u.culture"),
    Column("user_activation_date", USERS, "u.activation_date", DATE),
    Column("user_expiration_date", USERS, "u.expiration_date", DATE),
    Column("user_disabled", USERS, "u.disabled", FLAG),
    Column("org_label", USERS, "o.label"),
    Column("org_extid", USERS, "o.extid"),
    Column("user_audiences", USERS, "{audiences}"),
    *[Column(f"user_udtf{i}", USERS, f"u.custom{i}") for i in range(1, 11)],
    Column("user_city", USERS, "u.city"),
    Column("user_country", USERS, "u.country"),
    Column("manager_login", USERS, "m.login"),
    Column("manager_extid", USERS, "m.extid"),
    Column("alternate_manager_login", USERS, "am.login"),
    Column("alternate_manager_extid", USERS, "am.extid"),
    Column("last_login", USERS, "u.last_login", MOMENT),
]
CURRICULUM_COLUMNS = _content("curriculum", CURRICULA, "k", "ka", "kr", "kcat", "kfol")
COURSE_COLUMNS = [
    *_content("course", COURSES, "c", "ca", "cr", "ccat", "cfol"),
    Column("course_score", COURSES, "cr.score", NUM),
    Column("course_time", COURSES, "cr.time_spent", INT),
    Column("course_legacy", COURSES, "cr.legacy", FLAG),
    # yes on the rows of external trainings (passport entries, filter external_trainings).
    Column("course_external", COURSES, "FALSE", FLAG, ext="TRUE"),
]
CREDIT_COLUMNS = [
    Column("credit_type", CREDITS, "ct.name"),
    Column("credits", CREDITS, "aw.amount", NUM),
    Column("credit_date", CREDITS, "aw.awarded_on", DATE),
]
LESSON_COLUMNS = [
    Column("lesson_category", LESSONS, "lcat.name"),
    Column("lesson_title", LESSONS, "l.title"),
    Column("lesson_folder", LESSONS, "lfol.path"),
    Column("lesson_code", LESSONS, "l.code"),
    Column("lesson_disabled", LESSONS, "l.disabled", FLAG),
    Column("lesson_type", LESSONS, "l.lesson_type"),
    Column("lesson_status", LESSONS, "COALESCE(lr.status, 'N')"),
    Column("lesson_status_date", LESSONS, "lr.status_date", MOMENT),
    Column("lesson_score", LESSONS, "lr.score", NUM),
    Column("lesson_time", LESSONS, "lr.time_spent", INT),
    *[
        Column(f"lesson_custom{i}", LESSONS, f"{{json:l:custom{i}}}")
        for i in range(1, CUSTOM_FIELDS + 1)
    ],
]
COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (*USER_COLUMNS, *CURRICULUM_COLUMNS, *COURSE_COLUMNS, *CREDIT_COLUMNS, *LESSON_COLUMNS)
}


def by_group() -> dict[str, list[str]]:
    """Column names per group, in the documented order (the portal's checkboxes, the docs)."""
    out: dict[str, list[str]] = {g: [] for g in GROUPS}
    for c in COLUMNS.values():
        out[c.group].append(c.name)
    return out
