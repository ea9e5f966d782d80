"""The bulk actions, by name (`users.assign-courses`): every module of the target packages here
(users/, courses/, curricula/, statistics/) that defines an Action subclass.

Adding an action is adding a module (and its tests); nothing else registers it."""

import importlib
import pkgutil

from ..action import TARGETS, Action


def _discover() -> dict[str, Action]:
    found: dict[str, Action] = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg:
            continue
        package = importlib.import_module(f"{__name__}.{info.name}")
        for sub in pkgutil.iter_modules(package.__path__):
            if sub.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package.__name__}.{sub.name}")
            for obj in vars(module).values():
                if (
                    isinstance(obj, type)
                    and issubclass(obj, Action)
                    and obj.verb
                    and obj.__module__ == module.__name__
                ):
                    found[obj.name] = obj()
    rank = {t: i for i, t in enumerate(TARGETS)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[1].target, 9), kv[0])))


ACTIONS = _discover()
