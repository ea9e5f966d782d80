"""Row verdicts shared by import kinds: the same rule gives the same codes in every kind."""


def learner(r, found: list[dict], given: str, column: str, ctx) -> dict | None:
    """The one active learner with training access, in scope, that `given` names; else the
    row is rejected with the matching code and None is returned.

    `found` holds the users the value matched (a shared email matches several)."""
    if not found:
        r.reject("user_not_found", column=column, value=given)
        return None
    if len(found) > 1:
        r.reject("ambiguous_user", value=given, count=len(found))
        return None
    user = found[0]
    usable(r, user, given, ctx)
    return user


def usable(r, user: dict, given: str, ctx, learning: bool = True) -> bool:
    """Reject the row unless the user is inside the scope and, when the row is about
    `learning`, enabled and with training access (an account change needs only the scope).
    Every import kind and action checks its users here."""
    # The scope first: of a user outside it, nothing more is told (disabled or not).
    if not ctx.in_scope(user["organisation_id"]):
        r.reject("out_of_scope", what=f"User {given}")
    elif learning and user["disabled"]:
        r.reject("user_disabled", value=given)
    elif learning and not user["training_access"]:
        r.reject("user_not_in_training", value=given)
    else:
        return True
    return False


def learners_ok(ctx):
    """checks.learner as a vector condition (the columnar lane), over the columns of
    lookups.learners_by_email: one user with the email, enabled with training access, in scope.
    A row it leaves out takes the row path, which tells why."""
    import polars as pl  # only the columnar lane pays for loading it

    ok = (pl.col("matches") == 1).fill_null(False) & pl.col("usable").fill_null(False)
    if ctx.scope_ids is not None:
        ok = ok & pl.col("org").is_in(list(ctx.scope_ids)).fill_null(False)
    return ok
