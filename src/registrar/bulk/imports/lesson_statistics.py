"""lesson-statistics (SPEC §4.10, seed 003): a learner's status, score, time and presence on a
lesson, recorded as an attempt; the lesson record keeps the better attempt, and the course
status is recomputed from the course's lessons (learning.progress.recompute_courses)."""

from collections import defaultdict

from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Lesson
from registrar.learning import progress
from registrar.learning.models import LessonAttempt, LessonRecord, LessonStatus, Source

from .. import lookups, parsers
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind
from ._statistics import COURSE_COLUMN, OPTIONS, REJECT, USER_COLUMN, Statistics
from ._statistics import score as score_parser
from ._statistics import seconds as seconds_parser

STATUS = parsers.choice(
    {
        "C": "C",
        "P": "P",
        "F": "F",
        "I": "I",
        "N": "N",
        "completed": "C",
        "passed": "P",
        "failed": "F",
        "incomplete": "I",
        "not started": "N",
    },
    shown="C, P, F, I, N",
)
TYPE = parsers.choice({t: t for t in Lesson.LessonType.values}, shown="A, L, W, T, E")
PRESENCE = parsers.choice(
    {"P": True, "A": False, "present": True, "absent": False}, shown="P (present), A (absent)"
)
DONE = ("C", "P")  # a lesson completed or passed is 100 % done
RECORD_FIELDS = (
    "status",
    "status_date",
    "score",
    "time_spent",
    "attempts",
    "completion_percent",
    "present",
    "source",
    "op",
)
ATTEMPT_FIELDS = ("id", "record_id", "number", "status", "status_date", "score", "time_spent")
ATTEMPT_FIELDS += ("present", "op")
# What an empty optional cell says about an attempt: nothing (it matches any value).
COMPARED = ("status_date", "score", "time_spent", "present")


def _same(row: dict, attempt: dict) -> bool:
    """Whether a row describes an attempt already recorded: the same status, and the same
    value in every optional cell the row fills."""
    return row["status"] == attempt["status"] and all(
        row[k] is None or row[k] == attempt[k] for k in COMPARED
    )


def _present(a, b):
    """The better presence: present over absent over unknown."""
    rank = {True: 2, False: 1, None: 0}
    return a if rank[a] >= rank[b] else b


class LessonStatistics(Statistics, ImportKind):
    name = "lesson-statistics"
    title = _("Lesson statistics")
    description = _(
        "Records a learner's status on a lesson (with its date, score, time spent and, for "
        "classroom lessons, presence) as an attempt. A learner without a record of the lesson gets "
        "one (`created`). A learner who has one with a status (anything but not started) gets a "
        "new attempt with `when_status_exists=new_attempt` (the default; `updated`): the record "
        "keeps the better of what it had and the new attempt (completed over passed over failed "
        "over in progress over not started, then the higher score, then the later date), adds the "
        "attempt's time to its time spent and counts the attempt. With `when_status_exists=reject` "
        "such a row is rejected (`status_exists`). A row identical to an attempt already recorded "
        "(same status, and the same date, score, time and presence where the row gives them) is "
        "`unchanged`, so importing the same file twice changes nothing and a file may carry several "
        "attempts of a lesson (one row each, with different dates). The learner must be assigned "
        "to the course (directly, or through a curriculum or programme) unless `assign_if_needed`. "
        "The course's status is then recomputed from its lessons: completed when every lesson is "
        "completed or passed, in progress when any is started; a course already further than its "
        "lessons (completed by a course-statistics import, say) is never taken back. Completed "
        "courses roll up to curricula and programmes."
    )
    columns = [
        USER_COLUMN,
        COURSE_COLUMN,
        Column(
            "lsnvname",
            parsers.text(100),
            required=True,
            aliases=("lesson_code", "lesson"),
            help=_(
                "The lesson's code (its unique identifier); the lesson must belong to the course "
                "(`lesson_not_found` otherwise)."
            ),
            example="SAFE-201-L1",
        ),
        Column(
            "lnk_type",
            TYPE,
            required=True,
            aliases=("lesson_type",),
            help=_(
                "The lesson's type, which must be the lesson's own (`lesson_type_mismatch`): A "
                "assignment, L lesson, W webinar, T classroom (ILT/LTI) activity, E educational resource."
            ),
            example="L",
        ),
        Column(
            "lesson_status",
            STATUS,
            required=True,
            aliases=("status",),
            help=_(
                "C completed, P passed, F failed, I in progress (incomplete), N not started "
                "(the English words are accepted too)."
            ),
            example="C",
        ),
        Column(
            "lesson_status_date",
            parsers.datetime_(past=True),
            aliases=("status_date",),
            help=_(
                "When the status was reached: YYYY/MM/DD, ISO 8601; not in the future. Empty: "
                "the moment the import started."
            ),
            example="2024/05/02",
        ),
        Column(
            "lesson_score",
            score_parser,
            aliases=("score",),
            help=_("The score out of 100 (0 to 100, at most 2 decimals); empty: no score."),
            example="85",
        ),
        Column(
            "lesson_time",
            seconds_parser,
            aliases=("time_spent",),
            help=_("Time spent on this attempt, in seconds (a whole number); empty: 0."),
            example="1260",
        ),
        Column(
            "ilt_status",
            PRESENCE,
            aliases=("presence",),
            help=_(
                "Classroom (T) lessons only: P the learner was present, A absent; empty: not "
                "recorded. Given for another type of lesson it is ignored (warning `presence_ignored`)."
            ),
            example="",
        ),
    ]
    options = OPTIONS
    key = ("user_loginid", "crsvname", "lsnvname", "lesson_status_date")
    # The demo's amartin is assigned SAFE-201 (recommended) and has no record of it.
    template = [
        {
            "user_loginid": "amartin",
            "crsvname": "SAFE-201",
            "lsnvname": "SAFE-201-L1",
            "lnk_type": "L",
            "lesson_status": "C",
            "lesson_status_date": "2024/05/02",
            "lesson_score": "",
            "lesson_time": "1260",
            "ilt_status": "",
        },
        {
            "user_loginid": "amartin",
            "crsvname": "SAFE-201",
            "lsnvname": "SAFE-201-L3",
            "lnk_type": "A",
            "lesson_status": "P",
            "lesson_status_date": "2024/05/03",
            "lesson_score": "85",
            "lesson_time": "600",
            "ilt_status": "",
        },
    ]

    def resolve(self, rows, ctx):
        refs = self.resolve_common(rows, ctx)
        lessons = lookups.by_key(
            Lesson,
            "code",
            {r.values["lsnvname"] for r in rows},
            "id",
            "code",
            "course_id",
            "lesson_type",
        )
        wanted = set()
        for r in rows:
            user = refs["users"].get(r.values["user_loginid"])
            lesson = lessons.get(r.values["lsnvname"])
            if user and lesson:
                wanted.add((user["id"], lesson["id"]))
        records = lookups.exact_pairs(LessonRecord, "user_id", "lesson_id", wanted, *RECORD_FIELDS)
        attempts: dict[int, list[dict]] = defaultdict(list)
        for part in lookups.chunks([rec["id"] for rec in records.values()]):
            for a in LessonAttempt._base_manager.filter(record_id__in=part).values(*ATTEMPT_FIELDS):
                attempts[a["record_id"]].append(a)
        refs.update(lessons=lessons, records=records, attempts=attempts, state={})
        return refs

    def _lesson(self, r, refs, course) -> dict | None:
        v = r.values
        lesson = refs["lessons"].get(v["lsnvname"])
        if course is None:
            return lesson
        if lesson is None or lesson["course_id"] != course["id"]:
            r.reject("lesson_not_found", value=v["lsnvname"], course=v["crsvname"])
            return None
        if v["lnk_type"] != lesson["lesson_type"]:
            r.reject(
                "lesson_type_mismatch",
                value=v["lsnvname"],
                actual=lesson["lesson_type"],
                given=v["lnk_type"],
            )
        return lesson

    def plan(self, rows, refs, ctx):
        moment = self.moment(ctx)
        reject = ctx.options["when_status_exists"] == REJECT
        state = refs["state"]  # (user, lesson) -> the record as this batch leaves it
        for r in rows:
            v = r.values
            user = self.check_user(r, refs, ctx)
            course = self.check_course(r, refs)
            lesson = self._lesson(r, refs, course)
            if not r.ok or not self.check_assignment(r, (user["id"], course["id"]), refs, ctx):
                continue
            present = v["ilt_status"]
            if present is not None and lesson["lesson_type"] != Lesson.LessonType.CLASSROOM:
                r.warn(
                    "presence_ignored",
                    value="P" if present else "A",
                    lesson=lesson["code"],
                    type=lesson["lesson_type"],
                )
                present = None
            given = {
                "status": v["lesson_status"],
                "status_date": v["lesson_status_date"],
                "score": v["lesson_score"],
                "time_spent": v["lesson_time"],
                "present": present,
            }
            key = (user["id"], lesson["id"])
            st = state.get(key)
            if st is None:
                rec = refs["records"].get(key)
                st = state[key] = {
                    "key": key,
                    "course_id": course["id"],
                    "before": rec,
                    "record": dict(rec) if rec else None,
                    "attempts": list(refs["attempts"].get(rec["id"], ())) if rec else [],
                    "new": [],  # attempts this batch adds
                    "row": None,  # the first row that changes the record
                }
            rec = st["record"]
            if rec is not None and any(_same(given, a) for a in st["attempts"] or [rec]):
                r.result = UPDATED if "assign" in r.data else UNCHANGED
                continue
            started = rec is not None and rec["status"] != LessonStatus.NOT_STARTED
            if started and reject:
                r.reject(
                    "status_exists",
                    what=f"Lesson {lesson['code']}",
                    status=LessonStatus(rec["status"]).label,
                )
                continue
            numbers = [a["number"] for a in st["attempts"]]
            attempt = {
                **given,
                "status_date": given["status_date"] or moment,
                "time_spent": given["time_spent"] or 0,
                "number": max([rec["attempts"] if rec else 0, *numbers]) + 1,
                "op": ctx.op.pk,
                "row": r.number,
            }
            st["attempts"].append(attempt)
            st["new"].append(attempt)
            if rec is None:
                st["record"] = {
                    "user_id": key[0],
                    "lesson_id": key[1],
                    **self._values(attempt),
                    "time_spent": attempt["time_spent"],
                    "attempts": attempt["number"],
                    "source": Source.IMPORT,
                }
                st["row"] = r.number
                r.result = CREATED
                continue
            # The record takes the attempt's values when it had no status or the attempt is better.
            mine = {k: rec[k] for k in ("status", "score", "status_date")}
            present = _present(rec["present"], attempt["present"])
            if not started or progress.better(mine, attempt) is attempt:
                rec.update(self._values(attempt), source=Source.IMPORT)
            rec["present"] = present
            rec["time_spent"] += attempt["time_spent"]
            rec["attempts"] = attempt["number"]
            st["row"] = st["row"] or r.number
            r.result = UPDATED  # also when an earlier row of this batch created it

    @staticmethod
    def _values(attempt: dict) -> dict:
        """What a record takes from its best attempt."""
        done = attempt["status"] in DONE
        return {
            "status": attempt["status"],
            "status_date": attempt["status_date"],
            "score": attempt["score"],
            "present": attempt["present"],
            "completion_percent": 100 if done else 0,
        }

    def apply(self, rows, refs, ctx):
        self.insert_assignments(rows, ctx)
        changed = [st for st in refs["state"].values() if st["new"]]
        created = [st for st in changed if st["before"] is None]
        updates, attempts = [], []
        for st in changed:
            before = st["before"]
            if before is None:
                continue
            rec = st["record"]
            new = {k: rec[k] for k in RECORD_FIELDS if k != "op" and rec[k] != before[k]}
            updates.append((before["id"], new, before, st["row"]))
        for st in changed:
            for a in st["new"]:
                values = {
                    "number": a["number"],
                    "status": a["status"],
                    "status_date": a["status_date"],
                    "score": a["score"],
                    "time_spent": a["time_spent"],
                    "present": a["present"],
                    "source": Source.IMPORT,
                }
                attempts.append((st["record"], values, a["row"]))
        # The verb writes the records and attempts, then recomputes their courses (and rolls up).
        progress.write_lesson_records(
            ctx.op,
            [st["record"] for st in created],
            [st["row"] for st in created],
            updates,
            attempts,
            courses={st["key"][1]: st["course_id"] for st in changed},
        )
