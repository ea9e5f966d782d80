"""users.modify-values (SPEC §5, seed 003 "Modifier une valeur"): set account values of the
selected users; a key left out is not changed, null clears a date or a custom field."""

from django.utils.translation import gettext_lazy as _

from registrar.core.errors import FileError
from registrar.directory.models import User

from ... import params as P
from ...action import Action, Param
from ._users import apply_fields, plan_fields, reject_privileged

TWO_FACTOR = P.choice(
    {
        "default": User.TwoFactor.DEFAULT,
        "never": User.TwoFactor.NEVER,
        "first_login_of_day": User.TwoFactor.FIRST_LOGIN_OF_DAY,
        "always": User.TwoFactor.ALWAYS,
    }
)
CUSTOM = {f"udtf{i}": f"custom{i}" for i in range(1, 11)}


class ModifyValues(Action):
    verb = "modify-values"
    title = _("Modify values")
    description = _(
        "Sets the given values on each selected user: disabled, activation and expiration dates, "
        "custom fields udtf1…udtf10 and the two-factor mode. A key left out is not changed; null "
        "clears a date or a custom field. A user already so is `unchanged`. An activation date "
        "after the expiration date is refused (`invalid_combination`), and so is a user whose "
        "other date would make it so (rejected, the others go on). A user holding a role the "
        "actor could not grant is rejected (`privileged_user`)."
    )
    domain = "directory"
    params = [
        Param("disabled", P.Boolean(), help=_("true disables the accounts, false enables them.")),
        Param("activation_date", P.Date(), nullable=True, help=_("YYYY-MM-DD; null clears it.")),
        Param("expiration_date", P.Date(), nullable=True, help=_("YYYY-MM-DD; null clears it.")),
        *(
            Param(k, P.Text(max_length=255), nullable=True, help=_("Free text; null clears it."))
            for k in CUSTOM
        ),
        Param("two_factor", TWO_FACTOR, help=_("default, never, first_login_of_day or always.")),
    ]
    examples = [{"udtf1": "Wave 2", "expiration_date": "2027-12-31"}]
    item_fields = (
        "disabled",
        "activation_date",
        "expiration_date",
        *CUSTOM.values(),
        "two_factor",
        "op",
    )

    def check(self, values):
        if not values:
            raise FileError("invalid_parameter", key="params", reason="no value to set")
        a, e = values.get("activation_date"), values.get("expiration_date")
        if a and e and a > e:
            raise FileError(
                "invalid_combination",
                first="activation_date",
                second="expiration_date",
                detail=": the account would expire before it is active",
            )

    def wanted(self, values: dict) -> dict:
        out = {}
        for key, value in values.items():
            field = CUSTOM.get(key, key)
            out[field] = "" if value is None and key in CUSTOM else value
        return out

    def plan(self, rows, refs, ctx):
        reject_privileged(rows, ctx)
        wanted = self.wanted(ctx.options)
        if "activation_date" in wanted or "expiration_date" in wanted:
            self.reject_inverted_dates(rows, wanted)
        plan_fields(rows, ctx, wanted, tuple(wanted))

    @staticmethod
    def reject_inverted_dates(rows, wanted: dict) -> None:
        """One date given against the user's other one (check() sees only the parameters): an
        account that would expire before it is active is rejected, the others go on."""
        for r in rows:
            if r.result is not None:
                continue
            user = r.values["user"]
            a = wanted.get("activation_date", user["activation_date"])
            e = wanted.get("expiration_date", user["expiration_date"])
            if a and e and a > e:
                r.reject(
                    "invalid_combination",
                    first="activation_date",
                    second="expiration_date",
                    detail=_(": the account would expire (%(end)s) before it is active (%(start)s)")
                    % {"end": e.isoformat(), "start": a.isoformat()},
                )

    def apply(self, rows, refs, ctx):
        apply_fields(rows, ctx)
