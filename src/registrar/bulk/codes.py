"""Every result code: its severity and its message. docs/codes.md documents the same table."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

ERROR, WARNING, SKIP = "error", "warning", "skip"


@dataclass(frozen=True)
class Code:
    """A stable lower-case code; `severity` says what it does to its row."""

    name: str
    severity: str
    message: object  # a lazy translated format string with {column}, {value}, ...

    def format(self, **params) -> str:
        try:
            return str(self.message).format(**params)
        except (KeyError, IndexError):
            return str(self.message)


CODES: dict[str, Code] = {}


def code(name: str, severity: str, message) -> Code:
    c = Code(name, severity, message)
    CODES[name] = c
    return c


# File level: the file cannot be used (exit 2), except unknown_column.
code("unreadable_file", ERROR, _("The file cannot be read: {reason}"))
code(
    "unsupported_format", ERROR, _("Unsupported file format {value}: use CSV, .xlsx, .xls or .ods")
)
code("missing_column", ERROR, _("Required column {column} is missing"))
code("unknown_column", WARNING, _("Column {column} is not known and was ignored"))
code("duplicate_column", ERROR, _("Column {column} appears more than once"))
code(
    "too_many_rows",
    ERROR,
    _("The file has more than {limit} rows, the limit set for this platform"),
)
code(
    "import_locked",
    ERROR,
    _(
        "Another {kind} import is running for this scope (since {since}); wait for it or run `registrar unlock {kind}`"
    ),
)
code("empty_file", ERROR, _("The file has no data rows"))
code("invalid_option", ERROR, _("Option {option}: {reason}"))

# Values.
code("missing_value", ERROR, _("Column {column} is required and is empty"))
code(
    "invalid_date",
    ERROR,
    _(
        "Column {column}: {value!r} is not a date (use YYYY-MM-DD, YYYY/MM/DD or ISO 8601 with a time)"
    ),
)
code("future_date", ERROR, _("Column {column}: {value!r} is in the future"))
code("invalid_number", ERROR, _("Column {column}: {value!r} is not a number{detail}"))
code("invalid_choice", ERROR, _("Column {column}: {value!r} is not one of {choices}"))
code("invalid_email", ERROR, _("Column {column}: {value!r} is not an email address"))
code("invalid_identifier", ERROR, _("Column {column}: {value!r} is not a valid identifier{detail}"))
code(
    "value_too_long",
    ERROR,
    _("Column {column}: the value has {length} characters, at most {max} are allowed"),
)

# References.
code("user_not_found", ERROR, _("No user matches {column} {value!r}"))
code(
    "ambiguous_user", ERROR, _("{count} users share the email {value!r}: use a file keyed by login")
)
code("user_disabled", ERROR, _("User {value!r} is disabled"))
code("user_not_in_training", ERROR, _("User {value!r} exists but has no training access"))
code("course_not_found", ERROR, _("No course has the identifier {value!r}"))
code("course_not_published", ERROR, _("Course {value!r} is not published: publish it first"))
code("course_title_mismatch", ERROR, _("Course {value!r} is titled {title!r}, not {given!r}"))
code("content_not_found", ERROR, _("No content has the identifier {value!r}"))
code("content_kind_mismatch", ERROR, _("Content {value!r} is a {actual}, not a {expected}"))
code("lesson_not_found", ERROR, _("No lesson {value!r} in course {course!r}"))
code("lesson_type_mismatch", ERROR, _("Lesson {value!r} is of type {actual}, not {given}"))
code("activity_not_found", ERROR, _("No course or session has the external reference {value!r}"))
code("org_not_found", ERROR, _("No organisation has the external id {value!r}"))
code("parent_not_found", ERROR, _("Parent {value!r} is neither in the platform nor in the file"))
code("hierarchy_cycle", ERROR, _("Parent {value!r} would put {key!r} under itself"))
code("manager_not_found", WARNING, _("Manager {value!r} ({column}) was not found: left empty"))
code("supervisor_not_found", WARNING, _("Supervisor {value!r} was not found: left empty"))
code("role_not_found", ERROR, _("No role is named {value!r}"))
code("audience_not_found", ERROR, _("No audience is named {value!r}"))
code("credit_type_not_found", ERROR, _("No credit type is named {value!r}"))
code("session_not_found", ERROR, _("No classroom session has the id {value!r}"))
code("out_of_scope", ERROR, _("{what} is outside the organisations you may change"))
code("login_in_use", ERROR, _("Login {value!r} already belongs to another user"))
code("extid_in_use", ERROR, _("External id {value!r} already belongs to another user"))
code("uuid_in_use", ERROR, _("UUID {value!r} already belongs to another item"))
code("already_exists", SKIP, _("{value!r} already exists and update_existing is off"))

# State.
code(
    "existing_progress",
    SKIP,
    _("The user already has progress on this course ({status}): left as it is"),
)
code(
    "record_exists",
    ERROR,
    _("A record already exists for this user and course: change it with an action"),
)
code("status_exists", ERROR, _("A status already exists for this lesson"))
code("not_assigned", ERROR, _("The user is not assigned to course {value!r}"))
code("not_enrolled", SKIP, _("The user is not enrolled in {value!r}"))
code("already_assigned", SKIP, _("The user is already assigned to {value!r}"))
code("audience_mismatch", ERROR, _("The user is in none of the audiences of {value!r}"))
code("credits_on_incomplete", ERROR, _("Credits can only be given for a completed course"))
code("duplicate_row", ERROR, _("Same {key} as row {first}: only the first is used"))
code("completion_kept", WARNING, _("The completion is kept; only the assignment is removed"))
code(
    "no_access",
    WARNING,
    _("The user has no access to {value!r}: the record shows once access is given"),
)
code(
    "list_created", WARNING, _("List {value!r} did not exist and was created in the Default folder")
)
code("credit_type_created", WARNING, _("Credit type {value!r} did not exist and was created"))
code("audience_created", WARNING, _("Audience {value!r} did not exist and was created"))
code("session_full", ERROR, _("Session {value!r} is full"))
code("conflict", ERROR, _("{table} #{pk} changed since the operation: left as it is"))
code("processing_error", ERROR, _("Unexpected error while processing this row (reference {ref})"))
