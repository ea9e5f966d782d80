"""users.assign-courses (SPEC §5): assign courses to the selected users, with option, dates and
billing; a user already assigned is skipped (already_assigned)."""

from django.utils.translation import gettext_lazy as _

from ._content import ContentAssignment, content_params


class AssignCourses(ContentAssignment):
    verb = "assign-courses"
    title = _("Assign courses")
    description = _(
        "Assigns the courses to each selected user (source action), with the option, dates and "
        "billing given. A user already assigned is skipped (`already_assigned`: use "
        "modify-course-assignments to change it). A user outside a course's audiences is rejected "
        "(`audience_mismatch`) unless `ignore_audiences`."
    )
    what, per, per_type = "course", "courses", "course"
    params = content_params("course", modify=False)
    examples = [
        {"courses": ["ETH-201", "LANG-101"], "option": "mandatory", "target_date": "2027-03-31"}
    ]
