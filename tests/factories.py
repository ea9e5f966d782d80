"""Small builders for test data."""

from registrar.catalogue.models import Course, Curriculum, Lesson, Programme
from registrar.directory.models import Organisation, User


def org(extid: str = "ORG", parent: Organisation | None = None, **kw) -> Organisation:
    return Organisation.objects.create(
        extid=extid, label=kw.pop("label", extid), parent=parent, **kw
    )


def user(login: str, organisation: Organisation | None = None, **kw) -> User:
    organisation = (
        organisation
        or Organisation.objects.get_or_create(extid="ORG", defaults={"label": "Org"})[0]
    )
    kw.setdefault("email", f"{login}@example.com")
    kw.setdefault("last_name", login.title())
    kw.setdefault("first_name", "Test")
    u = User(login=login, organisation=organisation, **kw)
    u.set_unusable_password()
    u.save()
    return u


def course(code: str, title: str | None = None, published: bool = True, **kw) -> Course:
    return Course.objects.create(
        code=code, title=title or f"Course {code}", published=published, **kw
    )


def curriculum(code: str, courses=(), **kw) -> Curriculum:
    c = Curriculum.objects.create(
        code=code, title=kw.pop("title", code), published=kw.pop("published", True), **kw
    )
    for x in courses:
        c.courses.add(x, through_defaults={})
    return c


def programme(code: str, curricula=(), **kw) -> Programme:
    p = Programme.objects.create(
        code=code, title=kw.pop("title", code), published=kw.pop("published", True), **kw
    )
    for x in curricula:
        p.curricula.add(x, through_defaults={})
    return p


def lesson(code: str, course: Course, lesson_type: str = "L", **kw) -> Lesson:
    return Lesson.objects.create(
        code=code, title=kw.pop("title", code), course=course, lesson_type=lesson_type, **kw
    )


def grant(u: User, role: str, scope: Organisation | None = None):
    """Give user `u` the built-in role named `role` over `scope` (the whole platform if None)."""
    from registrar.directory.models import Role, RoleGrant

    return RoleGrant.objects.create(user=u, role=Role.objects.get(name=role), scope=scope)
