"""What a bulk action declares (SPEC §5): its target, typed parameters, the objects its results
are per (users × courses), and plan + apply over a batch of selected items. The selection source
(bulk.sources) feeds it; the engine does everything else, as for an import kind."""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from registrar.core.errors import FileError

from . import params as P
from .kind import Row, Step

TARGETS = ("users", "courses", "curricula", "statistics")
# What a selected item of each target is named by in the results file.
ITEM_COLUMN = {"users": "user_login", "courses": "code", "curricula": "code"}
OBJECT_COLUMN = {
    "course": "course_code",
    "curriculum": "curriculum_code",
    "list": "list",
    "user": "user_login",  # a course action on selected users (courses.assign-users)
    "lesson": "lesson_code",  # statistics.set
}


@dataclass
class Param:
    """One `--params` key: its type, whether it must be given, whether null clears it."""

    name: str
    type: P.Type = field(default_factory=P.Text)
    required: bool = False
    nullable: bool = False  # null means "clear it" (a key left out means "don't change")
    help: str = ""


MAIL_TEMPLATE = "mail_template"


class Action(Step):
    """Base of every bulk action. `per`: a parameter naming objects (courses, curricula): one
    result per selected item and object. `learners`: the items must be able to learn (enabled,
    with training access), as the assignments and records of imports require."""

    operation = "action"
    target = "users"
    verb = ""
    params: list[Param] = []
    per: str | None = None
    per_type: str = "course"  # the type of `per`'s objects (its results column)
    learners = False
    repeatable = False  # sends something anew each run (mail, notification): not idempotent
    item_fields: tuple[str, ...] = ()  # more fields of each selected item to load with it
    mail_fields: tuple[str, ...] = ()  # the template fields the action fills (with mail_template)
    examples: list[dict] = []  # parameter sets that run on the demo data (docs, contract tests)
    example_selection: dict | None = None  # the selection they run on (JSON form), if not any

    def own_selection(self, values: dict):
        """The selection the parameters name, for an action with none of its own (statistics:
        the user given); None: the selection given with the action."""
        return None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.verb:
            cls.name = f"{cls.target}.{cls.verb}"
        # An action that can notify takes a mail template; the engine queues the mails.
        if cls.mail_fields and MAIL_TEMPLATE not in {p.name for p in cls.params}:
            cls.params = [
                *cls.params,
                Param(
                    MAIL_TEMPLATE,
                    P.Text(max_length=100, blank=False),
                    help=_(
                        "The code of a mail template: each user concerned is notified (the "
                        "template of their culture)."
                    ),
                ),
            ]

    def check(self, values: dict) -> None:
        """Rules between parameters, once each has been read: raise FileError
        (invalid_combination / invalid_parameter), exit status 2."""

    def parse_params(self, raw: dict | None) -> dict:
        """The parameters read and checked before anything runs; references resolved. A key not
        given is absent from the result (don't change)."""
        raw = raw or {}
        if not isinstance(raw, dict):
            raise FileError("invalid_parameter", key="params", reason="expects a JSON object")
        specs = {p.name: p for p in self.params}
        out = {}
        for key, value in raw.items():
            spec = specs.get(key)
            if spec is None:
                raise FileError(
                    "invalid_parameter",
                    key=key,
                    reason=f"not a parameter of {self.name}; parameters: {', '.join(specs)}",
                )
            if value is None:
                if not spec.nullable:
                    raise FileError("invalid_parameter", key=key, reason="cannot be null")
                out[key] = None
                continue
            try:
                out[key] = spec.type.parse(value)
            except ValueError as e:
                raise FileError("invalid_parameter", key=key, reason=str(e)) from None
        for spec in self.params:
            if spec.required and spec.name not in out:
                raise FileError("invalid_parameter", key=spec.name, reason="is required")
        self.check(out)
        if isinstance(out.get(MAIL_TEMPLATE), str):
            out[MAIL_TEMPLATE] = self.prepare_mail(out[MAIL_TEMPLATE])
        return out

    def prepare_mail(self, code: str):
        """The template, every culture checked against the fields the action fills
        (template_field_unavailable, naming the field) before anything is queued."""
        from registrar.notify import mail, templates

        try:
            groups = (*self.mail_fields, self.per_type) if self.per else self.mail_fields
            return mail.prepare(code, templates.fields(*groups))
        except mail.TemplateNotFound:
            raise FileError(
                "invalid_parameter",
                key=MAIL_TEMPLATE,
                reason=f"no mail template has the code {code!r}",
            ) from None
        except mail.TemplateError as e:
            raise FileError("template_field_unavailable", template=code, field=e.field) from None

    def mail_item(self, r: Row) -> dict:
        """What a row's mail may name: the user, and the row's object (course, curriculum)."""
        item = {"user": r.values["user"]}
        if self.per:
            item[self.per_type] = r.values["object"]
        return item

    def notify(self, rows: list[Row], ctx) -> None:
        """After the batch's writes, in its transaction: a mail per applied row when a template
        was given (verify-only rolls them back with everything else)."""
        prepared = ctx.options.get(MAIL_TEMPLATE)
        if prepared is None or not rows:
            return
        from registrar.notify import mail

        queued = mail.queue(ctx.op, prepared, [self.mail_item(r) for r in rows])
        for i in queued.skipped:
            rows[i].warn("no_email", value=rows[i].values["user"]["login"])

    def objects(self, values: dict) -> list[dict | None]:
        """The objects each selected item gets a result for: [None] when the action has none."""
        return list(values[self.per]) if self.per else [None]

    def object_label(self, obj: dict | None) -> str:
        return "" if obj is None else obj.get("code") or obj.get("name") or str(obj["id"])


def exclusive(values: dict, first: str, second: str, detail: str = "") -> None:
    """Refuse two parameters given together (invalid_combination)."""
    if values.get(first) not in (None, False) and values.get(second) not in (None, False):
        raise FileError("invalid_combination", first=first, second=second, detail=detail)


__all__ = ["Action", "Param", "Row", "exclusive"]
