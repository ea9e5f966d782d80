"""The one registry of steps: every import kind and every action, by name. Jobs, access checks,
history, undo, the API and the portal look steps up here."""

from registrar.core.errors import FileError

from .action import Action
from .actions import ACTIONS
from .imports import KINDS
from .kind import ImportKind, Step
from .moves import MOVES  # merge and transfer: steps with a small source of their own

STEPS: dict[str, Step] = {**KINDS, **ACTIONS, **MOVES}


def get_step(name: str) -> Step:
    try:
        return STEPS[name]
    except KeyError:
        raise FileError(
            "invalid_option",
            option="KIND",
            reason=f"unknown import kind or action {name!r}; kinds: {', '.join(KINDS)}; "
            f"actions: {', '.join(ACTIONS)}",
        ) from None


def get_kind(name: str) -> ImportKind:
    step = STEPS.get(name)
    if not isinstance(step, ImportKind):
        raise FileError(
            "invalid_option",
            option="KIND",
            reason=f"unknown import kind {name!r}; kinds: {', '.join(KINDS)}",
        )
    return step


def get_action(target: str, verb: str) -> Action:
    step = STEPS.get(f"{target}.{verb}")
    if not isinstance(step, Action):
        known = [a.verb for a in ACTIONS.values() if a.target == target]
        raise FileError(
            "invalid_parameter",
            key="ACTION",
            reason=f"no action {verb!r} on {target}; actions: {', '.join(known) or 'none'}",
        )
    return step


def names_by_domain() -> dict[str, list[str]]:
    """The operation names of each permission domain (what a role's domains let it see)."""
    out: dict[str, list[str]] = {}
    for step in STEPS.values():
        out.setdefault(step.domain, []).append(step.name)
    return out
