"""courses.add-access-property (SPEC §5, seed 003 "Ajouter une propriété d'accès aux cours"):
lists whose members see the selected courses (only they, by default), optionally assigned to
them now and as each enters a list later."""

from django.utils.translation import gettext_lazy as _

from ._access import ContentAccess, access_params


class AddAccessProperty(ContentAccess):
    target = "courses"
    verb = "add-access-property"
    title = _("Add an access property")
    description = _(
        "Gives the members of each list in `lists` access to each selected course: one result "
        "per course and list. With `restrict_visibility` (default true) only the lists' members "
        "(and users assigned) see the course. With `assign_members`, the members are assigned "
        "(source list) with `option` and dates, fixed (`start_date`…) or counted from the day "
        "each entered the list (`start_delay_days`…): the current members now when "
        "`effective_now` (default true), and every user who enters a list later, whatever adds "
        "them (an import, an action, a dynamic list's criteria). A member assigned already keeps "
        "the assignment (one a list rule made gets the new values). Re-adding a property changes "
        "the keys given (`updated`) or nothing (`unchanged`); `members_assigned` tells how many "
        "members were assigned."
    )
    params = access_params("courses")
    examples = [
        {
            "lists": ["Fire wardens"],
            "assign_members": True,
            "option": "mandatory",
            "start_delay_days": 0,
            "target_delay_days": 30,
        }
    ]
    example_selection = {"ids": ["SAFE-301"]}
