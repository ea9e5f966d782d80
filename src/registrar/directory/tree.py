"""The organisation tree: the subtrees that scopes, grants and imports are confined to."""

from .models import Organisation


def children_map() -> dict[int | None, list[int]]:
    """Every organisation's children, by parent id (one query for the whole tree)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Organisation.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    return children


def subtree(root_id: int, children: dict[int | None, list[int]] | None = None) -> set[int]:
    """Ids of an organisation and all its descendants (the tree read once when not given)."""
    children = children_map() if children is None else children
    out, stack = set(), [root_id]
    while stack:
        pk = stack.pop()
        if pk not in out:
            out.add(pk)
            stack.extend(children.get(pk, ()))
    return out
