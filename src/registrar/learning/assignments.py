"""Verbs on assignments (course, curriculum): assign, change, remove — set-based and journalled.
Imports and actions call these; a curriculum's values carried down to its courses go the same
way. Removing an assignment never touches the learner's records (a completion stays)."""

from registrar.journal import writes

from .models import CourseAssignment, CurriculumAssignment, ProgrammeAssignment

MODELS = {
    "course": CourseAssignment,
    "curriculum": CurriculumAssignment,
    "programme": ProgrammeAssignment,
}
FIELDS = (
    "option",
    "start_date",
    "target_date",
    "end_date",
    "billing_mode",
    "billing_code",
    "unit_cost",
)


def assign(what: str, new: list[dict], changed: list[tuple], op, new_rows=None) -> list[int]:
    """Create assignments (`new`: rows with user_id, <what>_id, source, assigned_at and values)
    and change existing ones (`changed`: (pk, values, before with op, input row)). Returns the
    new assignments' ids."""
    model = MODELS[what]
    ids = writes.insert(model, new, op, new_rows)
    writes.update(model, changed, op)
    return ids


def remove(what: str, items: list[tuple[int, dict, int | None]], op) -> None:
    """Remove assignments ((pk, full before snapshot, input row)); records stay."""
    writes.delete(MODELS[what], items, op)


def assign_new(
    what: str,
    users: list[int],
    contents: list[int],
    op,
    same: dict,
    given: dict[str, list] | None = None,
) -> list[int]:
    """Create assignments of (user, content) pairs given as columns, each with the values in
    `same` (source, assigned_at…) and, row by row, those in `given` ({field: a value per pair};
    None in a field that cannot be empty takes the field's default, as a row that leaves the
    cell empty). Returns their ids."""
    model = MODELS[what]
    columns = {"user_id": users, f"{what}_id": contents}
    for name, values in (given or {}).items():
        f = model._meta.get_field(name)
        if not f.null and f.has_default():
            default = f.get_default()
            values = [default if v is None else v for v in values]
        columns[f.attname] = values
    return writes.insert_columns(model, columns, len(users), op, same=same)
