"""catalogue (SPEC §4.7): programmes, curricula, courses and lessons, brought in from another system."""

from django.utils.translation import gettext_lazy as _

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
from registrar.journal import writes

from .. import lookups, parsers
from ..diff import incoming, keeps
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind, Option

MODELS = {"programme": Programme, "curriculum": Curriculum, "course": Course, "lesson": Lesson}
PARENT = {"curriculum": "programme", "course": "curriculum", "lesson": "course"}
TYPES = {
    "programme": "programme",
    "program": "programme",
    "curriculum": "curriculum",
    "journey": "curriculum",
    "parcours": "curriculum",
    "course": "course",
    "activity": "course",
    "lesson": "lesson",
}
LESSON_TYPES = {t.value: t.value for t in Lesson.LessonType}
DEFAULT_LESSON_TYPE = Lesson.LessonType.LESSON.value
FIELDS = {
    "title": "title",
    "extref": "extref",
    "published": "published",
    "disabled": "disabled",
    "provider": "provider",
    "modality": "modality",
    "description": "description",
}
EMPTY = {"published": False, "disabled": False}


CREDIT_AMOUNT = parsers.money(8, 2)  # CourseCredit.amount


def _credit(s: str):
    name, sep, amount = s.rpartition(":")
    if not sep or not name.strip():
        raise parsers.CellError("invalid_number", detail=" (use TYPE:AMOUNT)")
    return name.strip(), CREDIT_AMOUNT(amount.strip())


def _folder(s: str) -> str:
    """A folder path A/B, normalised: segments trimmed, empty segments dropped."""
    path = parsers.text(1000)(s)
    parts = [p.strip() for p in path.split("/") if p.strip()]
    if not parts:
        raise parsers.CellError("invalid_identifier", detail=" (a folder path such as A/B)")
    for p in parts:
        if len(p) > 150:
            raise parsers.CellError("value_too_long", length=len(p), max=150)
    return "/".join(parts)


class Catalogue(ImportKind):
    name = "catalogue"
    domain = "catalogue"
    title = _("Catalogue")
    description = _(
        "Creates and updates programmes, curricula, courses and lessons, matched on type and code. Parents may come later in the file."
    )
    columns = [
        Column(
            "type",
            parsers.choice(TYPES, "programme, curriculum, course, lesson"),
            required=True,
            aliases=("item_type",),
            help=_("programme, curriculum, course or lesson (journey and activity accepted)."),
            example="course",
        ),
        Column(
            "code",
            parsers.text(100),
            required=True,
            aliases=("crsvname", "lsnvname", "item_code"),
            help=_("The item's unique code within its type: the match key."),
            example="SAFE-101",
        ),
        Column(
            "title",
            parsers.text(255),
            required=True,
            aliases=("name",),
            help=_("Title."),
            example="Workplace safety",
        ),
        Column(
            "parent_codes",
            parsers.multi(parsers.text(100)),
            aliases=("parents",),
            help=_(
                "A||B: the curricula of a course, the programmes of a curriculum, the one course of a lesson. Links are added, never removed."
            ),
            example="CUR-SAFETY",
        ),
        Column("uuid", parsers.uuid_, help=_("A UUID (generated when empty)."), example=""),
        Column(
            "extref",
            parsers.text(100),
            aliases=("external_reference",),
            help=_("External reference."),
            example="EXT-101",
        ),
        Column("published", parsers.flag, help=_("1 published, 0 not."), example="1"),
        Column("disabled", parsers.flag, help=_("1 disabled, 0 not."), example="0"),
        Column(
            "lesson_type",
            parsers.choice(LESSON_TYPES, "A, L, W, T, E"),
            aliases=("lnk_type",),
            help=_(
                "Lessons only: A assignment, L lesson, W webinar, T classroom, E resource. A new lesson without one is an L lesson; an existing lesson keeps its type."
            ),
            example="",
        ),
        Column(
            "category",
            parsers.text(150),
            help=_("Category name (created when new)."),
            example="Safety",
        ),
        Column(
            "folder",
            _folder,
            help=_("Folder path, A/B (created when new)."),
            example="Compliance/Safety",
        ),
        Column("provider", parsers.text(150), help=_("Provider."), example="Acme Academy"),
        Column(
            "modality",
            parsers.text(100),
            help=_("Modality, e.g. e-learning, classroom."),
            example="e-learning",
        ),
        Column("description", parsers.text(10000), help=_("Description."), example=""),
        Column(
            "credits",
            parsers.multi(_credit),
            help=_(
                "Courses only: TYPE:AMOUNT||…; a new credit type is created (warning credit_type_created)."
            ),
            example="CPD:1.5",
        ),
    ]
    options = [
        Option("update_info_if_present", False, _("An empty cell never erases an existing value."))
    ]
    key = ("type", "code")
    whole_file = True
    template = [
        {
            "type": "programme",
            "code": "PRG-COMPLIANCE",
            "title": "Compliance programme",
            "published": "1",
        },
        {
            "type": "curriculum",
            "code": "CUR-SAFETY",
            "title": "Safety journey",
            "parent_codes": "PRG-COMPLIANCE",
            "published": "1",
        },
        {
            "type": "course",
            "code": "SAFE-201",
            "title": "Fire safety",
            "parent_codes": "CUR-SAFETY",
            "published": "1",
            "category": "Safety",
            "folder": "Compliance/Safety",
            "modality": "e-learning",
            "credits": "CPD:1.5",
        },
        {
            "type": "lesson",
            "code": "SAFE-201-L1",
            "title": "Fire safety: the basics",
            "parent_codes": "SAFE-201",
            "published": "1",
            "lesson_type": "L",
        },
    ]

    def resolve(self, rows, ctx):
        codes = {t: set() for t in MODELS}
        for r in rows:
            codes[r.values["type"]].add(r.values["code"])
            parent = PARENT.get(r.values["type"])
            if parent:
                codes[parent].update(r.values["parent_codes"] or [])
        fields = ["id", "code", "uuid", "op", "category_id", "folder_id", *FIELDS.values()]
        existing = {
            t: lookups.by_key(
                m,
                "code",
                codes[t],
                *fields,
                *(["lesson_type", "course_id"] if t == "lesson" else []),
            )
            for t, m in MODELS.items()
        }
        uuids = {}
        wanted = {r.values["uuid"] for r in rows if r.values["uuid"]}
        for t, m in MODELS.items():
            for u in lookups.by_key(m, "uuid", wanted, "code").values():
                uuids[u["uuid"]] = (t, u["code"])
        links = {
            "curriculum": {
                (x["curriculum_id"], x["programme_id"])
                for x in self._links(ProgrammeCurriculum, "curriculum_id", existing["curriculum"])
            },
            "course": {
                (x["course_id"], x["curriculum_id"])
                for x in self._links(CurriculumCourse, "course_id", existing["course"])
            },
        }
        credits = {
            (x["course_id"], x["credit_type_id"]): x
            for x in self._links(CourseCredit, "course_id", existing["course"])
        }
        return {
            "existing": existing,
            "uuids": uuids,
            "links": links,
            "credits": credits,
            "categories": lookups.by_key(
                Category, "name", {r.values["category"] for r in rows}, "id"
            ),
            "folders": lookups.by_key(Folder, "path", {r.values["folder"] for r in rows}, "id"),
            "credit_types": lookups.by_key(
                CreditType, "name", {n for r in rows for n, _ in r.values["credits"] or []}, "id"
            ),
        }

    @staticmethod
    def _links(model, field, items):
        out = []
        for part in lookups.chunks([x["id"] for x in items.values()]):
            out += model.objects.filter(**{f"{field}__in": part}).values()
        return out

    def plan(self, rows, refs, ctx):
        existing = refs["existing"]
        in_file: dict = {}
        claimed: dict = {}
        for r in rows:
            v, t = r.values, r.values["type"]
            first = in_file.setdefault((t, v["code"]), r)
            if first is not r:  # the same item under two names of its type (course, activity)
                r.reject("duplicate_row", key="type/code", first=first.number)
                continue
            if t == "lesson":
                if len(v["parent_codes"] or []) != 1:
                    r.reject(
                        "parent_not_found",
                        value="||".join(v["parent_codes"] or [])
                        or "(none: a lesson needs exactly one course)",
                    )
            elif t == "programme" and v["parent_codes"]:
                r.reject(
                    "parent_not_found",
                    value="||".join(v["parent_codes"]) + " (a programme has no parent)",
                )
            if v["credits"] and t != "course":
                r.reject(
                    "invalid_choice",
                    column="credits",
                    value="||".join(f"{n}:{a}" for n, a in v["credits"]),
                    choices="credits on courses only",
                )
            names = [n for n, _ in v["credits"] or []]
            if len(set(names)) != len(names):
                r.reject(
                    "invalid_choice",
                    column="credits",
                    value="||".join(f"{n}:{a}" for n, a in v["credits"]),
                    choices="each credit type once",
                )
            if v["uuid"] is not None:
                holder = refs["uuids"].get(v["uuid"])
                if holder is not None and holder != (t, v["code"]):
                    r.reject("uuid_in_use", value=str(v["uuid"]))
                elif r.ok:  # a UUID names one item across all four types, in the file too
                    first = claimed.setdefault(v["uuid"], (t, v["code"]))
                    if first != (t, v["code"]):
                        r.reject("uuid_in_use", value=str(v["uuid"]))
        changed = True
        while changed:  # a rejected parent rejects its children: settle until stable
            changed = False
            for r in rows:
                parent = PARENT.get(r.values["type"])
                if not r.ok or not parent:
                    continue
                for code in r.values["parent_codes"] or []:
                    prow = in_file.get((parent, code))
                    if code not in existing[parent] and (prow is None or not prow.ok):
                        r.reject("parent_not_found", value=code)
                        changed = True
        for r in rows:
            if r.ok:
                self._plan_row(r, refs, ctx)

    def _plan_row(self, r, refs, ctx):
        v, t = r.values, r.values["type"]
        old = refs["existing"][t].get(v["code"])
        keep_empty = old is not None and ctx.options["update_info_if_present"]
        new = incoming(v, FIELDS, ctx.present, keep_empty, EMPTY)
        if v["uuid"] is not None:
            new["uuid"] = v["uuid"]
        if t == "lesson" and v["lesson_type"] is not None:
            new["lesson_type"] = v["lesson_type"]
        elif t == "lesson" and old is None:  # SPEC §4.7 does not require it: a plain lesson
            new["lesson_type"] = DEFAULT_LESSON_TYPE
        for col in ("category", "folder"):
            if not keeps(col, v, ctx.present, keep_empty):
                new[f"{col}_id"] = ("ref", col, v[col]) if v[col] is not None else None
        for n, _amount in v["credits"] or []:
            if n not in refs["credit_types"]:
                r.warn("credit_type_created", value=n)
        r.data = {"old": old, "new": new}
        if old is None:
            r.result = CREATED
            return
        diff = {}
        for k, val in new.items():
            if isinstance(val, tuple):
                target = refs["categories" if val[1] == "category" else "folders"].get(val[2])
                if target is not None and target["id"] == old[k]:
                    continue
            elif old.get(k) == val:
                continue
            diff[k] = val
        links = refs["links"].get(t)
        new_parents = []
        if t == "lesson":
            course = refs["existing"]["course"].get(v["parent_codes"][0])
            if course is None or course["id"] != old["course_id"]:
                diff["course_id"] = ("course", v["parent_codes"][0])
        elif links is not None:
            parents = refs["existing"][PARENT[t]]
            new_parents = [
                c
                for c in v["parent_codes"] or []
                if c not in parents or (old["id"], parents[c]["id"]) not in links
            ]
        credits = [
            (n, a)
            for n, a in v["credits"] or []
            if n not in refs["credit_types"]
            or refs["credits"].get((old["id"], refs["credit_types"][n]["id"]), {}).get("amount")
            != a
        ]
        r.data.update(diff=diff, credits=credits, new_parents=new_parents)
        r.result = UPDATED if diff or new_parents or credits else UNCHANGED

    def apply(self, rows, refs, ctx):
        op = ctx.op
        cats = self._ensure(
            Category,
            "name",
            refs["categories"],
            {r.values["category"] for r in rows if r.values["category"]},
            op,
        )
        folders = self._ensure_folders(
            refs["folders"], {r.values["folder"] for r in rows if r.values["folder"]}, op
        )
        ctypes = self._ensure(
            CreditType,
            "name",
            refs["credit_types"],
            {n for r in rows for n, _ in r.values["credits"] or []},
            op,
        )

        def deref(val):
            if isinstance(val, tuple) and val[0] == "ref":
                return (cats if val[1] == "category" else folders)[val[2]]
            return val

        ids = {t: {c: x["id"] for c, x in refs["existing"][t].items()} for t in MODELS}
        for t, model in MODELS.items():  # parents before children, so children can point at new ids
            creating = [r for r in rows if r.result == CREATED and r.values["type"] == t]
            new_ids = writes.allocate_ids(model, len(creating))
            inserts = []
            for r, pk in zip(creating, new_ids, strict=True):
                ids[t][r.values["code"]] = pk
                row = {k: deref(x) for k, x in r.data["new"].items()}
                row.update(id=pk, code=r.values["code"])
                if t == "lesson":
                    row["course_id"] = ids["course"][r.values["parent_codes"][0]]
                inserts.append(row)
            writes.insert(model, inserts, op, [r.number for r in creating])
        for t, model in MODELS.items():
            updating = [
                r for r in rows if r.result == UPDATED and r.values["type"] == t and r.data["diff"]
            ]
            items = []
            for r in updating:
                diff = {k: deref(x) for k, x in r.data["diff"].items()}
                if "course_id" in diff:
                    diff["course_id"] = ids["course"][r.values["parent_codes"][0]]
                # As planned: its op guards the write (the rest of the before is read under lock).
                items.append((r.data["old"]["id"], diff, r.data["old"], r.number))
            writes.update(model, items, op)
        pc, cc, credits_new, credits_upd = [], [], [], []
        for r in rows:
            t, v = r.values["type"], r.values
            me = ids[t][v["code"]]
            parents = (
                v["parent_codes"] or [] if r.result == CREATED else r.data.get("new_parents", [])
            )
            if t == "curriculum":
                pc += [
                    {"programme_id": ids["programme"][c], "curriculum_id": me}
                    for c in dict.fromkeys(parents)
                ]
            elif t == "course":
                cc += [
                    {"curriculum_id": ids["curriculum"][c], "course_id": me}
                    for c in dict.fromkeys(parents)
                ]
            credits = v["credits"] or [] if r.result == CREATED else r.data.get("credits", [])
            for n, amount in credits:
                old = refs["credits"].get((me, ctypes[n]))
                if old is None:
                    credits_new.append(
                        {"course_id": me, "credit_type_id": ctypes[n], "amount": amount}
                    )
                else:
                    credits_upd.append((old["id"], {"amount": amount}, old, r.number))
        writes.insert(ProgrammeCurriculum, pc, op)
        writes.insert(CurriculumCourse, cc, op)
        writes.insert(CourseCredit, credits_new, op)
        writes.update(CourseCredit, credits_upd, op)

    @staticmethod
    def _ensure(model, field, known, names, op) -> dict[str, int]:
        out = {n: x["id"] for n, x in known.items()}
        todo = sorted(names - out.keys())
        out.update(zip(todo, writes.insert(model, [{field: n} for n in todo], op), strict=True))
        return out

    @staticmethod
    def _ensure_folders(known, paths, op) -> dict[str, int]:
        """Folder ids by (normalised) path, creating missing folders and their ancestors.

        One lookup for the missing ancestors, then one insert per depth level.
        """
        out = {p: x["id"] for p, x in known.items()}
        wanted = set()
        for p in paths:
            parts = p.split("/")
            wanted.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        out.update(
            {
                x["path"]: x["id"]
                for x in lookups.by_key(Folder, "path", wanted - out.keys(), "id").values()
            }
        )
        by_depth: dict[int, list[str]] = {}
        for path in wanted - out.keys():
            by_depth.setdefault(path.count("/"), []).append(path)
        for depth in sorted(by_depth):
            level = sorted(by_depth[depth])
            rows = []
            for path in level:
                parent, _, name = path.rpartition("/")
                rows.append({"name": name, "path": path, "parent_id": out.get(parent)})
            out.update(zip(level, writes.insert(Folder, rows, op), strict=True))
        return out
