"""What the course and curriculum assistants share (SPEC §5): setting fields of the selected
items, their custom fields, adding audiences; each a set-based, journalled write."""

import json

from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Course, Curriculum
from registrar.core import lookups
from registrar.core.errors import FileError
from registrar.journal import writes

from ... import params as P
from ...action import Action, Param
from ...kind import UNCHANGED, UPDATED

MODELS = {"courses": Course, "curricula": Curriculum}
KIND = {"courses": "course", "curricula": "curriculum"}
CUSTOM = tuple(f"custom{i}" for i in range(1, 11))


def item(r) -> dict:
    """The selected course or curriculum of a row (the source loaded it with item_fields)."""
    return r.values["item"]


def as_object(value) -> dict:
    """A JSON field as read by the set-based lookups (PostgreSQL gives its text)."""
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return dict(value or {})


def require_some(values: dict) -> None:
    if not values:
        raise FileError("invalid_parameter", key="params", reason="no value to set")


class ContentValues(Action):
    """Set fields of each selected item: updated when a value differs, unchanged otherwise."""

    domain = "catalogue"

    def wanted(self, values: dict) -> dict:
        """The fields to set, by attname."""
        return dict(values)

    def check(self, values):
        require_some(values)

    def check_row(self, r, before: dict, after: dict) -> bool:
        """Rules on the item's values once changed; reject the row and return False to stop."""
        return True

    def plan(self, rows, refs, ctx):
        wanted = self.wanted(ctx.options)
        for r in rows:
            before = item(r)
            diff = {k: v for k, v in wanted.items() if before.get(k) != v}
            if not diff:
                r.result = UNCHANGED
                continue
            if not self.check_row(r, before, {**before, **diff}):
                continue
            r.data["update"] = (before["id"], diff, {k: before[k] for k in (*diff, "op")}, r.number)
            r.result = UPDATED

    def apply(self, rows, refs, ctx):
        writes.update(MODELS[self.target], [r.data["update"] for r in rows], ctx.op)


def info_params(target: str) -> list[Param]:
    """courses.modify-info / curricula.modify-info: disabled, provider (courses), free texts."""
    out = [Param("disabled", P.Boolean(), help=_("true disables the items, false enables them."))]
    if target == "courses":
        out.append(Param("provider", P.Text(max_length=150), help=_("The provider's name.")))
    out += [
        Param(
            f"free_text{i}",
            P.Text(max_length=10_000, widget="textarea"),
            nullable=True,
            help=_("Free text; null clears it."),
        )
        for i in (1, 2)
    ]
    return out


class ContentInfo(ContentValues):
    """Modify the general information: null clears a free text."""

    item_fields = ("disabled", "provider", "free_text1", "free_text2", "op")
    examples = [{"free_text1": "Reviewed in 2026", "free_text2": None}]

    def wanted(self, values):
        return {k: "" if v is None else v for k, v in values.items()}


class ContentCustom(ContentValues):
    """Modify custom fields 1–10 (kept in the item's `custom` object; null clears one)."""

    item_fields = ("custom", "op")
    params = [
        Param(k, P.Text(max_length=255), nullable=True, help=_("Free text; null clears it."))
        for k in CUSTOM
    ]
    examples = [{"custom1": "2026 catalogue", "custom2": None}]

    def plan(self, rows, refs, ctx):
        given = ctx.options
        for r in rows:
            before = item(r)
            old = as_object(before.get("custom"))
            new = {**old, **{k: v for k, v in given.items() if v is not None}}
            for k in (k for k, v in given.items() if v is None):
                new.pop(k, None)
            if new == old:
                r.result = UNCHANGED
                continue
            was = {"custom": old, "op": before["op"]}
            r.data["update"] = (before["id"], {"custom": new}, was, r.number)
            r.result = UPDATED


class ContentAudiences(Action):
    """Add audiences to each selected item; those it has already stay, none is taken away."""

    domain = "catalogue"
    params = [
        Param(
            "audiences",
            P.names("audience"),
            required=True,
            help=_("The names of the audiences, e.g. Managers."),
        )
    ]

    def through(self):
        return MODELS[self.target].audiences.through

    def resolve(self, rows, ctx):
        own = f"{KIND[self.target]}_id"
        audiences = [a["id"] for a in ctx.options["audiences"]]
        ids = [item(r)["id"] for r in rows]
        have = set()
        for part in lookups.chunks(ids):
            qs = self.through().objects.filter(**{f"{own}__in": part}, audience_id__in=audiences)
            have.update(qs.values_list(own, "audience_id"))
        return {"have": have}

    def plan(self, rows, refs, ctx):
        own = f"{KIND[self.target]}_id"
        audiences = [a["id"] for a in ctx.options["audiences"]]
        for r in rows:
            pk = item(r)["id"]
            add = [a for a in audiences if (pk, a) not in refs["have"]]
            if add:
                r.data["add"] = [{own: pk, "audience_id": a} for a in add]
                r.result = UPDATED
            else:
                r.result = UNCHANGED

    def apply(self, rows, refs, ctx):
        writes.insert(self.through(), [x for r in rows for x in r.data["add"]], ctx.op)
