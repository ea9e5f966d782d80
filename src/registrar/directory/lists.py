"""Verbs on static lists: find or create lists (and their folders) and add members, set-based and
journalled. Imports and actions call these; a member is only ever added here, never moved."""

from collections.abc import Iterable, Mapping
from datetime import datetime

from registrar.core import lookups
from registrar.journal import writes
from registrar.journal.models import Operation

from .models import ListFolder, ListMember, UserList

DEFAULT_FOLDER = "Default"
MAX_NAME = UserList._meta.get_field("name").max_length  # 150


def folder_path(path: str | None) -> list[str]:
    """A folder path ("HR/Onboarding") as its names, top level first; empty means Default."""
    names = [p.strip() for p in (path or "").split("/") if p.strip()]
    return names or [DEFAULT_FOLDER]


def find_or_create_folder(op: Operation, path: str | None = DEFAULT_FOLDER) -> int:
    """The id of the folder at `path` (names from the top level, "/" between them); the levels
    missing are created, journalled. Where two folders share a name under one parent (possible
    by hand), the oldest is taken."""
    parent = None
    for name in folder_path(path):
        pk = (
            ListFolder.objects.filter(name=name, parent_id=parent)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            pk = writes.insert(ListFolder, [{"name": name, "parent_id": parent}], op)[0]
        parent = pk
    return parent


def find_or_create_lists(
    op: Operation,
    names: Iterable[str],
    description: str | Mapping[str, str] = "",
    folder: str | None = DEFAULT_FOLDER,
) -> dict[str, dict]:
    """The static lists called `names` (exact names), by name: {"id", "created"}. Those missing
    are created in `folder` with `description` (one text, or one per name), in one journalled
    insert; an existing list keeps its folder and description. A dynamic list of one of the
    names is a ValueError: its members come from its criteria (callers refuse it first)."""
    names = list(dict.fromkeys(n for n in names if n))
    found = lookups.by_key(UserList, "name", names, "id", "kind")
    dynamic = [n for n, x in found.items() if x["kind"] != UserList.Kind.STATIC]
    if dynamic:
        raise ValueError(f"list {dynamic[0]!r} is dynamic: members cannot be added to it")
    out = {n: {"id": x["id"], "created": False} for n, x in found.items()}
    todo = [n for n in names if n not in found]
    if todo:
        folder_id = find_or_create_folder(op, folder)
        ids = writes.insert(
            UserList,
            [
                {
                    "name": n,
                    "description": description
                    if isinstance(description, str)
                    else description.get(n, ""),
                    "folder_id": folder_id,
                    "kind": UserList.Kind.STATIC,
                }
                for n in todo
            ],
            op,
        )
        out.update({n: {"id": pk, "created": True} for n, pk in zip(todo, ids, strict=True)})
    return out


def find_or_create_list(
    op: Operation, name: str, description: str = "", folder: str | None = DEFAULT_FOLDER
) -> tuple[int, bool]:
    """The static list called `name`, created in `folder` if missing: (its id, whether created)."""
    x = find_or_create_lists(op, [name], description, folder)[name]
    return x["id"], x["created"]


def members_among(list_id: int, user_ids: Iterable[int]) -> set[int]:
    """Which of `user_ids` are members of the list: one query per 10,000 users."""
    out: set[int] = set()
    for part in lookups.chunks(user_ids, lookups.RAW_CHUNK):
        out.update(
            lookups.where_in(
                ListMember.objects.filter(user_list_id=list_id), "user", part
            ).values_list("user_id", flat=True)
        )
    return out


def add_memberships(
    op: Operation,
    pairs: Iterable[tuple[int, int]],
    entered_at: datetime,
    planned: bool = False,
) -> list[tuple[int, int]]:
    """Add users to lists: (list id, user id) pairs, each entering at `entered_at`. A pair already
    a member is left as it is (its entry date kept); returns the pairs added. One query for the
    members already there (none when `planned`: the caller read them in this transaction to
    plan its rows), one journalled insert. The lists' access properties that assign members
    assign the users added (learning.list_access)."""
    pairs = list(dict.fromkeys(pairs))
    if not planned:
        have = lookups.exact_pairs(ListMember, "user_list_id", "user_id", pairs)
        pairs = [p for p in pairs if p not in have]
    writes.insert(
        ListMember,
        [{"user_list_id": lst, "user_id": uid, "entered_at": entered_at} for lst, uid in pairs],
        op,
    )
    # The lists' access properties that assign their members assign these now (SPEC §5): here,
    # so that every path adding members (imports, actions) keeps the rule.
    from registrar.learning import list_access

    list_access.members_entered(op, [(lst, uid, entered_at) for lst, uid in pairs])
    return pairs


def add_members(
    op: Operation,
    list_id: int,
    user_ids: Iterable[int],
    entered_at: datetime,
    planned: bool = False,
) -> list[int]:
    """Add users to one list (see add_memberships); returns the ids of the users added."""
    user_ids = list(dict.fromkeys(int(u) for u in user_ids))
    if not planned:
        have = members_among(list_id, user_ids)
        user_ids = [u for u in user_ids if u not in have]
    add_memberships(op, [(list_id, u) for u in user_ids], entered_at, planned=True)
    return user_ids
