"""Who may run which import or action, over which organisations, and which operations they
may see."""

import json
from dataclasses import dataclass

from django.db.models import Q

from . import tree
from .models import RoleGrant

DOMAINS = ("directory", "catalogue", "learning")


@dataclass(frozen=True)
class Grant:
    """One role grant, reduced to what authorisation needs."""

    domains: frozenset[str]
    scope_id: int | None  # None: the whole platform
    scope_extid: str | None = None
    scope_label: str = ""
    permissions: frozenset[str] = frozenset()  # the role's, with its flags (role_permissions)


SITE_ADMIN, CONTENT_ADMIN = "site_admin", "content_admin"


def role_permissions(role) -> frozenset[str]:
    """What a role carries, as the grant check compares it: its permission strings, and its
    site- and content-administrator flags. `role` is a Role or a dict of its fields."""
    get = role.get if isinstance(role, dict) else lambda k: getattr(role, k)
    raw = get("permissions") or []
    if isinstance(raw, str):  # read raw (lookups on PostgreSQL): the column's JSON text
        raw = json.loads(raw)
    perms = set(raw)
    if get("site_admin"):
        perms.add(SITE_ADMIN)
    if get("content_admin"):
        perms.add(CONTENT_ADMIN)
    return frozenset(perms)


def covers(held: frozenset[str], wanted: str) -> bool:
    """Whether permissions `held` include `wanted`: "*" holds all, "learning.*" every
    "learning.x"; the site-administrator flag only itself."""
    if wanted in held:
        return True
    if wanted == SITE_ADMIN:
        return False
    if "*" in held:
        return True
    domain, dot, _ = wanted.partition(".")
    return bool(dot) and wanted != f"{domain}.*" and f"{domain}.*" in held


def _domains(role) -> frozenset[str]:
    perms = set(role.permissions or [])
    if role.site_admin or "*" in perms:
        return frozenset(DOMAINS)
    out = {d for d in DOMAINS if f"{d}.*" in perms}
    if role.content_admin:
        out.add("catalogue")
    return frozenset(out)


def grants(user) -> list[Grant]:
    """The user's grants; a superuser holds the whole platform in every domain."""
    if not user or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return [Grant(frozenset(DOMAINS), None, permissions=frozenset({"*", SITE_ADMIN}))]
    cache = getattr(user, "_registrar_grants", None)
    if cache is None:
        cache = [
            Grant(
                _domains(g.role),
                g.scope_id,
                g.scope and g.scope.extid,
                g.scope and g.scope.label,
                role_permissions(g.role),
            )
            for g in RoleGrant.objects.filter(user=user).select_related("role", "scope")
        ]
        user._registrar_grants = cache
    return cache


def is_site_admin(user) -> bool:
    return any(g.scope_id is None and len(g.domains) == len(DOMAINS) for g in grants(user))


class Granter:
    """Which roles an actor may grant, and on which scopes: built once per operation.

    A role may be granted (or taken away) on scope S only by an actor who holds every permission
    of the role through grants whose scopes contain S (the whole platform contains everything;
    an organisation contains its subtree); a role with no permissions needs some grant that
    contains S. Only a site administrator grants the site-administrator role. The command line
    (no actor) is the operator of the installation, who may grant anything."""

    def __init__(self, actor):
        self.unlimited = actor is None
        self.grants = [] if actor is None else grants(actor)
        self.site_admin = actor is None or any(
            g.scope_id is None and SITE_ADMIN in g.permissions for g in self.grants
        )
        self._subtrees: dict[int, set[int]] | None = None

    def _contains(self, grant: Grant, scope_id: int | None) -> bool:
        if grant.scope_id is None:
            return True
        if scope_id is None:
            return False
        if self._subtrees is None:  # one query for the tree, the first time it is needed
            children = tree.children_map()
            self._subtrees = {
                g.scope_id: tree.subtree(g.scope_id, children)
                for g in self.grants
                if g.scope_id is not None
            }
        return scope_id in self._subtrees[grant.scope_id]

    def may_grant(self, role, scope_id: int | None) -> bool:
        """Whether the actor may grant (or take away) `role` (a Role or a dict with permissions,
        site_admin, content_admin) on organisation `scope_id` (None: the whole platform)."""
        if self.unlimited:
            return True
        wanted = role_permissions(role)
        if SITE_ADMIN in wanted:
            return self.site_admin
        inside = [g for g in self.grants if self._contains(g, scope_id)]
        return bool(inside) and all(any(covers(g.permissions, p) for g in inside) for p in wanted)


def import_scopes(user, kind) -> list[Grant]:
    """The scopes under which the user may run `kind`: [unscoped] when the whole platform is
    theirs, else one grant per organisation; empty when the kind is not theirs at all.
    Catalogue kinds hold no organisation's data: they need an unscoped grant."""
    mine = [g for g in grants(user) if kind.domain in g.domains]
    whole = [g for g in mine if g.scope_id is None]
    if whole:
        return whole[:1]
    if kind.domain == "catalogue":
        return []
    seen, out = set(), []
    for g in mine:
        if g.scope_id not in seen:
            seen.add(g.scope_id)
            out.append(g)
    return out


def may_import(user, kind) -> bool:
    return bool(import_scopes(user, kind))


def visible_operations(user, names_by_domain: dict[str, list[str]]) -> Q:
    """A filter on journal operations: those the user ran, and those whose kind their roles
    cover over a scope inside theirs (an unscoped operation only to unscoped grants).
    `names_by_domain`: the operation names (import kinds...) of each permission domain."""
    gs = grants(user)
    if not gs:
        return Q(pk__in=[])
    if is_site_admin(user):
        return Q()
    q = Q(actor_id=user.pk)
    for g in gs:
        names = [n for d in g.domains for n in names_by_domain.get(d, ())]
        if g.scope_id is None:
            inside = Q()
        else:
            ids = tree.subtree(g.scope_id)
            inside = Q(scope_id__in=ids)
        q |= Q(kind__in=("import", "action"), name__in=names) & inside
        undo_inside = Q() if g.scope_id is None else Q(undo_of__scope_id__in=ids)
        q |= Q(kind="undo", undo_of__name__in=names) & undo_inside
    return q
