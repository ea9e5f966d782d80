"""users.assign-curricula (SPEC §5): assign curricula to the selected users, optionally carrying
the option and dates to the curricula's courses."""

from django.utils.translation import gettext_lazy as _

from ._content import ContentAssignment, content_params


class AssignCurricula(ContentAssignment):
    verb = "assign-curricula"
    title = _("Assign curricula")
    description = _(
        "Assigns the curricula to each selected user (source action), with the option and dates "
        "given; with `propagate_to_courses` the curriculum's courses get them too. A user already "
        "assigned is skipped (`already_assigned`); outside the audiences: `audience_mismatch` "
        "unless `ignore_audiences`."
    )
    what, per, per_type = "curriculum", "curricula", "curriculum"
    params = content_params("curriculum", modify=False)
    examples = [{"curricula": ["CUR-SAFETY"], "option": "mandatory", "propagate_to_courses": True}]
