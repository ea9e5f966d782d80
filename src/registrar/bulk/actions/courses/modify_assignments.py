"""courses.modify-assignments (SPEC §5, seed 003 "Modifier les informations de l'affectation"):
change the option, dates or billing of the selected users' assignments to the selected courses."""

from django.utils.translation import gettext_lazy as _

from ._users import CourseUsers, course_user_params


class ModifyAssignments(CourseUsers):
    verb = "modify-assignments"
    modify = True
    title = _("Modify assignments")
    description = _(
        "Changes the given keys of the assignment of each user that `users` selects to each "
        "selected course: one result per course and user. A key left out is not changed, null "
        "clears a date. A user not assigned is rejected (`not_assigned`)."
    )
    params = course_user_params(modify=True)
    examples = [{"users": {"where": [["org", "in", "ACME"]]}, "billing_mode": "by_course"}]
    example_selection = {"ids": ["SAFE-101"]}
