"""curricula.add-audiences (SPEC §5, seed 003 "Ajouter des audiences aux parcours"): add
audiences to the selected curricula; none is taken away."""

from django.utils.translation import gettext_lazy as _

from ..courses._content import ContentAudiences


class AddAudiences(ContentAudiences):
    target = "curricula"
    verb = "add-audiences"
    title = _("Add audiences")
    description = _(
        "Adds the audiences named by `audiences` to each selected curriculum: `updated` when at "
        "least one was added, `unchanged` when it had them all. None is taken away."
    )
    examples = [{"audiences": ["Managers", "Office staff"]}]
    example_selection = {"ids": ["CUR-DATA", "CUR-LEAD"]}
