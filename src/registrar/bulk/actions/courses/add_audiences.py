"""courses.add-audiences (SPEC §5, seed 003 "Ajouter des audiences aux cours"): add audiences to
the selected courses; the audiences they have already stay, none is taken away."""

from django.utils.translation import gettext_lazy as _

from ._content import ContentAudiences


class AddAudiences(ContentAudiences):
    target = "courses"
    verb = "add-audiences"
    title = _("Add audiences")
    description = _(
        "Adds the audiences named by `audiences` to each selected course: `updated` when at "
        "least one was added, `unchanged` when the course had them all. None is taken away. A "
        "course with audiences is meant for their users: assigning others needs "
        "`ignore_audiences`."
    )
    examples = [{"audiences": ["Managers", "Office staff"]}]
    example_selection = {"ids": ["ETH-101", "LEAD-101"]}
