"""courses.assign-users (SPEC §5, seed 003 "Affecter des apprenants"): assign the users of a
selection to the selected courses, with option, dates and billing."""

from django.utils.translation import gettext_lazy as _

from ._users import CourseUsers, course_user_params


class AssignUsers(CourseUsers):
    verb = "assign-users"
    title = _("Assign users")
    description = _(
        "Assigns the users that `users` selects to each selected course (source action), with "
        "the option, dates and billing given: one result per course and user. A user already "
        "assigned is skipped (`already_assigned`: use modify-assignments to change it); a user "
        "outside a course's audiences is rejected (`audience_mismatch`) unless "
        "`ignore_audiences`; a disabled user, one without training access or outside your scope "
        "is rejected."
    )
    params = course_user_params(modify=False)
    examples = [
        {
            "users": {"where": [["org", "in", "ACME-FR"]]},
            "option": "recommended",
            "target_date": "2027-06-30",
        }
    ]
    example_selection = {"ids": ["LANG-102"]}
