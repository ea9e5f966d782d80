"""What the course-assignments and curriculum-assignments imports share: their user, option and
date columns, their options, the user, date-order and audience checks, and how a row compares
with an existing assignment. Defines no import kind (the leading underscore keeps it a helper)."""

from collections import defaultdict
from collections.abc import Iterable

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from registrar.directory.models import User, UserAudience
from registrar.learning.models import Option as AssignmentOption

from .. import checks, lookups, parsers
from ..diff import differences
from ..kind import UNCHANGED, Column, Option, Row

DATES = ("start_date", "target_date", "end_date")  # the order they must follow
EARLIER = "(an earlier one)"  # a row of an earlier batch, whose number is not kept
USER_FIELDS = ("id", "login", "disabled", "training_access", "organisation_id")

ASSIGNMENT_OPTIONS = {
    **dict.fromkeys(("free", "f", "libre"), AssignmentOption.FREE),
    **dict.fromkeys(
        ("recommended", "r", "recommandé", "recommande", "recommandée", "recommandee"),
        AssignmentOption.RECOMMENDED,
    ),
    **dict.fromkeys(("mandatory", "m", "obligatoire"), AssignmentOption.MANDATORY),
}
parse_option = parsers.choice(
    ASSIGNMENT_OPTIONS,
    shown="free, recommended, mandatory (or F, R, M; libre, recommandé, obligatoire)",
)


def user_column() -> Column:
    return Column(
        "user_loginid",
        parsers.text(150),
        required=True,
        aliases=("user_login", "login", "username"),
        help=_(
            "The learner's login (exactly as stored). The account must exist, be enabled, have "
            "training access and be inside the import's scope."
        ),
        example="amartin",
    )


# The date columns' help, one full sentence per content kind (for the translators).
DATE_HELPS = {
    "course": {
        "start_date": _("When the course assignment starts."),
        "end_date": _("When the course assignment ends."),
        "target_date": _("The date by which the learner should have completed the course."),
    },
    "curriculum": {
        "start_date": _("When the curriculum assignment starts."),
        "end_date": _("When the curriculum assignment ends."),
        "target_date": _("The date by which the learner should have completed the curriculum."),
    },
}
DATE_RULES = _(
    "YYYY-MM-DD, YYYY/MM/DD or ISO 8601; dates may be in the future. "
    "Where given, start_date ≤ target_date ≤ end_date (`date_order`)."
)


def date_columns(what: str) -> list[Column]:
    """start_date, end_date, target_date: the vendor's column order."""
    helps = DATE_HELPS[what]
    aliases = {
        "start_date": ("start", "assignment_start_date"),
        "end_date": ("end", "assignment_end_date"),
        "target_date": ("target", "due_date", "objective_date"),
    }
    examples = {"start_date": "2025-01-06", "end_date": "2025-12-31", "target_date": "2025-03-31"}
    return [
        Column(
            name,
            parsers.date_(),
            aliases=aliases[name],
            help=format_lazy("{} {}", helps[name], DATE_RULES),
            example=examples[name],
        )
        for name in ("start_date", "end_date", "target_date")
    ]


def option_column() -> Column:
    return Column(
        "assignment_option",
        parse_option,
        aliases=("option",),
        help=_(
            "free, recommended or mandatory; also F, R, M and the French libre, recommandé, "
            "obligatoire (any case). Empty: free for a new assignment, unchanged for an existing one."
        ),
        example="mandatory",
    )


def common_options() -> list[Option]:
    return [
        Option(
            "respect_audiences",
            True,
            _(
                "Reject a new assignment (`audience_mismatch`) when the content has audiences and the "
                "user is in none of them. no: assign whatever the audiences (the explicit override)"
            ),
        ),
        Option(
            "update_existing",
            False,
            _(
                "Change existing assignments with the row's non-empty values. no: an existing "
                "assignment that the row would change is skipped (`already_assigned`)"
            ),
        ),
    ]


def now(ctx):
    """One assignment moment for the whole import (every batch)."""
    return ctx.state.setdefault("assigned_at", timezone.now())


def users_by_login(rows: list[Row]) -> dict[str, dict]:
    return lookups.by_key(User, "login", {r.values["user_loginid"] for r in rows}, *USER_FIELDS)


def check_user(r: Row, users: dict, ctx) -> dict | None:
    """The row's user, rejecting the row when the user cannot be assigned anything."""
    login = r.values["user_loginid"]
    user = users.get(login)
    if user is None:
        r.reject("user_not_found", column="user_loginid", value=login)
    else:
        checks.usable(r, user, login, ctx)
    return user


def check_dates(r: Row, values: dict, existing: bool = False) -> bool:
    """Reject the row (`date_order`) unless start_date ≤ target_date ≤ end_date where given.
    `existing`: the values mix the row's with the assignment's current dates."""
    given = [(name, values.get(name)) for name in DATES if values.get(name) is not None]
    for i, (first, a) in enumerate(given):
        for second, b in given[i + 1 :]:
            if a > b:
                r.reject(
                    "date_order",
                    first=first,
                    first_value=a.isoformat(),
                    second=second,
                    second_value=b.isoformat(),
                    where=" (with the assignment's current dates)" if existing else "",
                )
                return False
    return True


def given(values: dict, fields: Iterable[str]) -> dict:
    """The row's non-empty values among `fields`: an empty cell never changes anything."""
    return {f: values[f] for f in fields if values.get(f) is not None}


def compare(
    r: Row, existing: dict | None, wanted: dict, ctx, label: str, key: str, more: bool = False
) -> dict | None:
    """How a row's values meet the existing assignment (None: there is none).

    Returns the fields to change ({} when only `more`, something beside the assignment, changes),
    or None when the row stops here: unchanged (nothing differs), skipped (`already_assigned`,
    update_existing off) or rejected (dates out of order once merged, or an earlier row of the
    file wrote this assignment already).
    """
    if existing is None:
        return dict(wanted)
    if existing.get("op") == ctx.op.pk:
        r.reject("duplicate_row", key=key, first=EARLIER)
        return None
    diff = differences(existing, wanted)
    if not diff and not more:
        r.result = UNCHANGED
        return None
    if not ctx.options["update_existing"]:
        r.skip("already_assigned", value=label)
        return None
    if not check_dates(r, {**existing, **diff}, existing=True):
        return None
    return diff


def audience_mismatches(model, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (user, content) pairs where the content (a Course or Curriculum) has audiences and the
    user is in none of them: one query for the contents' audiences, one for the users'."""
    pairs = set(pairs)
    if not pairs:
        return set()
    through = model._meta.get_field("audiences").remote_field.through
    own = f"{model._meta.model_name}_id"
    audiences: dict[int, set[int]] = defaultdict(set)
    for part in lookups.chunks({c for _u, c in pairs}):
        for c, a in through.objects.filter(**{f"{own}__in": part}).values_list(own, "audience_id"):
            audiences[c].add(a)
    targeted = [(u, c) for u, c in pairs if audiences.get(c)]
    if not targeted:
        return set()
    wanted = {a for _, c in targeted for a in audiences[c]}
    of_user: dict[int, set[int]] = defaultdict(set)
    for part in lookups.chunks({u for u, _c in targeted}, lookups.IN_CHUNK // 2):
        for apart in lookups.chunks(wanted, lookups.IN_CHUNK // 2):
            for u, a in UserAudience.objects.filter(
                user_id__in=part, audience_id__in=apart
            ).values_list("user_id", "audience_id"):
                of_user[u].add(a)
    return {(u, c) for u, c in targeted if not (of_user.get(u, set()) & audiences[c])}
