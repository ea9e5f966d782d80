"""Who may read the completion report, over which organisations: a grant in the learning domain
(the roles that may import and act on learning records: `learning.*` or `*`), over its scope."""

from django.utils.translation import gettext as _

from registrar.directory import permissions

from .completions import ReportError, Scope, Tree, scope_of

DOMAIN = "learning"


def may_read(user) -> bool:
    """Whether any of the user's grants lets them read reports."""
    return any(DOMAIN in g.domains for g in permissions.grants(user))


def scope_for(user, tree: Tree | None = None) -> Scope:
    """The organisations whose learners the user may count: None for an unscoped grant (the
    whole platform), else the union of their grants' subtrees. Refused (403) without any."""
    mine = [g for g in permissions.grants(user) if DOMAIN in g.domains]
    if not mine:
        raise ReportError("scope", _("Your roles do not let you read reports."), 403)
    if any(g.scope_id is None for g in mine):
        return None
    tree = tree or Tree()
    return scope_of([tree.extid[g.scope_id] for g in mine if g.scope_id in tree.extid], tree)
