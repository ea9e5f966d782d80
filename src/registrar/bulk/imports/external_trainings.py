"""external-trainings (SPEC §4.14, seed 003): add, update and delete entries of learners'
passports (trainings done elsewhere), one row per entry."""

import unicodedata

from django.utils.translation import gettext_lazy as _

from registrar.directory.models import User
from registrar.journal import writes
from registrar.learning.models import ExternalTraining

from .. import lookups, parsers
from ..diff import differences, incoming
from ..kind import CREATED, DELETED, UNCHANGED, UPDATED, Column, ImportKind, Option

ADD, UPDATE, DELETE = "add", "update", "delete"
ACTIONS = {
    "add": ADD,
    "ajout": ADD,
    "ajouter": ADD,
    "update": UPDATE,
    "modification": UPDATE,
    "modifier": UPDATE,
    "delete": DELETE,
    "suppression": DELETE,
    "supprimer": DELETE,
}
USER_FIELDS = ("id", "login", "extid", "last_name", "first_name", "organisation_id")
# The entry's fields a row sets (besides the learner and start_date, which identify it).
VALUES = (
    "course_name",
    "course_code",
    "passport_type",
    "end_date",
    "provider",
    "duration",
    "modality",
)
FIELDS = {c: c for c in VALUES}  # each column is the field of its name
ENTRY_FIELDS = tuple(f.attname for f in ExternalTraining._meta.concrete_fields)


def fold(s: str) -> str:
    """Names compared the way a person reads them: case, accents and extra spaces ignored."""
    if s.isascii():  # nothing to decompose, and casefold is lower: the same, many times faster
        return " ".join(s.lower().split())
    decomposed = unicodedata.normalize("NFKD", s)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def identity(user_id: int, code: str | None, name: str, start) -> tuple:
    """A passport entry's identity: learner, course code when given (else course name), start date."""
    return (user_id, "code", fold(code), start) if code else (user_id, "name", fold(name), start)


def matching(entries: list[dict], code: str | None, name: str, start) -> list[dict]:
    """The learner's entries that a row names. With a code: the entries with that code; failing
    those, an entry without a code and with the same name (the row gives it its code). Without a
    code: the entries without a code and with that name. Always on the same start date."""
    same_day = [e for e in entries if e["start_date"] == start]
    if code:
        wanted = fold(code)
        exact = [e for e in same_day if fold(e["course_code"]) == wanted]
        if exact:
            return exact
    wanted = fold(name)
    return [e for e in same_day if not e["course_code"] and fold(e["course_name"]) == wanted]


class ExternalTrainings(ImportKind):
    name = "external-trainings"
    title = _("External trainings (passport)")
    description = _(
        "Adds, updates and deletes entries of learners' passports: trainings done elsewhere. An entry "
        "is identified by its learner, its `course_code` when the row gives one (else its "
        "`course_name`, compared ignoring case, accents and extra spaces) and its `start_date`; a row "
        "with a code also finds an entry of the same name and start date that has no code yet, and "
        "gives it the code. `add` creates the entry, or updates it when it exists and differs "
        "(`unchanged` when it says the same); `update` changes an existing entry only "
        "(`training_not_found` otherwise); `delete` removes it (`deleted`; `not_in_passport`, "
        "skipped, when there is none). On update, an empty cell empties the field unless "
        "`update_info_if_present=yes`, and a column the file lacks is left as it is; `start_date` "
        "cannot be changed (delete the entry and add it again). A learner is a login, or else an "
        "external id; `learner_lname` and `learner_fname`, when given, must be the learner's names "
        "(`learner_name_mismatch`). Dates are not in the future, and `end_date` is not before "
        "`start_date` (`end_before_start`). Two rows for the same entry are rejected "
        "(`duplicate_row`): one row per entry per file."
    )
    columns = [
        Column(
            "course_name",
            parsers.text(255),
            required=True,
            aliases=("nom_cours", "nom_du_cours", "training_name", "course_title"),
            help=_("The training's name. Identifies the entry when course_code is empty."),
            example="First aid at work",
        ),
        Column(
            "course_code",
            parsers.text(100),
            aliases=("code_cours", "identifiant_cours", "course_id", "training_code"),
            help=_("The training's unique code at its provider; identifies the entry when given."),
            example="FA-2023",
        ),
        Column(
            "passport_type",
            parsers.text(100),
            aliases=("type_passeport", "type_de_passeport"),
            help=_("Free text, e.g. Certification, Training, Conference."),
            example="Certification",
        ),
        Column(
            "start_date",
            parsers.date_(past=True),
            required=True,
            aliases=("date_debut", "date_début", "start"),
            help=_("YYYY-MM-DD or YYYY/MM/DD, not in the future; part of the entry's identity."),
            example="2023/03/01",
        ),
        Column(
            "end_date",
            parsers.date_(past=True),
            required=True,
            aliases=("date_fin", "end"),
            help=_("YYYY-MM-DD or YYYY/MM/DD, not in the future and not before start_date."),
            example="2023/03/02",
        ),
        Column(
            "provider",
            parsers.text(150),
            aliases=("fournisseur", "organisme"),
            help=_("Who gave the training."),
            example="Red Cross",
        ),
        Column(
            "duration",
            parsers.text(50),
            aliases=("duree", "durée"),
            help=_("Free text, e.g. 14 h or 2 days."),
            example="14 h",
        ),
        Column(
            "modality",
            parsers.text(100),
            aliases=("modalite", "modalité"),
            help=_("Free text, e.g. Classroom, E-learning, Blended."),
            example="Classroom",
        ),
        Column(
            "learner",
            parsers.text(150),
            required=True,
            aliases=("apprenant", "identifiant_apprenant", "learner_id", "user", "user_login"),
            help=_(
                "The learner's login, or else external id (a value that is one user's login and "
                "another's external id is rejected: ambiguous_user)."
            ),
            example="amartin",
        ),
        Column(
            "learner_lname",
            parsers.text(150),
            aliases=("nom_apprenant", "user_lname", "last_name"),
            help=_(
                "Optional check: when given, must be the learner's last name (case, accents and extra spaces ignored)."
            ),
            example="Martin",
        ),
        Column(
            "learner_fname",
            parsers.text(150),
            aliases=("prenom_apprenant", "prénom_apprenant", "user_fname", "first_name"),
            help=_(
                "Optional check: when given, must be the learner's first name (case, accents and extra spaces ignored)."
            ),
            example="Alice",
        ),
        Column(
            "action",
            parsers.choice(
                ACTIONS, shown="add, update, delete (or ajout, modification, suppression)"
            ),
            help=_(
                "add (the default when empty), update or delete; the French ajout, modification, suppression are accepted."
            ),
            example="add",
        ),
    ]
    options = [
        Option(
            "update_info_if_present",
            False,
            _("When a row changes an existing entry, an empty cell never erases its value"),
        ),
    ]
    template = [
        {
            "course_name": "First aid at work",
            "course_code": "FA-2023",
            "passport_type": "Certification",
            "start_date": "2023/03/01",
            "end_date": "2023/03/02",
            "provider": "Red Cross",
            "duration": "14 h",
            "modality": "Classroom",
            "learner": "amartin",
            "learner_lname": "Martin",
            "learner_fname": "Alice",
            "action": "add",
        },
        {
            "course_name": "Advanced spreadsheets",
            "course_code": "",
            "passport_type": "Training",
            "start_date": "2024-01-15",
            "end_date": "2024-01-19",
            "provider": "City college",
            "duration": "5 days",
            "modality": "E-learning",
            "learner": "E1002",
            "learner_lname": "Durand",
            "learner_fname": "Bob",
            "action": "ajout",
        },
    ]

    def resolve(self, rows, ctx):
        names = {r.values["learner"] for r in rows}
        by_login = lookups.by_key(User, "login", names, *USER_FIELDS)
        by_extid = lookups.by_key(User, "extid", names, *USER_FIELDS)
        user_ids = {u["id"] for u in by_login.values()} | {u["id"] for u in by_extid.values()}
        # Every entry of the batch's learners: a passport holds a handful, so this beats matching
        # (code or name, start date) pairs in SQL, and it lets the plan match names loosely.
        entries: dict[int, list[dict]] = {}
        for part in lookups.chunks(user_ids, lookups.RAW_CHUNK):
            marks = ", ".join(["%s"] * len(part))
            qs = ExternalTraining._base_manager.extra(
                where=[f'"user_id" IN ({marks})'], params=part
            )
            for e in qs.values(*ENTRY_FIELDS):
                entries.setdefault(e["user_id"], []).append(e)
        return {"by_login": by_login, "by_extid": by_extid, "entries": entries}

    def _learner(self, r, refs, ctx) -> dict | None:
        v = r.values
        given = v["learner"]
        by_login, by_extid = refs["by_login"].get(given), refs["by_extid"].get(given)
        if by_login and by_extid and by_login["id"] != by_extid["id"]:
            r.reject("ambiguous_user", value=given, count=2)
            return None
        user = by_login or by_extid
        if user is None:
            r.reject("user_not_found", column="learner", value=given)
            return None
        if not ctx.in_scope(user["organisation_id"]):
            r.reject("out_of_scope", what=f"User {given}")
        for col, field in (("learner_lname", "last_name"), ("learner_fname", "first_name")):
            if v[col] is not None and fold(v[col]) != fold(user[field]):
                r.reject(
                    "learner_name_mismatch",
                    value=given,
                    actual=user[field],
                    given=v[col],
                    column=col,
                )
        return user

    def plan(self, rows, refs, ctx):
        # Identity (and matched entry) -> the row that named it first, across batches. A row planned
        # again (a batch replayed after a processing error) finds its own number, not a duplicate.
        seen = ctx.state.setdefault("seen", {})
        for r in rows:
            v = r.values
            user = self._learner(r, refs, ctx)
            start, end = v["start_date"], v["end_date"]
            if start is not None and end is not None and end < start:
                r.reject(
                    "end_before_start",
                    column="end_date",
                    value=end.isoformat(),
                    start=start.isoformat(),
                )
            if not r.ok:
                continue
            code, name = v["course_code"], v["course_name"]
            found = matching(refs["entries"].get(user["id"], []), code, name, start)
            keys = [identity(user["id"], code, name, start)] + [("entry", e["id"]) for e in found]
            first = next((seen[k] for k in keys if seen.get(k, r.number) != r.number), None)
            if first is not None:
                r.reject("duplicate_row", key="learner, course and start_date", first=first)
                continue
            for k in keys:
                seen[k] = r.number
            training = f"{code or name!r} starting {start.isoformat()}"
            if len(found) > 1:
                r.reject(
                    "ambiguous_training", value=v["learner"], count=len(found), training=training
                )
                continue
            entry = found[0] if found else None
            action = v["action"] or ADD
            if action == DELETE:
                if entry is None:
                    r.skip("not_in_passport", value=v["learner"], training=training)
                else:
                    r.result, r.data = DELETED, {"entry": entry}
            elif entry is None:
                if action == UPDATE:
                    r.reject("training_not_found", value=v["learner"], training=training)
                else:
                    r.result, r.data = CREATED, {"new": self._new(user["id"], v)}
            else:
                diff = self._diff(entry, v, ctx)
                r.result = UPDATED if diff else UNCHANGED
                r.data = {"entry": entry, "diff": diff}

    def _new(self, user_id: int, v: dict) -> dict:
        new = {"user_id": user_id, "start_date": v["start_date"]}
        for col in VALUES:
            new[col] = v[col] if v[col] is not None else ""
        return new

    def _diff(self, entry: dict, v: dict, ctx) -> dict:
        """What the row changes in an existing entry: the columns the file has; an empty cell
        empties the field unless update_info_if_present."""
        wanted = incoming(v, FIELDS, ctx.present, ctx.options["update_info_if_present"])
        return differences(entry, wanted)

    def apply(self, rows, refs, ctx):
        created = [r for r in rows if r.result == CREATED]
        writes.insert(
            ExternalTraining, [r.data["new"] for r in created], ctx.op, [r.number for r in created]
        )
        writes.update(
            ExternalTraining,
            [
                (r.data["entry"]["id"], r.data["diff"], r.data["entry"], r.number)
                for r in rows
                if r.result == UPDATED
            ],
            ctx.op,
        )
        writes.delete(
            ExternalTraining,
            [
                (r.data["entry"]["id"], r.data["entry"], r.number)
                for r in rows
                if r.result == DELETED
            ],
            ctx.op,
        )
