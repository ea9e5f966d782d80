"""The import kinds, by name: every module of this package that defines an ImportKind subclass.

Adding a kind is adding a module here (and its test file); nothing else registers it.
"""

import importlib
import pkgutil

from ..kind import ImportKind

# The order the docs and the portal list them in; kinds not named here follow by name.
ORDER = [
    "organisations",
    "users",
    "catalogue",
    "course-assignments",
    "curriculum-assignments",
    "lesson-statistics",
    "course-statistics",
    "static-lists",
    "classroom-sessions",
    "external-trainings",
    "completions",
    "course-records",
    "progress",
    "unenrolments",
    "mail-templates",
]


def _discover() -> dict[str, ImportKind]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, ImportKind)
                and obj is not ImportKind
                and obj.__module__ == module.__name__
            ):
                found[obj.name] = obj()
    rank = {n: i for i, n in enumerate(ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(ORDER)), kv[0])))


KINDS = _discover()
