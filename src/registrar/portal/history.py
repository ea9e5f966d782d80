"""The history's filters, and how an operation is named and shown to a person."""

from datetime import date, datetime, time

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from registrar.journal.models import Operation

KINDS = ("import", "action", "undo", "admin", "export")
MAX_FILTER = 150  # characters of a free-text filter


def kind_choices() -> list[tuple[str, str]]:
    """The history's "what" filter: value and label."""
    return [
        ("import", _("imports")),
        ("action", _("actions")),
        ("undo", _("undos")),
        ("admin", _("admin edits")),
        ("export", _("exports")),
    ]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10]) if text.strip() else None
    except ValueError:
        return None


def filters(get) -> dict:
    """The history's filters from the query string; a bad value is ignored, never an error."""
    kind = get.get("what", "")
    return {
        "what": kind if kind in KINDS else "",
        "kind": get.get("kind", "")[:MAX_FILTER],
        "who": get.get("who", "").strip()[:MAX_FILTER],
        "from": _day(get.get("from", "")),
        "to": _day(get.get("to", "")),
        "checks": get.get("checks") == "on",
    }


def filtered(qs, f: dict):
    """The operations the filters keep; verify-only checks only when asked for."""
    if not f["checks"]:
        qs = qs.filter(verify_only=False)
    if f["what"]:
        qs = qs.filter(kind=f["what"])
    if f["kind"]:
        qs = qs.filter(name=f["kind"])
    if f["who"]:
        qs = qs.filter(actor_label__icontains=f["who"])
    tz = timezone.get_current_timezone()
    if f["from"]:
        qs = qs.filter(started_at__gte=datetime.combine(f["from"], time.min, tzinfo=tz))
    if f["to"]:
        qs = qs.filter(started_at__lte=datetime.combine(f["to"], time.max, tzinfo=tz))
    return qs


def query_string(f: dict, **more) -> str:
    """The filters as a query string, for the pager's links."""
    from urllib.parse import urlencode

    pairs = [(k, v) for k, v in f.items() if v and k != "checks"]
    if f.get("checks"):
        pairs.append(("checks", "on"))
    pairs += [(k, v) for k, v in more.items() if v]
    return urlencode([(k, v.isoformat() if isinstance(v, date) else v) for k, v in pairs])


def title(op: Operation) -> str:
    """What the operation did, as a person says it: an undo of an undo is a redo."""
    if op.kind == "undo" and op.undo_of_id:
        first = op.undo_of
        if first is not None and first.kind == "undo" and first.undo_of_id:
            return _("redo #%(op)s") % {"op": first.undo_of_id}
        return _("undo #%(op)s") % {"op": op.undo_of_id}
    return op.name


def states(ops: list[Operation]) -> dict[int, dict]:
    """For each undone operation, where its chain of undos ends: undone, or redone (undone, and
    that undo undone in turn), with the operation that decided it. One query per link."""
    out: dict[int, dict] = {}
    chain = {op.pk: [op.undone_by_id] for op in ops if op.undone_by_id}
    todo = {pk: ids[-1] for pk, ids in chain.items()}
    for _round in range(10):  # a redo of a redo of a redo…: a few links at most
        if not todo:
            break
        nxt = dict(
            Operation.objects.filter(
                pk__in=set(todo.values()), undone_by__isnull=False
            ).values_list("pk", "undone_by_id")
        )
        todo = {pk: nxt[last] for pk, last in todo.items() if last in nxt}
        for pk, by in todo.items():
            chain[pk].append(by)
    for pk, ids in chain.items():
        redone = len(ids) % 2 == 0
        out[pk] = {
            "undone_by": ids[0],
            "last": ids[-1],
            "redone": redone,
            "text": (
                _("undone by #%(by)s, redone by #%(last)s")
                if redone
                else (
                    _("undone by #%(by)s")
                    if len(ids) == 1
                    else _("undone by #%(by)s, redone and undone again by #%(last)s")
                )
            )
            % {"by": ids[0], "last": ids[-1]},
        }
    return out


def readable(value) -> str:
    """An option's value for a person: lists joined, booleans as yes/no, nested keys named."""
    if value is None or value == "":
        return "—"
    if value is True:
        return pgettext("option value", "yes")
    if value is False:
        return pgettext("option value", "no")
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {readable(v)}" for k, v in value.items()) or "—"
    return str(value)


def options(op: Operation) -> list[tuple[str, str]]:
    """The operation's options as (name, readable value) pairs, nested ones flattened one level
    (an action's parameters and selection)."""
    out = []
    for k, v in (op.options or {}).items():
        if k in ("tables", "codes"):  # an undo's per-table counts, the rows per code: shown apart
            continue
        if isinstance(v, dict) and k in ("params", "set"):
            out.extend((f"{name}", readable(x)) for name, x in v.items())
        else:
            out.append((k, readable(v)))
    return out


def tables(op: Operation) -> list[dict]:
    """An undo's counts per table: what it removed, restored and re-created."""
    from django.apps import apps

    rows = []
    per = (op.options or {}).get("tables") or {}
    for what, label in (
        ("deleted", _("removed")),
        ("updated", _("restored")),
        ("created", _("re-created")),
    ):
        for table, n in sorted((per.get(what) or {}).items(), key=lambda x: -x[1]):
            try:
                meta = apps.get_model(table)._meta
                name = meta.verbose_name if n == 1 else meta.verbose_name_plural
            except LookupError:
                name = table
            rows.append({"what": label, "table": str(name), "n": n})
    return rows
