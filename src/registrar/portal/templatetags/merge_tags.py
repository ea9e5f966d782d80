"""Whether the signed-in user may merge users or transfer progress (the Assistants page's link)."""

from django import template

register = template.Library()


@register.simple_tag
def may_move(user, name: str) -> bool:
    """True when the user's roles let them run the step `name` (merge-users, transfer-user)."""
    from registrar.bulk import registry
    from registrar.directory import permissions

    step = registry.STEPS.get(name)
    return bool(step) and user.is_authenticated and permissions.may_import(user, step)
