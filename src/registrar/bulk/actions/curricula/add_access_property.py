"""curricula.add-access-property (SPEC §5, seed 003 "Ajouter une propriété d'accès aux
parcours"): as for courses, plus apply_to_courses (the option and dates carried to the
curriculum's courses)."""

from django.utils.translation import gettext_lazy as _

from ..courses._access import ContentAccess, access_params


class AddAccessProperty(ContentAccess):
    target = "curricula"
    verb = "add-access-property"
    title = _("Add an access property")
    description = _(
        "Gives the members of each list in `lists` access to each selected curriculum (one "
        "result per curriculum and list), as courses.add-access-property does for courses: "
        "`restrict_visibility`, `assign_members` with `option` and fixed dates or delays from "
        "the day each member entered the list, `effective_now`; and `apply_to_courses`: the "
        "members are assigned to the curriculum's courses too, with the same option and dates."
    )
    params = access_params("curricula")
    examples = [
        {
            "lists": ["Newcomers"],
            "assign_members": True,
            "option": "mandatory",
            "target_delay_days": 60,
            "apply_to_courses": True,
        }
    ]
    example_selection = {"ids": ["CUR-WELCOME"]}
