"""What a row sets and what it changes: one rule for empty cells (update_info_if_present) and
one comparison with the stored values, for every import kind and action."""

from collections.abc import Mapping


def keeps(column: str, values: dict, present, keep_empty: bool) -> bool:
    """Does the row leave this column as it is: the file lacks it, or its cell is empty and
    update_info_if_present keeps the stored value."""
    return column not in present or (keep_empty and values[column] is None)


def incoming(
    values: dict,
    fields: Mapping[str, str],
    present,
    keep_empty: bool,
    empty: Mapping[str, object] | None = None,
) -> dict:
    """The fields a row sets ({column: field}): each column the file has; an empty cell sets the
    field's empty value (`empty`, else ""), unless `keep_empty` leaves the field out."""
    empty = empty or {}
    out = {}
    for col, fld in fields.items():
        if keeps(col, values, present, keep_empty):
            continue
        val = values[col]
        out[fld] = empty.get(fld, "") if val is None else val
    return out


def differences(current: dict, wanted: dict) -> dict:
    """The wanted values that differ from the current ones."""
    return {k: v for k, v in wanted.items() if current.get(k) != v}
