"""Mail for bulk operations: a template's every culture checked once, then mails rendered and
queued in the outbox by the set, inside the operation's transaction (SPEC §2.13, §5 Mail).

    prepared = mail.prepare("course-assigned", templates.fields("user", "course", "assignment"))
    done = mail.queue(op, prepared, items)   # after the operation's own writes

`prepare` refuses (TemplateError, TemplateNotFound) before anything is written; `queue` inserts
the mails in bulk and has a background task deliver them once the transaction commits, so a
verify-only or aborted run, which rolls back, leaves nothing queued and sends nothing.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone

from . import password_links, tasks, templates
from .models import MailTemplate, OutboxMail
from .templates import TemplateError

log = logging.getLogger("registrar.mail")

__all__ = [
    "Prepared",
    "Queued",
    "TemplateError",
    "TemplateNotFound",
    "pick",
    "prepare",
    "prepare_text",
    "queue",
    "templates_for",
    "welcome",
]


class TemplateNotFound(LookupError):
    """No mail template has this code (in any culture)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Version:
    """One culture's template of a code, compiled."""

    id: int | None
    code: str
    culture: str
    subject: str
    body: str

    @property
    def compiled(self) -> tuple[templates.Compiled, templates.Compiled]:
        return templates.compiled(self.subject), templates.compiled(self.body)


def templates_for(code: str, cultures=None) -> dict:
    """Every culture's template of `code` ({culture: Version}; culture "" is the default), in
    one query. With `cultures`, the template each of those cultures gets instead (pick)."""
    found = {
        t["culture"]: Version(t["id"], code, t["culture"], t["subject"], t["body"])
        for t in MailTemplate.objects.filter(code=code).values("id", "culture", "subject", "body")
    }
    if cultures is None:
        return found
    return {c: pick(found, c) for c in cultures}


def pick(versions: dict, culture: str | None):
    """The template a user of `culture` gets: that culture's (fr-FR), else the language's (fr),
    else another culture of that language (fr-CA), else the default (""); failing all, the
    platform language's, else the first culture. None when there is no template at all."""
    if not versions:
        return None
    lowered = {c.lower(): v for c, v in sorted(versions.items())}
    wanted = (culture or "").strip().lower()
    lang = wanted.partition("-")[0]
    for c in (wanted, lang):
        if c and c in lowered:
            return lowered[c]
    if lang:
        for c, v in lowered.items():
            if c.partition("-")[0] == lang:
                return v
    if "" in lowered:
        return lowered[""]
    platform = settings.LANGUAGE_CODE.lower().partition("-")[0]
    for c, v in lowered.items():
        if c.partition("-")[0] == platform:
            return v
    return next(iter(lowered.values()))


@dataclass
class Prepared:
    """A template's versions, checked against what the operation can fill."""

    code: str | None  # None: a free subject and body (users.send-mail)
    versions: dict
    _picked: dict = field(default_factory=dict, repr=False)

    def version(self, culture: str | None) -> Version:
        """The version a user of `culture` gets (pick), remembered per culture."""
        key = (culture or "").strip().lower()
        if key not in self._picked:
            self._picked[key] = pick(self.versions, key)
        return self._picked[key]


def _check(code: str, versions: dict, available) -> None:
    """Every version's subject and body against `available` (no link in a subject)."""
    subject_fields = set(available) & templates.SUBJECT_FIELDS
    for v in versions.values():
        templates.check(code, [v.subject], subject_fields)
        templates.check(code, [v.body], available)


def prepare(code: str, available) -> Prepared:
    """Every culture of template `code`, each checked against the fields the operation can
    fill (templates.fields(...)). TemplateNotFound when no template has the code;
    TemplateError naming the first field (or tag, filter, syntax error) that cannot be used,
    in any culture."""
    versions = templates_for(code)
    if not versions:
        raise TemplateNotFound(code)
    _check(code, versions, available)
    return Prepared(code, versions)


def prepare_text(subject: str, body: str, available) -> Prepared:
    """A free subject and body (users.send-mail), checked as a template would be."""
    versions = {"": Version(None, "", "", subject, body)}
    _check("", versions, available)
    return Prepared(None, versions)


def load(code: str) -> Prepared | None:
    """Every culture of template `code`, unchecked (the caller checks each row's fields with
    refusal()); None when no template has the code."""
    versions = templates_for(code)
    return Prepared(code, versions) if versions else None


def builtin(subject: str, body: str) -> Prepared:
    """A built-in text used when no template of the code exists, unchecked."""
    return Prepared(None, {"": Version(None, "", "", subject, body)})


def refusal(prepared: Prepared, available) -> TemplateError | None:
    """Why `prepared` cannot be sent with `available` (the error to report), or None."""
    try:
        _check(prepared.code or "", prepared.versions, available)
    except TemplateError as e:
        return e
    return None


@dataclass
class Queued:
    """What `queue` did: how many mails it queued, and which items got none (their user has no
    email address: the caller reports `no_email` on them)."""

    queued: int
    skipped: list[int]  # indexes into the items
    skipped_users: set[int]


def one_line(text: str) -> str:
    """A subject as a header takes it: one line, at most 255 characters."""
    return " ".join(text.split())[:255]


def render(prepared: Prepared, items: list[dict], operation_id: int | None) -> tuple[list, list]:
    """The outbox rows of `items` (tuples in COLUMNS order) and the indexes of the items whose
    user has no email address."""
    now = timezone.now()
    portal = settings.REGISTRAR_BASE_URL
    rows, skipped = [], []
    languages: dict[str, str] = {}
    for i, item in enumerate(items):
        user = item["user"]
        to = (user.get("email") or "").strip()
        if not to:
            skipped.append(i)
            continue
        culture = user.get("culture") or ""
        version = prepared.version(culture)
        if culture not in languages:
            languages[culture] = password_links.language_for(culture)
        language = languages[culture]
        values = {**item, "portal_url": portal}
        if "password_link" not in values:
            values["password_link"] = password_links.PLACEHOLDER
        subject, body = version.compiled
        text = body.render(values, language)
        link = OutboxMail.Link.SET_PASSWORD if password_links.PLACEHOLDER in text else ""
        rows.append(
            (
                to,
                one_line(subject.render(values, language)),
                text,
                link,
                version.id,
                user.get("id"),
                operation_id,
                OutboxMail.State.QUEUED,
                "",
                now,
                None,
                0,
                None,
            )
        )
    return rows, skipped


COLUMNS = (
    "to",
    "subject",
    "body",
    "link",
    "template_id",
    "user_id",
    "operation_id",
    "state",
    "error",
    "created_at",
    "sent_at",
    "attempts",
    "next_attempt_at",
)
CHUNK = 5000


def _builtin_welcome(op, users: list[dict]) -> list[tuple]:
    """The built-in welcome mails (outbox rows in COLUMNS order): the text translated once per
    culture, filled in per user."""
    now = timezone.now()
    hours = password_links._hours()
    texts: dict[str, tuple[str, str]] = {}
    rows = []
    for u in users:
        culture = u.get("culture") or ""
        if culture not in texts:
            texts[culture] = password_links.welcome_texts(culture)
        subject, body = texts[culture]
        values = {
            "first_name": u.get("first_name") or "",
            "login": u["login"],
            "link": password_links.PLACEHOLDER,
            "hours": hours,
        }
        rows.append(
            (
                u["email"],
                subject,
                body % values,
                OutboxMail.Link.SET_PASSWORD,
                None,
                u["id"],
                op.pk,
                OutboxMail.State.QUEUED,
                "",
                now,
                None,
                0,
                None,
            )
        )
    return rows


def insert(rows: list[tuple]) -> None:
    """Outbox rows (tuples in COLUMNS order) in bulk: COPY on PostgreSQL, one executemany per
    chunk on SQLite (in the operation's one transaction)."""
    if not rows:
        return
    meta = OutboxMail._meta
    q = connection.ops.quote_name
    cols = ", ".join(q(meta.get_field(n).column) for n in COLUMNS)
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as c,
            c.cursor.copy(f"COPY {q(meta.db_table)} ({cols}) FROM STDIN") as copy,
        ):
            for r in rows:
                copy.write_row(r)
        return
    sql = f"INSERT INTO {q(meta.db_table)} ({cols}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    adapt = connection.ops.adapt_datetimefield_value
    at = COLUMNS.index("created_at")
    stamp = adapt(rows[0][at])  # every row of a call carries the same moment
    with connection.cursor() as c:
        for i in range(0, len(rows), CHUNK):
            c.executemany(sql, [(*r[:at], stamp, *r[at + 1 :]) for r in rows[i : i + CHUNK]])


def queue(op, prepared: Prepared, items: list[dict]) -> Queued:
    """Queue a mail per item, attached to operation `op`, and have them delivered after commit.

    Items: {"user": {"id", "login", "email", "first_name", "last_name", "culture"},
    "course": {"title", "code"} | None, "curriculum": {...} | None, "assignment":
    {"start_date", "target_date", "end_date"} | None}. Each user gets the template of their
    culture (pick), rendered in their language (dates included). A user without an email
    address gets none: those items are returned in `skipped`."""
    operation = op.pk if op is not None else None
    rows, skipped = render(prepared, items, operation)
    insert(rows)
    if rows:
        tasks.deliver_after_commit(operation)
    return Queued(len(rows), skipped, {items[i]["user"].get("id") for i in skipped})


# The welcome mail of the users import: the template `welcome` when one exists.
WELCOME = "welcome"
WELCOME_FIELDS = templates.fields("user") | {"password_link"}
USER_KEYS = ("login", "email", "first_name", "last_name", "culture")


def welcome(op, users: list[dict]) -> int:
    """Queue the welcome mail of new accounts ({"id", "login", "email", "first_name",
    "last_name", "culture"}; those without an address get none): template `welcome` in the
    user's culture when it exists (its `{{ password_link }}` becomes a set-password link when
    sent), else the built-in text in the user's language. Returns how many were queued."""
    users = [u for u in users if (u.get("email") or "").strip()]
    if not users:
        return 0
    prepared = load(WELCOME)
    if prepared is not None and (e := refusal(prepared, WELCOME_FIELDS)) is not None:
        # A new account must not wait for a mail template to be fixed: the built-in text goes.
        log.warning(
            "mail template %r refused (%s): the built-in welcome mail is sent", WELCOME, e.field
        )
        prepared = None
    if prepared is None:
        insert(_builtin_welcome(op, users))
    else:
        rows, _ = render(prepared, [{"user": u} for u in users], op.pk)
        insert(rows)
    tasks.deliver_after_commit(op.pk)
    return len(users)
