"""mail-templates (SPEC §4.15): the subject and body of each mail template, once per culture, in
Django's template language; a template naming a field no mail can fill is rejected."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from registrar.journal import writes
from registrar.notify import templates
from registrar.notify.models import MailTemplate

from .. import lookups, parsers
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind

BODY_MAX = 20_000


def culture(s: str) -> str:
    """A language tag, written the usual way: fr-FR, en-GB, pt-BR (fr-fr is the same)."""
    lang, dash, rest = parsers.culture(s[:3].lower() + s[3:]).partition("-")
    if not dash:
        return lang.lower()
    return f"{lang.lower()}-{rest.upper() if len(rest) == 2 else rest.title()}"


def _fields() -> str:
    return ", ".join(f"`{{{{ {name} }}}}`" for name in templates.FIELDS)


class MailTemplates(ImportKind):
    name = "mail-templates"
    # Mails are sent by the learning actions; a template serves every organisation, so a role
    # scoped to part of the platform may not change one (out_of_scope).
    domain = "learning"
    title = _("Mail templates")
    description = format_lazy(
        _(
            "Creates or updates mail templates: the subject and body of the mail that an import or "
            "an action sends when given the template's code (the unenrolments import uses "
            "`unenrolment`, the users import's welcome mail `welcome`). A template exists once per "
            "culture: a user gets the template of their culture (fr-FR), else of their language "
            "(fr, fr-CA), else the default one (empty culture). A row is matched on code and "
            "culture; an existing template is updated, one with the same text is `unchanged`. "
            "Subject and body are in Django's template language, plain text: `{{{{ user.first_name "
            "}}}}`, `{{% if course.title %}}…{{% endif %}}`, `{{{{ assignment.target_date|date:"
            '"d/m/Y" }}}}`. The fields: {fields}. Tags: if, firstof, comment, verbatim, '
            "templatetag; filters: {filters}. A subject or body naming another field, another tag "
            "or filter, or that does not parse, is rejected (`template_field_unavailable`, naming "
            "it); an operation also refuses a template naming a field it cannot fill (a course in "
            "a mail sent outside any course) before anything is sent. Templates serve every "
            "organisation: a role scoped to part of the platform cannot change them. Undo restores "
            "the templates as they were; mails sent meanwhile stay sent."
        ),
        fields=_fields(),
        filters=", ".join(templates.FILTERS),
    )
    columns = [
        Column(
            "code",
            parsers.text(100),
            required=True,
            aliases=("template", "template_code", "mail_template"),
            help=_("The template's code, as operations name it (`mail_template`), exactly."),
            example="course-assigned",
        ),
        Column(
            "subject",
            parsers.text(255),
            required=True,
            aliases=("mail_subject", "objet"),
            help=_("The mail's subject, one line; it may use the fields (not password_link)."),
            example="New course: {{ course.title }}",
        ),
        Column(
            "body",
            parsers.text(BODY_MAX),
            required=True,
            aliases=("mail_body", "text", "corps"),
            help=_("The mail's text (plain text, several lines allowed), using the fields."),
            example="Hello {{ user.first_name }}, you are enrolled on {{ course.title }}.",
        ),
        Column(
            "culture",
            culture,
            aliases=("language", "user_culture", "langue"),
            help=_("The culture the template is for (fr-FR, en-GB…); empty for the default."),
            example="fr-FR",
        ),
    ]
    key = ("code", "culture")
    template = [
        {
            "code": "course-assigned",
            "subject": "New course: {{ course.title }}",
            "body": "Hello {{ user.first_name }}, you are enrolled on {{ course.title }}"
            "{% if assignment.target_date %} (to complete by {{ assignment.target_date }})"
            "{% endif %}. {{ portal_url }}",
            "culture": "",
        },
        {
            "code": "course-assigned",
            "subject": "Nouveau cours : {{ course.title }}",
            "body": "Bonjour {{ user.first_name }}, vous êtes inscrit au cours {{ course.title }}"
            "{% if assignment.target_date %} (à terminer avant le {{ assignment.target_date }})"
            "{% endif %}. {{ portal_url }}",
            "culture": "fr-FR",
        },
    ]

    def resolve(self, rows, ctx):
        codes = {r.values["code"] for r in rows}
        found = {}
        for part in lookups.chunks(codes):
            for t in MailTemplate._base_manager.filter(code__in=part).values(
                "id", "code", "culture", "subject", "body", "op"
            ):
                found[(t["code"], t["culture"].lower())] = t
        return {"templates": found}

    def plan(self, rows, refs, ctx):
        found = refs["templates"]
        for r in rows:
            v = r.values
            code, cult = v["code"], v["culture"] or ""
            if ctx.scope_ids is not None:
                r.reject(
                    "out_of_scope", what=f"Mail template {code!r} (shared by every organisation)"
                )
                continue
            # Line ends as a spreadsheet or Windows editor writes them: one kind in the outbox.
            subject = " ".join(v["subject"].split())
            body = v["body"].replace("\r\n", "\n").replace("\r", "\n")
            try:
                templates.check(code, [subject], templates.SUBJECT_FIELDS)
                templates.check(code, [body], templates.KNOWN)
            except templates.TemplateError as e:
                r.reject("template_field_unavailable", template=code, field=e.field)
                continue
            new = {"subject": subject, "body": body}
            old = found.get((code, cult.lower()))
            if old is None:
                r.result = CREATED
                r.data = {"insert": {"code": code, "culture": cult, **new}}
            elif (old["subject"], old["body"]) == (subject, body):
                r.result = UNCHANGED
            else:
                r.result = UPDATED
                before = {"subject": old["subject"], "body": old["body"], "op": old["op"]}
                r.data = {"update": (old["id"], new, before)}

    def apply(self, rows, refs, ctx):
        inserts = [r for r in rows if "insert" in r.data]
        writes.insert(
            MailTemplate, [r.data["insert"] for r in inserts], ctx.op, [r.number for r in inserts]
        )
        writes.update(
            MailTemplate,
            [(*r.data["update"], r.number) for r in rows if "update" in r.data],
            ctx.op,
        )
