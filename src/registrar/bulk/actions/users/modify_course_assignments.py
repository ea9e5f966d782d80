"""users.modify-course-assignments (SPEC §5): change the option, dates or billing of existing
course assignments; a user not assigned is rejected (not_assigned)."""

from django.utils.translation import gettext_lazy as _

from ._content import ContentAssignment, content_params


class ModifyCourseAssignments(ContentAssignment):
    verb = "modify-course-assignments"
    title = _("Modify course assignments")
    description = _(
        "Changes the given keys of each selected user's assignment to the courses; a key left out "
        "is not changed, null clears a date. A user not assigned is rejected (`not_assigned`)."
    )
    what, per, per_type, modify = "course", "courses", "course", True
    params = content_params("course", modify=True)
    examples = [{"courses": ["SAFE-101"], "option": "recommended", "end_date": None}]
