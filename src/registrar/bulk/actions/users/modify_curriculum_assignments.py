"""users.modify-curriculum-assignments (SPEC §5): change existing curriculum assignments."""

from django.utils.translation import gettext_lazy as _

from ._content import ContentAssignment, content_params


class ModifyCurriculumAssignments(ContentAssignment):
    verb = "modify-curriculum-assignments"
    title = _("Modify curriculum assignments")
    description = _(
        "Changes the given keys of each selected user's assignment to the curricula (null clears a "
        "date); with `propagate_to_courses` the curriculum's courses get the same values. A user "
        "not assigned is rejected (`not_assigned`)."
    )
    what, per, per_type, modify = "curriculum", "curricula", "curriculum", True
    params = content_params("curriculum", modify=True)
    examples = [{"curricula": ["CUR-SALES"], "option": "recommended", "target_date": None}]
    example_selection = {"where": [["org", "in", "ACME"]]}
