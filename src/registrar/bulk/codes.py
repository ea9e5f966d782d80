"""Every result code: its severity and its message. docs/codes.md documents the same table."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

ERROR, WARNING, SKIP = "error", "warning", "skip"


@dataclass(frozen=True)
class Code:
    """A stable lower-case code; `severity` says what it does to its row."""

    name: str
    severity: str
    message: object  # a lazy translated format string with {column}, {value}, ...
    # Parameters the message shows in the reader's language, made from the stored ones
    # (which stay plain: codes and values, never text in the language of the run).
    derive: Callable[[dict], dict] | None = None

    def format(self, **params) -> str:
        params = {"detail": "", **params}
        try:
            if self.derive is not None:
                params |= self.derive(params)
            return str(self.message).format(**params)
        except (KeyError, IndexError):
            return str(self.message)


CODES: dict[str, Code] = {}


def code(name: str, severity: str, message, derive=None) -> Code:
    c = Code(name, severity, message, derive)
    CODES[name] = c
    return c


DATE_ORDER_EXPECTED = {
    "ymd": _("year-month-day (YYYY-MM-DD, YYYY/MM/DD or ISO 8601 with a time)"),
    "dmy": _(
        "day-month-year (DD/MM/YYYY, DD.MM.YYYY or DD-MM-YYYY, with an optional HH:MM), or YYYY-MM-DD, YYYY/MM/DD or ISO 8601"
    ),
    "mdy": _(
        "month-day-year (MM/DD/YYYY, MM.DD.YYYY or MM-DD-YYYY, with an optional HH:MM), or YYYY-MM-DD, YYYY/MM/DD or ISO 8601"
    ),
}


def _date_hint(params: dict) -> dict:
    """invalid_date: the order expected, and the date_order that would read the value."""
    expected = DATE_ORDER_EXPECTED.get(params.get("order") or "ymd", DATE_ORDER_EXPECTED["ymd"])
    orders = str(params.get("suggest") or "").split()
    value = params.get("value", "")
    if len(orders) == 1:
        hint = _("; set date_order={order} for {value}").format(order=orders[0], value=value)
    elif len(orders) > 1:
        hint = _("; set date_order={first} or date_order={second} for {value}").format(
            first=orders[0], second=orders[1], value=value
        )
    else:
        hint = ""
    return {"expected": str(expected), "hint": str(hint)}


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
code("file_too_large", ERROR, _("The file is too large to read: {reason}"))
code(
    "unbalanced_quote",
    ERROR,
    _(
        "Line {line}: a quoted field opens here and runs over {lines} lines, taking in what look like {rows} more rows: a quote is missing, or a quote inside a value is not doubled"
    ),
)
code(
    "database_busy",
    ERROR,
    _(
        "The database is busy: another import or undo is writing and did not finish within {seconds} seconds. Run this again when it ends, or wait longer with REGISTRAR_DB_TIMEOUT=SECONDS"
    ),
)

# Values.
code("missing_value", ERROR, _("Column {column} is required and is empty"))
code(
    "conflicting_columns",
    ERROR,
    _("Columns {first} and {second} cannot both be filled on one row"),
)
code(
    "invalid_date",
    ERROR,
    _("Column {column}: {value!r} is not a date{detail}; expected {expected}{hint}"),
    derive=_date_hint,
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
    "ambiguous_user",
    ERROR,
    _(
        "{count} users match {value!r} (a shared email, or one user's login that is another's external id): name the user by an identifier only one user has"
    ),
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
code(
    "parent_not_found",
    ERROR,
    _("Parent {value!r} is not in the platform, and no applied row of the file defines it"),
)
code("hierarchy_cycle", ERROR, _("Parent {value!r} would put {key!r} under itself"))
code("manager_not_found", WARNING, _("Manager {value!r} ({column}) was not found: left empty"))
code("supervisor_not_found", WARNING, _("Supervisor {value!r} was not found: left empty"))
code("role_not_found", ERROR, _("No role is named {value!r}"))
code("audience_not_found", ERROR, _("No audience is named {value!r}"))
code("credit_type_not_found", ERROR, _("No credit type is named {value!r}"))
code("session_not_found", ERROR, _("No classroom session has the id {value!r}"))
code("out_of_scope", ERROR, _("{what} is outside the organisations you may change"))
code(
    "role_not_grantable",
    ERROR,
    _(
        "Your roles cannot grant (or take away) role {role!r} on {scope}: that needs every permission of the role, over a scope that contains it"
    ),
)
code(
    "privileged_user",
    ERROR,
    _(
        "User {value!r} holds role {role!r} on {scope}, which your roles could not grant: only an administrator who could grant it may change this user"
    ),
)
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
code(
    "status_exists",
    ERROR,
    _("{what} already has a status ({status}) and when_status_exists is reject"),
)
code("not_assigned", ERROR, _("The user is not assigned to course {value!r}"))
code("not_enrolled", SKIP, _("The user is not enrolled in {value!r}"))
code("already_assigned", SKIP, _("The user is already assigned to {value!r}"))
code("audience_mismatch", ERROR, _("The user is in none of the audiences of {value!r}"))
code("credits_on_incomplete", ERROR, _("Credits can only be given for a completed course"))
code("duplicate_row", ERROR, _("Same {key} as row {first}: only the first is used"))
code("completion_kept", WARNING, _("The learner's completion (or attendance) is kept"))
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
code(
    "invalid_format",
    ERROR,
    _("Column {column}: {value!r} does not follow the format {format}{detail}"),
)
code(
    "invalid_slot",
    ERROR,
    _(
        "Lesson slot {lesson!r} ({start} to {end}) must end after it starts and not start before the session ({session_start})"
    ),
)
code(
    "not_classroom_course",
    ERROR,
    _("Course {value!r} is not a classroom course: it has no classroom (T) lesson"),
)
code("conflict", ERROR, _("{table} #{pk} changed since the operation: left as it is"))
code("processing_error", ERROR, _("Unexpected error while processing this row (reference {ref})"))
code(
    "ambiguous_activity",
    ERROR,
    _("{count} items have the external reference {value!r} ({items}): give each its own"),
)
code("no_email", WARNING, _("User {value!r} has no email address: no mail was sent"))
code(
    "mail_template_field",
    ERROR,
    _("Mail template '{template}' uses the field '{field}', which this operation cannot fill"),
)

code(
    "course_mismatch",
    ERROR,
    _("The row names course {value!r}, but this course-level import is for course {course!r}"),
)
code(
    "record_mismatch",
    ERROR,
    _(
        "Column {column} disagrees with row {first} for the same user and course: the rows of one user and course must give the same record"
    ),
)
code(
    "completion_on_incomplete",
    ERROR,
    _("A completion date is given but complete is 0: set complete=1 or empty the date"),
)

# static-lists and external-trainings (issue 4).
code(
    "list_not_static",
    ERROR,
    _("List {value!r} is a dynamic list: its members come from its criteria, not from imports"),
)
code(
    "learner_name_mismatch",
    ERROR,
    _("Learner {value!r} is named {actual!r}, not {given!r} ({column})"),
)
code(
    "training_not_found",
    ERROR,
    _("Learner {value!r} has no passport entry {training}: nothing to update (use action add)"),
)
code(
    "not_in_passport",
    SKIP,
    _("Learner {value!r} has no passport entry {training}: nothing to delete"),
)
code(
    "ambiguous_training",
    ERROR,
    _("{count} passport entries of learner {value!r} match {training}: fix them by hand first"),
)
code(
    "end_before_start",
    ERROR,
    _("Column {column}: the end date {value} is before the start date {start}"),
)

# course-assignments and curriculum-assignments (issue 4).
code(
    "date_order",
    ERROR,
    _(
        "Dates out of order{where}: {first} {first_value} is after {second} {second_value} (the order is start_date ≤ target_date ≤ end_date)"
    ),
)
code(
    "session_course_mismatch",
    ERROR,
    _("Session {value!r} is a session of course {actual!r}, not of {course!r}"),
)
code(
    "session_waiting_list",
    WARNING,
    _("Session {value!r} is full: the user is on its waiting list"),
)
code(
    "curriculum_not_found",
    ERROR,
    _("No curriculum has the code or external reference {value!r}"),
)
code(
    "ambiguous_content",
    ERROR,
    _("{count} items have the external reference {value!r} ({items}): name it by its code"),
)

# lesson-statistics and course-statistics (issue 4).
code(
    "presence_ignored",
    WARNING,
    _(
        "Column ilt_status: {value!r} is for classroom lessons (type T), and lesson {lesson!r} is of type {type}: no presence recorded"
    ),
)
code(
    "completion_replaced",
    WARNING,
    _(
        "Course {value!r} was completed ({date}): this new attempt makes it {status}; its certificate, credits, curricula and programmes are kept"
    ),
)

# Actions, selections and export (SPEC §5, §6).
code("invalid_parameter", ERROR, _("Parameter {key}: {reason}"))
code(
    "invalid_combination",
    ERROR,
    _("Parameters {first} and {second} cannot be used together{detail}"),
)
code(
    "template_field_unavailable",
    ERROR,
    _("Mail template {template!r} uses the field {field!r}, which this operation cannot fill"),
)
code("unknown_field", ERROR, _("Unknown field {field!r}{detail}"))
code("empty_selection", ERROR, _("The selection is empty: no {target} matched"))
code("not_tutor_list", ERROR, _("{value!r} is not a static list whose members can be tutored"))
code("already_completed", SKIP, _("{value!r} is completed already"))
code("already_done", SKIP, _("Nothing to do: {value!r} is already so"))
code("list_not_found", ERROR, _("No list is called {value!r}"))
code("competency_not_found", ERROR, _("No competency has the code {value!r}"))
code(
    "certificate_not_issued",
    SKIP,
    _("Course {value!r} has no certificate template: nothing to re-issue"),
)
code("not_completed", SKIP, _("Course {value!r} is not completed: no certificate to re-issue"))
code("no_record", SKIP, _("{value!r} has no progress to reset"))
# Merge and transfer (SPEC §7, §8).
code("merge_same_user", ERROR, _("{value!r} is both the user to remove and the user to keep"))
code(
    "both_have_progress",
    ERROR,
    _(
        "Both {remove!r} and {keep!r} have progress: nothing is transferred (--on-conflict merge keeps the better record of each course and lesson)"
    ),
)
code("no_progress", SKIP, _("User {value!r} has no progress to transfer"))
code("same_content", ERROR, _("{value!r} is both the content to transfer from and to"))
code("members_assigned", WARNING, _("{count} of the members of list {value!r} assigned"))

# How to fix a row that got each code (docs/codes.md is generated from this table).
FIX = {
    "unreadable_file": "Save the file again as CSV (UTF-8) or .xlsx and check it opens in a spreadsheet.",
    "unsupported_format": "Use a .csv, .xlsx, .xls or .ods file.",
    "missing_column": "Add the column (the header names are in docs/formats.md, or start from `registrar import-template KIND`).",
    "unknown_column": "Nothing to do if the column is not meant for import; otherwise fix its header.",
    "duplicate_column": "Keep one column with that header.",
    "too_many_rows": "Split the file, or ask an operator to raise REGISTRAR_MAX_ROWS.",
    "import_locked": "Wait for the running import; if it crashed, an administrator runs `registrar unlock KIND`.",
    "empty_file": "Add a header row and at least one data row.",
    "invalid_option": "Check the option's name and value in docs/formats.md.",
    "file_too_large": "Split the file, save the sheet without empty formatted cells far from the data, or ask an operator to raise the limit named in the message (docs/decisions.md, Spreadsheet limits).",
    "unbalanced_quote": 'Open the file in a text editor at that line: close the quote, or double a quote that is part of a value (""), then import again.',
    "database_busy": "Wait for the running import or undo to end (`registrar history`), then run the command again.",
    "missing_value": "Fill the cell: the column is required.",
    "conflicting_columns": "Keep one of the two cells and empty the other.",
    "invalid_date": "Write the date as 2024-06-15, 2024/06/15 or 2024-06-15T14:30:00+10:00; for a file of day-first dates (15/06/2024, 15.06.2024) set date_order=dmy, of month-first dates (06/15/2024) date_order=mdy.",
    "future_date": "Use a date that has already passed.",
    "invalid_number": "Write a plain number, e.g. 12.5 (a comma is accepted as decimal mark).",
    "invalid_choice": "Use one of the values listed in the message.",
    "invalid_email": "Write a complete email address, e.g. name@example.com.",
    "invalid_identifier": "Check the identifier's format (a UUID looks like 123e4567-e89b-12d3-a456-426614174000).",
    "value_too_long": "Shorten the value to the length given.",
    "user_not_found": "Check the login or email, or import the user first.",
    "ambiguous_user": "Two accounts share this email (or one's login is the other's external id): use an identifier only one of them has (a login, or an import keyed by login), or merge the accounts.",
    "user_disabled": "Enable the user first, or drop the row.",
    "user_not_in_training": "Give the user training access (users import, training_access=1), then import again.",
    "course_not_found": "Check the course code (or UUID) against the catalogue.",
    "course_not_published": "Publish the course, then import again.",
    "course_title_mismatch": "Copy the course title exactly, or leave course_title empty.",
    "content_not_found": "Check the content's UUID.",
    "content_kind_mismatch": "Put this content in a file of its own kind (kind=activity, journey or programme).",
    "lesson_not_found": "Check the lesson code and its course.",
    "lesson_type_mismatch": "Use the lesson's own type (A, L, W, T or E).",
    "activity_not_found": "Check the course's or session's external reference.",
    "org_not_found": "Check the organisation's external id, or import the organisation first.",
    "parent_not_found": "Add the parent to the file, import it first, or fix its identifier.",
    "hierarchy_cycle": "An item cannot be its own ancestor: fix the parent column.",
    "manager_not_found": "Nothing blocks: import the manager (with that extid) and import the row again to link them.",
    "supervisor_not_found": "Nothing blocks: import the supervisor user (with that extid), then import the row again.",
    "role_not_found": "Create the role first, or fix its name.",
    "audience_not_found": "Create the audience first, or fix its name.",
    "credit_type_not_found": "Create the credit type first, or fix its name.",
    "session_not_found": "Check the classroom session's id.",
    "out_of_scope": "Ask an administrator whose scope covers that organisation.",
    "role_not_grantable": "Ask an administrator who holds that role's permissions over that scope (a site administrator for the Site administrator role).",
    "privileged_user": "Ask an administrator who could grant that user's roles to make the change.",
    "login_in_use": "Choose another login, or match on extid to rename the existing user.",
    "extid_in_use": "Each user needs a different external id.",
    "uuid_in_use": "Leave the uuid empty (one is generated) or use the item's own.",
    "already_exists": "Set update_existing=yes to update existing items.",
    "existing_progress": "Nothing to do: the learner's own progress is kept. Use a statistics action to change it.",
    "record_exists": "Change the existing record with an action, not an import.",
    "status_exists": "Use when_status_exists=new_attempt to record another attempt.",
    "not_assigned": "Assign the course first, or use assign_if_needed=yes.",
    "not_enrolled": "Nothing to do: the user was not enrolled.",
    "already_assigned": "Nothing to do, or set update_existing=yes to change the assignment.",
    "audience_mismatch": "Add the user to one of the course's audiences, or turn respect_audiences off.",
    "credits_on_incomplete": "Set complete=1, or remove the credits.",
    "duplicate_row": "Remove the repeated row (the first one was used).",
    "completion_kept": "Nothing to do.",
    "no_access": "Give the user access (assignment or audience) for the record to show.",
    "list_created": "Nothing to do, or move the new list out of the Default folder.",
    "credit_type_created": "Nothing to do, if the name was meant.",
    "audience_created": "Nothing to do, if the name was meant.",
    "session_full": "Raise the session's capacity or choose another session.",
    "invalid_format": "Write the cell as the format in the message says (docs/formats.md has an example).",
    "invalid_slot": "Give each lesson slot an end after its start, on or after the session's start.",
    "not_classroom_course": "Choose a classroom course, or give the course a classroom (T) lesson or the course type classroom first.",
    "conflict": "The row changed after the operation; change it by hand if needed.",
    "processing_error": "Import the row again; if it fails again, report the reference to support.",
    "ambiguous_activity": "Give the course and the session (or the two courses) different external references.",
    "no_email": "Add the user's email address if they should get mail; nothing else to do.",
    "mail_template_field": "Edit the mail template to use only the fields listed in docs/formats.md for this import.",
    "course_mismatch": "Put the row in a file for its own course (course=CODE), or use the global importer.",
    "record_mismatch": "Give every row of one user and course the same complete, completion_date and enrolled_date.",
    "completion_on_incomplete": "Set complete=1 if the course was completed, otherwise empty completion_date.",
    "date_order": "Give dates in the order start_date ≤ target_date ≤ end_date (an empty cell keeps the assignment's current date).",
    "session_course_mismatch": "Use a session of the row's course (a session never moves to another course), or fix crsvname.",
    "session_waiting_list": "Nothing to do; raise the session's capacity or book another session to give the user a seat.",
    "curriculum_not_found": "Check the curriculum's code (or external reference) against the catalogue.",
    "ambiguous_content": "Use the item's code, or give each item its own external reference.",
    "list_not_static": "Name a static list (or create one with another name): a dynamic list's members come from its criteria.",
    "learner_name_mismatch": "Check that the row names the right learner; fix learner_lname/learner_fname or leave them empty.",
    "training_not_found": "Check the learner, course_code (or course_name) and start_date, or use action add to create the entry.",
    "not_in_passport": "Nothing to do: the entry was not in the learner's passport (or was deleted already).",
    "ambiguous_training": "Merge or delete the duplicate passport entries by hand, then import again.",
    "end_before_start": "Swap the two dates, or fix the one that is wrong.",
    "presence_ignored": "Leave ilt_status empty for lessons that are not classroom (T) lessons.",
    "invalid_parameter": "Check the parameter's name and value in docs/formats.md (Bulk actions).",
    "invalid_combination": "Give only one of the two parameters.",
    "template_field_unavailable": "Edit the mail template to use only the fields this action offers (docs/formats.md, Mail templates).",
    "unknown_field": "Use one of the fields listed in the message (docs/formats.md, Selections).",
    "empty_selection": "Widen the selection (check the criteria, the list or the identifiers).",
    "not_tutor_list": "Name a static list (a dynamic list has no fixed members to tutor).",
    "already_completed": "Nothing to do.",
    "already_done": "Nothing to do.",
    "list_not_found": "Check the list's name (lists are in the Default folder unless moved).",
    "competency_not_found": "Check the competency's code against the catalogue.",
    "certificate_not_issued": "Give the course a certificate template first.",
    "not_completed": "Nothing to do: a certificate is issued when the course is completed.",
    "no_record": "Nothing to do.",
    "members_assigned": "Nothing to do: the list's members were assigned as asked.",
    "completion_replaced": "Nothing to do if the learner is taking the course again; otherwise undo the import and import with when_status_exists=reject.",
    "merge_same_user": "Name two different users: --remove the duplicate, --keep the account to keep.",
    "both_have_progress": "Run again with --on-conflict merge (the better record of each course and lesson is kept), or merge the two users.",
    "no_progress": "Nothing to do.",
    "same_content": "Name the old content with --from and the new one with --to.",
}
