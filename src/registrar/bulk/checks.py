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
    if user["disabled"]:
        r.reject("user_disabled", value=given)
    elif not user["training_access"]:
        r.reject("user_not_in_training", value=given)
    elif not ctx.in_scope(user["organisation_id"]):
        r.reject("out_of_scope", what=f"User {given}")
    return user
