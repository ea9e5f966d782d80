"""The selection of a bulk action (SPEC §5): criteria, a saved list or explicit identifiers,
checked and resolved to the selected items' primary keys in a bounded number of queries.

The CLI (`registrar act TARGET ACTION [SELECTION]`), the API, the portal and the engine all use
this one module; docs/formats.md ("Selections") documents the rules it implements.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, In

from registrar.bulk.codes import CODES
from registrar.bulk.io.readers import detect_encoding
from registrar.bulk.parsers import CellError, date_
from registrar.catalogue.models import Category, Course, Curriculum, Folder
from registrar.core.errors import FileError
from registrar.core.lookups import RAW_CHUNK, by_key, chunks
from registrar.directory import tree
from registrar.directory.models import Audience, ListMember, Organisation, User, UserList

TARGETS = ("users", "courses", "curricula")
OPERATORS = ("eq", "contains", "before", "after", "empty", "in")
SEPARATOR = "||"  # between the values of `in`
MAX_CRITERIA = 100  # a selection is typed by a person: more is a mistake or an attack
MAX_VALUE = 1000  # characters in one criterion's value
# An --ids @FILE is read whole (a list of identifiers, not a data file): bounded, and the
# REGISTRAR_MAX_IDS_BYTES setting may change the bound.
MAX_IDS_BYTES = 10 << 20
JSON_KEYS = ("where", "any", "include_disabled", "list", "ids", "exclude")
LIST_KEYS = ("where", "any")  # what a dynamic list's criteria may hold

TRUE = ("true", "yes", "1")
FALSE = ("false", "no", "0")

# Field kinds and the operators that apply to each.
TEXT, EMAIL, BOOL, DATE = "text", "email", "boolean", "date"
ORG, AUDIENCE, USER, CATEGORY, FOLDER = "organisation", "audience", "user", "category", "folder"
KIND_OPS = {
    TEXT: ("eq", "contains", "in", "empty"),
    EMAIL: ("eq", "contains", "in", "empty"),
    BOOL: ("eq",),
    DATE: ("eq", "before", "after", "empty"),
    ORG: ("eq", "in"),
    AUDIENCE: ("eq", "in", "empty"),
    USER: ("eq", "empty"),
    CATEGORY: ("eq", "contains", "in", "empty"),
    FOLDER: ("eq", "contains", "in", "empty"),
}


@dataclass(frozen=True)
class Field:
    """A selectable field: the model attribute it reads and its kind."""

    attr: str
    kind: str


USER_FIELDS: dict[str, Field] = {
    "login": Field("login", TEXT),
    "extid": Field("extid", TEXT),
    "lname": Field("last_name", TEXT),
    "fname": Field("first_name", TEXT),
    "email": Field("email", EMAIL),
    "org": Field("organisation", ORG),
    "audience": Field("audiences", AUDIENCE),
    "disabled": Field("disabled", BOOL),
    "culture": Field("culture", TEXT),
    "city": Field("city", TEXT),
    "country": Field("country", TEXT),
    **{f"udtf{i}": Field(f"custom{i}", TEXT) for i in range(1, 11)},
    "activation_date": Field("activation_date", DATE),
    "expiration_date": Field("expiration_date", DATE),
    "manager": Field("manager", USER),
}
CONTENT_FIELDS: dict[str, Field] = {
    "code": Field("code", TEXT),
    "title": Field("title", TEXT),
    "extref": Field("extref", TEXT),
    "category": Field("category", CATEGORY),
    "folder": Field("folder", FOLDER),
    "provider": Field("provider", TEXT),
    "audience": Field("audiences", AUDIENCE),
    "disabled": Field("disabled", BOOL),
    "published": Field("published", BOOL),
}
FIELDS = {"users": USER_FIELDS, "courses": CONTENT_FIELDS, "curricula": CONTENT_FIELDS}


def _model(target: str):
    """The model a target selects from."""
    return {"users": User, "courses": Course, "curricula": Curriculum}[target]


def _key(target: str) -> str:
    """The identifier explicit ids and exclusions name: logins for users, codes otherwise."""
    return "login" if target == "users" else "code"


def _where_error(reason: str) -> FileError:
    return FileError("invalid_parameter", key="where", reason=reason)


def _split_ids(text: str) -> builtins.list[str]:
    """Identifiers from "a,b,c": trimmed, blanks dropped."""
    return [s.strip() for s in text.split(",") if s.strip()]


def _read_ids_file(path: str) -> builtins.list[str]:
    """Identifiers from a file, one a line (blank lines ignored), its size bounded."""
    limit = getattr(settings, "REGISTRAR_MAX_IDS_BYTES", MAX_IDS_BYTES)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        raise FileError("unreadable_file", reason=f"no file at {path}") from None
    except OSError as e:
        raise FileError("unreadable_file", reason=f"{path}: {e.strerror or e}") from None
    if len(raw) > limit:
        raise FileError("file_too_large", reason=f"an identifiers file may hold {limit:,} bytes")
    try:
        text = raw.decode(detect_encoding(raw[:65536]))
    except (UnicodeDecodeError, LookupError):
        raise FileError("unreadable_file", reason=f"{path} is not a text file") from None
    if "\x00" in text:
        raise FileError("unreadable_file", reason=f"{path} holds a NUL character")
    return [s.strip() for s in text.splitlines() if s.strip()]


def _criterion(item) -> tuple[str, str, str]:
    """One criterion from "FIELD:OP:VALUE" (split on the first two colons only) or a
    [field, op, value] list; a JSON value may be a boolean, a number or, for `in`, a list."""
    if isinstance(item, str):
        parts = item.split(":", 2)
        if len(parts) < 2:
            raise _where_error(f"{item[:100]!r} is not FIELD:OP:VALUE")
        name, op = parts[0], parts[1]
        value = parts[2] if len(parts) == 3 else None
    elif isinstance(item, (builtins.list, tuple)) and len(item) in (2, 3):
        name, op = item[0], item[1]
        value = item[2] if len(item) == 3 else None
        if not isinstance(name, str) or not isinstance(op, str):
            raise _where_error("a criterion's field and operator are strings")
    else:
        raise _where_error('a criterion is "FIELD:OP:VALUE" or [FIELD, OP, VALUE]')
    if value is None:
        if op.strip().lower() != "empty":  # only `empty` reads well without a value
            raise _where_error(f"{name}:{op}: no value given")
        value = ""
    elif isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (int, float)):
        value = str(value)
    elif isinstance(value, builtins.list):
        if op.strip().lower() != "in" or not all(isinstance(v, str) for v in value):
            raise _where_error(f"{name}:{op}: a list of values is for `in`, of strings")
        value = SEPARATOR.join(value)
    elif not isinstance(value, str):
        raise _where_error(f"{name}:{op}: a value is a string")
    return name.strip().lower(), op.strip().lower(), value.strip()


def _strings(obj: dict, key: str) -> builtins.list[str] | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, builtins.list) or not all(isinstance(s, str) for s in v):
        raise FileError("invalid_parameter", key=key, reason="a list of identifiers (strings)")
    return [s.strip() for s in v if s.strip()]


def _flag(obj: dict, key: str) -> bool:
    v = obj.get(key, False)
    if not isinstance(v, bool):
        raise FileError("invalid_parameter", key=key, reason="true or false")
    return v


def _list_name(name) -> str | None:
    """A saved list's name; an empty one is refused (it would select every user)."""
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise FileError("invalid_parameter", key="list", reason="a list's name is needed")
    return name.strip()


def _where_list(value) -> builtins.list[tuple[str, str, str]]:
    if value is None:
        return []
    if not isinstance(value, builtins.list):
        raise _where_error("a list of criteria")
    return [_criterion(x) for x in value]


@dataclass
class Selection:
    """What a bulk action acts on (SPEC §5); `check` validates it, `resolve` runs it."""

    target: str = "users"  # users, courses, curricula
    where: list[tuple[str, str, str]] = field(default_factory=builtins.list)
    any: bool = False
    include_disabled: bool = False
    list: str | None = None  # a saved list's name (users only)
    ids: list[str] | None = None  # logins for users, codes for courses/curricula
    exclude: list[str] = field(default_factory=builtins.list)

    @classmethod
    def from_args(
        cls,
        target,
        where=(),
        any=False,  # the CLI's option names (shadowing the builtins here)
        include_disabled=False,
        list=None,
        ids: str | None = None,
        exclude: str | None = None,
    ) -> Selection:
        """A selection from the command line's strings (`--where` repeated, `--ids a,b|@FILE`)."""
        where = [where] if isinstance(where, str) else (where or ())
        if ids is None:
            id_list = None
        elif ids.startswith("@"):
            id_list = _read_ids_file(ids[1:])
        else:
            id_list = _split_ids(ids)
        return cls(
            target=str(target).strip().lower(),
            where=[_criterion(w) for w in where],
            any=bool(any),
            include_disabled=bool(include_disabled),
            list=_list_name(list),
            ids=id_list,
            exclude=_split_ids(exclude or ""),
        )

    @classmethod
    def from_json(cls, target, obj: dict) -> Selection:
        """A selection from the API's JSON object; unknown keys are refused."""
        if obj is None:
            obj = {}
        if not isinstance(obj, dict):
            raise FileError("invalid_parameter", key="selection", reason="a JSON object")
        for k in obj:
            if k not in JSON_KEYS:
                raise FileError(
                    "invalid_parameter",
                    key=str(k),
                    reason=f"unknown key; keys: {', '.join(JSON_KEYS)}",
                )
        return cls(
            target=str(target).strip().lower(),
            where=_where_list(obj.get("where")),
            any=_flag(obj, "any"),
            include_disabled=_flag(obj, "include_disabled"),
            list=_list_name(obj.get("list")),
            ids=_strings(obj, "ids"),
            exclude=_strings(obj, "exclude") or [],
        )

    def to_json(self) -> dict:
        """The JSON object `from_json` reads back (the target is kept apart, as it is given)."""
        return {
            "where": [[f, op, v] for f, op, v in self.where],
            "any": self.any,
            "include_disabled": self.include_disabled,
            "list": self.list,
            "ids": None if self.ids is None else builtins.list(self.ids),
            "exclude": builtins.list(self.exclude),
        }

    def is_empty_request(self) -> bool:
        """Nothing given at all: no criterion, no list, no identifiers (= every item)."""
        return not self.where and not self.list and self.ids is None


@dataclass
class Resolved:
    """A resolved selection: the selected primary keys and the identifiers that matched nothing."""

    ids: list[int]  # sorted ascending
    missing: list[str]  # explicit identifiers that matched nothing, in the order given


# ---------------------------------------------------------------------------------------------
# Checking: every criterion parsed and every name it references looked up (one query per
# referenced table), before the selection's own query is built.


@dataclass
class _Crit:
    name: str
    op: str
    raw: str
    spec: Field
    value: object = None  # parsed: str, bool, date, list[str]


def _bool(c: _Crit, s: str) -> bool:
    low = s.lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise _where_error(f"{c.name}:{c.op}: {s!r} is not a boolean (true, false, yes, no, 1, 0)")


_DATE = date_()


def _parse(target: str, name: str, op: str, raw: str) -> _Crit:
    """A criterion checked against the target's fields and operators, its value parsed."""
    fields = FIELDS[target]
    spec = fields.get(name)
    if spec is None:
        raise FileError("unknown_field", field=name, detail=f"; fields: {', '.join(fields)}")
    c = _Crit(name, op, raw, spec)
    if op not in OPERATORS:
        raise _where_error(f"unknown operator {op!r}; operators: {', '.join(OPERATORS)}")
    allowed = KIND_OPS[spec.kind]
    if op not in allowed:
        raise _where_error(
            f"operator {op!r} does not apply to {name} ({spec.kind}); use {', '.join(allowed)}"
        )
    if len(raw) > MAX_VALUE:
        raise _where_error(f"{name}:{op}: the value is longer than {MAX_VALUE} characters")
    if op == "empty":
        c.value = True if raw == "" else _bool(c, raw)
    elif raw == "":
        raise _where_error(f"{name}:{op}: no value given (use {name}:empty to select empty ones)")
    elif op == "in":
        c.value = builtins.list(dict.fromkeys(v.strip() for v in raw.split(SEPARATOR) if v.strip()))
        if not c.value:
            raise _where_error(f"{name}:in: no value given (A{SEPARATOR}B)")
    elif spec.kind == BOOL:
        c.value = _bool(c, raw)
    elif spec.kind == DATE:
        try:
            c.value = _DATE(raw)
        except CellError as e:
            raise _where_error(
                f"{name}:{op}: {raw!r} is not a date (YYYY-MM-DD or YYYY/MM/DD)"
                + e.params.get("detail", "")
            ) from None
    else:
        c.value = raw
    if spec.kind == FOLDER and op in ("eq", "in"):  # "HR/Onboarding/" is the folder's path too
        names = c.value if op == "in" else [c.value]
        names = [v.strip("/") for v in names]
        c.value = names if op == "in" else names[0]
    return c


def _named(c: _Crit) -> builtins.list[str]:
    """The names a reference criterion looks up (contains and empty look up nothing)."""
    if c.spec.kind not in (ORG, AUDIENCE, USER, CATEGORY, FOLDER) or c.op not in ("eq", "in"):
        return []
    return c.value if c.op == "in" else [c.value]


@dataclass
class _Refs:
    """Every referenced name's id, looked up once for all criteria."""

    orgs: dict = field(default_factory=dict)  # extid -> id
    audiences: dict = field(default_factory=dict)  # name -> id
    users: dict = field(default_factory=dict)  # login -> id
    categories: dict = field(default_factory=dict)  # name -> id
    folders: dict = field(default_factory=dict)  # path -> id (every folder under a named one)
    org_children: dict | None = None  # the organisation tree, when a subtree is asked for


def _look_up(crits: builtins.list[_Crit]) -> _Refs:
    """One query per referenced table; a name that matches nothing is an error naming it."""
    want: dict[str, set] = {}
    for c in crits:
        want.setdefault(c.spec.kind, set()).update(_named(c))
    refs = _Refs()
    if want.get(ORG):
        rows = Organisation.objects.filter(extid__in=want[ORG]).values_list("extid", "id")
        refs.orgs = dict(rows)
        if any(c.spec.kind == ORG and c.op == "in" for c in crits):
            refs.org_children = tree.children_map()
    if want.get(AUDIENCE):
        refs.audiences = dict(
            Audience.objects.filter(name__in=want[AUDIENCE]).values_list("name", "id")
        )
    if want.get(USER):
        refs.users = dict(User.objects.filter(login__in=want[USER]).values_list("login", "id"))
    if want.get(CATEGORY):
        refs.categories = dict(
            Category.objects.filter(name__in=want[CATEGORY]).values_list("name", "id")
        )
    if want.get(FOLDER):
        q = Q(path__in=want[FOLDER])
        for c in crits:
            if c.spec.kind == FOLDER and c.op == "in":
                for p in c.value:
                    q |= Q(path__startswith=p + "/")
        refs.folders = dict(Folder.objects.filter(q).values_list("path", "id"))
    found = {
        ORG: refs.orgs,
        AUDIENCE: refs.audiences,
        USER: refs.users,
        CATEGORY: refs.categories,
        FOLDER: refs.folders,
    }
    what = {
        ORG: "no organisation has the external id",
        AUDIENCE: "no audience is named",
        USER: "no user has the login",
        CATEGORY: "no category is named",
        FOLDER: "no folder has the path",
    }
    for c in crits:
        for v in _named(c):
            if v not in found[c.spec.kind]:
                raise _where_error(f"{c.name}:{c.op}: {what[c.spec.kind]} {v!r}")
    return refs


# ---------------------------------------------------------------------------------------------
# Building the query: one Q per criterion over the target's own table (subqueries for
# audiences), combined with AND or OR.


def _text_q(attr: str, c: _Crit, model) -> Q:
    if c.op == "eq":
        return Q(**{attr: c.value})
    if c.op == "contains":
        return Q(**{f"{attr}__icontains": c.value})
    if c.op == "in":
        return Q(**{f"{attr}__in": c.value})
    blank = Q(**{attr: ""})
    if model._meta.get_field(attr).null:
        blank |= Q(**{f"{attr}__isnull": True})
    return blank if c.value else ~blank


def _audience_q(model, c: _Crit, refs: _Refs) -> Q:
    m2m = model._meta.get_field("audiences")
    through = m2m.remote_field.through
    fk = m2m.m2m_field_name()  # the through table's column naming the item: user, course...
    rows = through.objects.filter(**{fk: OuterRef("pk")})
    if c.op == "empty":
        return Q(~Exists(rows)) if c.value else Q(Exists(rows))
    ids = [refs.audiences[v] for v in _named(c)]
    return Q(Exists(rows.filter(audience_id__in=ids)))


def _subtree(ids, children) -> set[int]:
    """The organisations under any of `ids`, the tree read once by the caller."""
    out: set[int] = set()
    for pk in ids:
        out |= tree.subtree(pk, children)
    return out


def _q(model, c: _Crit, refs: _Refs) -> Q:
    """The condition one criterion puts on the target's rows."""
    attr, kind, op = c.spec.attr, c.spec.kind, c.op
    if kind == TEXT:
        return _text_q(attr, c, model)
    if kind == EMAIL:
        if op == "eq":
            return Q(Exact(Lower(attr), c.value.lower()))
        if op == "in":
            return Q(In(Lower(attr), [v.lower() for v in c.value]))
        return _text_q(attr, c, model)
    if kind == BOOL:
        return Q(**{attr: c.value})
    if kind == DATE:
        if op == "empty":
            return Q(**{f"{attr}__isnull": c.value})
        lookup = {"eq": "", "before": "__lt", "after": "__gt"}[op]
        return Q(**{f"{attr}{lookup}": c.value})
    if kind == AUDIENCE:
        return _audience_q(model, c, refs)
    if op == "empty":  # manager, category, folder: no reference
        return Q(**{f"{attr}__isnull": c.value})
    if kind == ORG:
        ids = [refs.orgs[v] for v in _named(c)]
        if op == "in":
            return Q(organisation_id__in=sorted(_subtree(ids, refs.org_children)))
        return Q(organisation_id=ids[0])
    if kind == USER:
        return Q(**{f"{attr}_id": refs.users[c.value]})
    if op == "contains":  # category by name, folder by path
        name = "name" if kind == CATEGORY else "path"
        return Q(**{f"{attr}__{name}__icontains": c.value})
    if kind == CATEGORY:
        return Q(category_id__in=[refs.categories[v] for v in _named(c)])
    if op == "eq":
        return Q(folder_id=refs.folders[c.value])
    under = {
        pk
        for path, pk in refs.folders.items()
        if any(path == p or path.startswith(p + "/") for p in c.value)
    }
    return Q(folder_id__in=sorted(under))


def _criteria_q(target: str, where, any_: bool) -> tuple[Q, bool]:
    """The condition of a list of criteria, and whether one of them is on `disabled`."""
    if len(where) > MAX_CRITERIA:
        raise _where_error(f"at most {MAX_CRITERIA} criteria")
    crits = [_parse(target, *_criterion(w)) for w in where]  # built by hand too: normalised
    if not crits:
        return Q(), False
    refs = _look_up(crits)
    model = _model(target)
    qs = [_q(model, c, refs) for c in crits]
    out = qs[0]
    for q in qs[1:]:
        out = (out | q) if any_ else (out & q)
    return out, builtins.any(c.spec.attr == "disabled" for c in crits)


def _list_q(name: str) -> tuple[Q, bool]:
    """The members of a saved list: static (its ListMember rows) or dynamic (its criteria,
    evaluated now)."""
    row = UserList.objects.filter(name=name).values("id", "kind", "criteria").first()
    if row is None:
        raise FileError("invalid_parameter", key="list", reason=f"no list is named {name!r}")
    if row["kind"] != UserList.Kind.DYNAMIC:
        members = ListMember.objects.filter(user_list_id=row["id"]).values("user_id")
        return Q(pk__in=members), False
    criteria = row["criteria"] or {}
    try:
        if not isinstance(criteria, dict):
            raise _where_error("the criteria are not a JSON object")
        extra = [k for k in criteria if k not in LIST_KEYS]
        if extra:
            raise _where_error(f"unknown key {extra[0]!r}; keys: {', '.join(LIST_KEYS)}")
        return _criteria_q("users", _where_list(criteria.get("where")), _flag(criteria, "any"))
    except FileError as e:
        reason = CODES[e.code].format(**e.params) if e.code in CODES else e.code
        raise FileError(
            "invalid_parameter", key="list", reason=f"list {name!r} cannot be used: {reason}"
        ) from None


@dataclass
class _Plan:
    """A checked selection: the query's condition, or the explicit identifiers to look up."""

    target: str
    condition: Q | None  # None: an explicit-ids selection
    names_disabled: bool = False  # a criterion (or the list's) is on `disabled`


def _compile(sel: Selection) -> _Plan:
    if sel.target not in TARGETS:
        raise FileError(
            "invalid_parameter",
            key="target",
            reason=f"unknown target {sel.target!r}; targets: {', '.join(TARGETS)}",
        )
    if sel.list is not None and sel.target != "users":
        raise FileError(
            "invalid_parameter", key="list", reason=f"lists hold users, not {sel.target}"
        )
    if sel.ids is not None and (sel.where or sel.list):
        raise FileError(
            "invalid_combination",
            first="ids",
            second="where" if sel.where else "list",
            detail=": explicit identifiers are a selection by themselves",
        )
    cond, names_disabled = _criteria_q(sel.target, sel.where, sel.any)
    if sel.ids is not None:
        return _Plan(sel.target, None)
    if sel.list:
        list_cond, list_disabled = _list_q(sel.list)
        cond &= list_cond
        names_disabled = names_disabled or list_disabled
    return _Plan(sel.target, cond, names_disabled)


def check(sel: Selection) -> None:
    """Raise FileError (exit status 2) for anything in the selection that cannot be used."""
    _compile(sel)


def _queryset(sel: Selection, plan: _Plan, scope_ids: set[int] | None):
    """The selection's rows, for a criteria or list selection."""
    model = _model(sel.target)
    qs = model.objects.filter(plan.condition)
    if sel.target == "users" and scope_ids is not None:
        qs = qs.filter(organisation_id__in=sorted(scope_ids))
    # A criterion on `disabled` says what it wants of it: the default exclusion would undo it.
    if not (sel.include_disabled or plan.names_disabled):
        qs = qs.filter(disabled=False)
    if sel.exclude:
        qs = qs.exclude(**{f"{_key(sel.target)}__in": sel.exclude})
    return qs


def _explicit(sel: Selection) -> tuple[builtins.list[tuple[str, int]], builtins.list[str]]:
    """(identifier, pk) of each explicit identifier found, and those found nowhere, in the
    order given; exclusions removed first. One query per chunk of identifiers."""
    key = _key(sel.target)
    dropped = set(sel.exclude)
    wanted = [k for k in dict.fromkeys(sel.ids or ()) if k not in dropped]
    found: dict[str, int] = {}
    model = _model(sel.target)
    for part in chunks(wanted, RAW_CHUNK):
        found.update((k, row["id"]) for k, row in by_key(model, key, part, "id").items())
    return [(k, found[k]) for k in wanted if k in found], [k for k in wanted if k not in found]


def resolve(sel: Selection, scope_ids: set[int] | None = None) -> Resolved:
    """The selected items' primary keys (sorted) and the explicit identifiers that matched
    nothing. `scope_ids`: the organisations an administrator is confined to (None: all)."""
    plan = _compile(sel)
    if plan.condition is None:
        hits, missing = _explicit(sel)
        return Resolved(sorted({pk for _, pk in hits}), missing)
    qs = _queryset(sel, plan, scope_ids)
    return Resolved(builtins.list(qs.order_by("id").values_list("id", flat=True)), [])


USER_PREVIEW = ("login", "last_name", "first_name", "email", "organisation__extid", "disabled")
CONTENT_PREVIEW = ("code", "title", "published", "disabled")


def _rows(qs, target: str, limit: int) -> builtins.list[dict]:
    if target != "users":
        return builtins.list(qs.order_by("code").values(*CONTENT_PREVIEW)[:limit])
    names = [n.removesuffix("__extid") for n in USER_PREVIEW]  # organisation: its extid
    rows = qs.order_by("login").values_list(*USER_PREVIEW)[:limit]
    return [dict(zip(names, r, strict=True)) for r in rows]


def preview(sel: Selection, scope_ids: set[int] | None = None, limit: int = 20):
    """(count, first rows) for the portal's selection page, ordered by login or code: two
    queries for a criteria or list selection."""
    plan = _compile(sel)
    model = _model(sel.target)
    if plan.condition is None:
        hits, _ = _explicit(sel)
        first = sorted(hits)[:limit]
        return len({pk for _, pk in hits}), _rows(
            model.objects.filter(pk__in=[pk for _, pk in first]), sel.target, limit
        )
    qs = _queryset(sel, plan, scope_ids)
    return qs.count(), _rows(qs, sel.target, limit)


def describe_fields(target: str) -> dict[str, tuple[str, ...]]:
    """Each field of a target and the operators it takes (for help texts and the portal)."""
    return {name: KIND_OPS[f.kind] for name, f in FIELDS[target].items()}
