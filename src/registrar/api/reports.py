"""The API's reports: /api/reports/completions, the figures of `registrar report completions`
from the same query layer (registrar.reports.completions), inside the caller's scope."""

from ninja import Router
from ninja.errors import HttpError

from registrar.reports import access
from registrar.reports.completions import Filters, ReportError, completions

router = Router(tags=["reports"])


@router.get("/completions", response=list[dict])
def completion_report(
    request,
    by: str = "course",
    org: str = "",
    course: str = "",
    curriculum: str = "",
    since: str = "",
    until: str = "",
    accreditation: str = "",
    include_disabled: str = "",
):
    """Per course (`by=course`), organisation subtree (`organisation`), curriculum or programme:
    `assigned`, `not_started`, `in_progress`, `completed`, `overdue`, `completion_rate`, keyed
    by `course_code`, `org_extid`, `curriculum_code` or `programme_code` (docs/reports.md).
    Needs a role over learning records; a scoped role counts only its subtree. `org`, `course`,
    `curriculum` and the period (`since`, `until`: YYYY-MM-DD) narrow it; `accreditation=true`
    leaves legacy course records out. A bad value answers 400 naming its key. Every import and
    action counts at once (the answer is kept only while the data stays as it was)."""
    try:
        scope = access.scope_for(request.auth)
        filters = Filters.parse(
            {
                "org": org,
                "course": course,
                "curriculum": curriculum,
                "since": since,
                "until": until,
                "accreditation": accreditation,
                "include_disabled": include_disabled,
            }
        )
        return completions(by, filters, scope, cached=True)
    except ReportError as e:
        raise HttpError(e.status, str(e)) from None
