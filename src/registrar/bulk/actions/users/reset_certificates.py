"""users.reset-certificates (SPEC §5): the selected users' certificates of the courses re-issued
with each course's current certificate template (a completed course without one gets one)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import CertificateTemplate
from registrar.core import lookups
from registrar.learning import records
from registrar.learning.models import CourseRecord, CourseStatus

from ... import params as P
from ...action import Action, Param
from ...kind import CREATED, UNCHANGED, UPDATED


class ResetCertificates(Action):
    verb = "reset-certificates"
    title = _("Reset certificates")
    description = _(
        "Re-issues each selected user's certificate of the courses with the course's current "
        "certificate template and version, dated now (a template changed in the course's "
        "settings shows on the learners' certificates). A completed course without a "
        "certificate gets one (`created`); a certificate already of the current template and "
        "version is `unchanged`, so running the action again changes nothing. A course without "
        "a certificate template is skipped (`certificate_not_issued`), a course the user has not "
        "completed too (`not_completed`). Undo restores the previous template, version and date."
    )
    per, per_type = "courses", "course"
    mail_fields = ("user", "course", "portal_url")
    params = [Param("courses", P.courses(), required=True, help=_("The codes of the courses."))]
    examples = [{"courses": ["SAFE-101"]}]

    def resolve(self, rows, ctx):
        pairs = {
            (r.values["user"]["id"], r.values["object"]["id"])
            for r in rows
            if r.values["object"]["certificate_template_id"]
        }
        templates = lookups.by_key(
            CertificateTemplate,
            "id",
            {r.values["object"]["certificate_template_id"] for r in rows},
            "id",
            "version",
        )
        done = lookups.exact_pairs(CourseRecord, "user_id", "course_id", pairs, "status")
        return {
            "templates": templates,
            "records": done,
            "certificates": records.certificates_of(pairs),
        }

    def plan(self, rows, refs, ctx):
        # One issue date for the whole run: verify-only and the run plan the same values.
        now = ctx.state.setdefault("issued_at", timezone.now())
        for r in rows:
            course, user = r.values["object"], r.values["user"]
            template = refs["templates"].get(course["certificate_template_id"])
            if template is None:
                r.skip("certificate_not_issued", value=course["code"])
                continue
            pair = (user["id"], course["id"])
            rec = refs["records"].get(pair)
            if rec is None or rec["status"] != CourseStatus.COMPLETED:
                r.skip("not_completed", value=course["code"])
                continue
            current = {"template_id": template["id"], "template_version": template["version"]}
            certs = refs["certificates"].get(pair, [])
            if not certs:
                r.data["new"] = {
                    "user_id": user["id"],
                    "course_id": course["id"],
                    **current,
                    "issued_at": now,
                }
                r.result = CREATED
                continue
            stale = [c for c in certs if any(c[k] != v for k, v in current.items())]
            if not stale:
                r.result = UNCHANGED
                continue
            r.data["changed"] = [
                (c["id"], {**current, "issued_at": now}, c, r.number) for c in stale
            ]
            r.result = UPDATED

    def apply(self, rows, refs, ctx):
        fresh = [r for r in rows if "new" in r.data]
        changed = [item for r in rows for item in r.data.get("changed", ())]
        records.reissue_certificates(
            ctx.op, [r.data["new"] for r in fresh], changed, [r.number for r in fresh]
        )
