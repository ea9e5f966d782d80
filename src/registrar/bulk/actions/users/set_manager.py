"""users.set-manager (SPEC §5, seed 003 "Affecter un manager"): make one user the manager of the
selected users."""

from django.utils.translation import gettext_lazy as _

from ... import params as P
from ...action import Action, Param
from ._users import ManagerAction


class SetManager(ManagerAction, Action):
    verb = "set-manager"
    title = _("Set manager")
    description = _(
        "Makes the user named by `manager` (a login) the manager of each selected user, in "
        "place of the one they had: `updated`, or `unchanged` when already so. A user has one "
        "manager (and may have an alternate one: users.set-alternate-manager). A user cannot "
        "be their own manager (rejected `invalid_parameter`); a user holding a role the actor "
        "could not grant is rejected (`privileged_user`)."
    )
    domain = "directory"
    field = "manager_id"
    params = [Param("manager", P.names("user", many=False), required=True, help=_("A login."))]
