"""users.set-competency-scores (SPEC §5): the selected users' score on a competency, or "not
evaluated"."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registrar.core.errors import FileError
from registrar.learning import records

from ... import params as P
from ...action import Action, Param
from ...kind import CREATED, UNCHANGED, UPDATED


class SetCompetencyScores(Action):
    verb = "set-competency-scores"
    title = _("Set competency scores")
    description = _(
        "Sets each selected user's score on the competency (0 to 100), or marks it not evaluated "
        "(`not_evaluated`: true, which clears the score). Give exactly one of `score` and "
        "`not_evaluated` (`invalid_combination` otherwise). A user who has no score on the "
        "competency gets one (`created`); one with the same value already is `unchanged`."
    )
    params = [
        Param(
            "competency",
            P.names("competency", many=False),
            required=True,
            help=_("The code of the competency."),
        ),
        Param("score", P.Number(minimum=0, maximum=100), help=_("A score from 0 to 100.")),
        Param("not_evaluated", P.Boolean(), help=_("True: the competency is not evaluated.")),
    ]
    examples = [{"competency": "COMP-SAFETY", "score": 80}]

    def check(self, values):
        given = ("score" in values) + bool(values.get("not_evaluated"))
        if given != 1:
            raise FileError(
                "invalid_combination",
                first="score",
                second="not_evaluated",
                detail=gettext(": give exactly one of them (a score, or not_evaluated true)"),
            )

    def wanted(self, values) -> dict:
        if values.get("not_evaluated"):
            return {"score": None, "not_evaluated": True}
        return {"score": values["score"], "not_evaluated": False}

    def resolve(self, rows, ctx):
        competency = ctx.options["competency"]["id"]
        return {
            "scores": records.competency_scores(
                {(r.values["user"]["id"], competency) for r in rows}
            )
        }

    def plan(self, rows, refs, ctx):
        competency = ctx.options["competency"]["id"]
        wanted = self.wanted(ctx.options)
        for r in rows:
            user = r.values["user"]["id"]
            existing = refs["scores"].get((user, competency))
            if existing is None:
                r.data["new"] = {"user_id": user, "competency_id": competency, **wanted}
                r.result = CREATED
                continue
            diff = {k: v for k, v in wanted.items() if existing[k] != v}
            if not diff:
                r.result = UNCHANGED
                continue
            r.data["changed"] = (existing["id"], diff, existing, r.number)
            r.result = UPDATED

    def apply(self, rows, refs, ctx):
        fresh = [r for r in rows if "new" in r.data]
        records.score_competencies(
            ctx.op,
            [r.data["new"] for r in fresh],
            [r.data["changed"] for r in rows if "changed" in r.data],
            [r.number for r in fresh],
        )
