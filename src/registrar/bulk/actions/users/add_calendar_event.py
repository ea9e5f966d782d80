"""users.add-calendar-event (SPEC §5, seed 003 "Ajouter un événement dans l'agenda"): one event
in each selected user's calendar (and its iCalendar feed)."""

from django.utils.translation import gettext_lazy as _

from registrar.core.errors import FileError
from registrar.notify import calendar

from ... import params as P
from ...action import Action, Param
from ...kind import CREATED


class AddCalendarEvent(Action):
    verb = "add-calendar-event"
    title = _("Add a calendar event")
    description = _(
        "Adds the event `name` (with `description`, from `start` to `end`, date and time; "
        "without a time zone, the platform's) to each selected user's calendar: one result per "
        "user, `created`. The event must end after it starts (`invalid_combination`). Running "
        "the action again adds the event again. Undo removes the events."
    )
    domain = "directory"
    repeatable = True  # a second run is a second event, as a person adding it twice
    params = [
        Param(
            "name",
            P.Text(max_length=calendar.MAX_NAME, blank=False),
            required=True,
            help=_("The event's title."),
        ),
        Param(
            "description",
            P.Text(max_length=5000, widget="textarea"),
            help=_("What the event is about."),
        ),
        Param("start", P.Moment(), required=True, help=_("e.g. 2027-03-01T09:00")),
        Param("end", P.Moment(), required=True, help=_("e.g. 2027-03-01T17:00")),
    ]
    examples = [
        {
            "name": "Induction day",
            "description": "Room 2, main building",
            "start": "2027-03-01T09:00",
            "end": "2027-03-01T17:00",
        }
    ]

    def check(self, values):
        start, end = values.get("start"), values.get("end")
        if start is not None and end is not None and end <= start:
            raise FileError(
                "invalid_combination",
                first="start",
                second="end",
                detail=str(_(": the event must end after it starts")),
            )
        if "name" in values and start is not None and end is not None:
            try:
                calendar.clean_event(values["name"], values.get("description", ""), start, end)
            except ValueError as e:
                raise FileError("invalid_parameter", key="name", reason=str(e)) from None

    def plan(self, rows, refs, ctx):
        for r in rows:
            r.result = CREATED

    def apply(self, rows, refs, ctx):
        o = ctx.options
        calendar.add_events(
            ctx.op,
            [r.values["user"]["id"] for r in rows],
            o["name"],
            o.get("description", ""),
            o["start"],
            o["end"],
        )
