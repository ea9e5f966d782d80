"""Who may run which import, over which organisations, and which operations they may see."""

from dataclasses import dataclass

from django.db.models import Q

from .models import Organisation, RoleGrant

DOMAINS = ("directory", "catalogue", "learning")


@dataclass(frozen=True)
class Grant:
    """One role grant, reduced to what authorisation needs."""

    domains: frozenset[str]
    scope_id: int | None  # None: the whole platform
    scope_extid: str | None = None
    scope_label: str = ""


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
        return [Grant(frozenset(DOMAINS), None)]
    cache = getattr(user, "_registrar_grants", None)
    if cache is None:
        cache = [
            Grant(
                _domains(g.role), g.scope_id, g.scope and g.scope.extid, g.scope and g.scope.label
            )
            for g in RoleGrant.objects.filter(user=user).select_related("role", "scope")
        ]
        user._registrar_grants = cache
    return cache


def is_site_admin(user) -> bool:
    return any(g.scope_id is None and len(g.domains) == len(DOMAINS) for g in grants(user))


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


def visible_operations(user) -> Q:
    """A filter on journal operations: those the user ran, and those whose kind their roles
    cover over a scope inside theirs (an unscoped operation only to unscoped grants)."""
    from registrar.bulk import imports
    from registrar.bulk.engine import subtree_ids

    gs = grants(user)
    if not gs:
        return Q(pk__in=[])
    if is_site_admin(user):
        return Q()
    q = Q(actor_id=user.pk)
    for g in gs:
        names = [k.name for k in imports.KINDS.values() if k.domain in g.domains]
        if g.scope_id is None:
            inside = Q()
        else:
            ids = subtree_ids(Organisation(pk=g.scope_id))
            inside = Q(scope_id__in=ids)
        q |= Q(kind="import", name__in=names) & inside
        undo_inside = Q() if g.scope_id is None else Q(undo_of__scope_id__in=ids)
        q |= Q(kind="undo", undo_of__name__in=names) & undo_inside
    return q
