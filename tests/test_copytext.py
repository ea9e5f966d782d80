"""COPY's text format (core.copytext) and the writes that use it: every value a model's columns
take is formatted by column, so no insert falls back to psycopg's adaptation row by row."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from registrar.bulk import parsers
from registrar.core import copytext
from registrar.core.lookups import staged
from registrar.journal import writes
from registrar.learning.models import CourseRecord, CourseStatus, Source


def test_choices_are_copied_as_their_values():
    # A model's choices are str (or int) subclasses: they were left to psycopg, row by row.
    assert copytext.text_column([CourseStatus.COMPLETED, Source.IMPORT]) == ["C", "import"]


def test_copy_text_escapes_what_copy_reads_as_markup():
    assert copytext.text_column(["a\tb", "c\\d", "e\nf", None, True, 3, Decimal("1.5")]) == [
        "a\\tb",
        "c\\\\d",
        "e\\nf",
        "\\N",
        "t",
        "3",
        "1.5",
    ]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_inserts_of_records_copy_by_columns(db, monkeypatch):
    from . import factories as f

    users = [f.user(f"u{i}") for i in range(3)]
    course = f.course("C1", "One")
    rows = []
    monkeypatch.setattr(writes, "_copy", lambda *a: rows.append(a))  # the row-by-row fallback
    op = writes.Operation.objects.create(kind="import", name="test")
    progress_ids = writes.insert_columns(
        CourseRecord,
        {"user_id": [u.pk for u in users], "course_id": [course.pk] * 3},
        3,
        op,
        same={"status": CourseStatus.COMPLETED, "completion_percent": 100, "source": Source.IMPORT},
    )
    assert rows == []
    stored = CourseRecord.objects.filter(pk__in=progress_ids)
    assert sorted(stored.values_list("status", "source")) == [("C", "import")] * 3


def test_staged_rows_are_joined_as_given(db):
    rows = [(1, "x\ty"), (2, "z")]
    with staged("t", {"a": "bigint", "b": "text"}, rows) as st, connection.cursor() as c:
        c.execute(f'SELECT "a", "b" FROM "{st}" ORDER BY "a"')
        assert c.fetchall() == rows


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_ids_are_reserved_from_the_tables_sequence(db):
    # SQLite reserves by inserting (one writer); PostgreSQL takes them from the sequence.
    first = writes.allocate_ids(CourseRecord, 5)
    second = writes.allocate_ids(CourseRecord, 5)
    assert len(set(first + second)) == 10 and min(second) > max(first)


def test_a_past_date_is_checked_against_today_after_an_earlier_one():
    parse = parsers.date_(past=True)
    today = timezone.localdate()
    assert parse("2001-02-03") == date(2001, 2, 3)  # remembers today
    assert parse(today.isoformat()) == today
    with pytest.raises(parsers.CellError) as e:
        parse((today + timedelta(days=1)).isoformat())
    assert e.value.code == "future_date"


def test_a_past_date_is_checked_against_today_in_the_current_zone_whatever_was_seen_before():
    parse = parsers.date_(past=True)
    parse("2001-02-03")  # an old date: the zone need not be read
    with timezone.override("Pacific/Kiritimati"):  # UTC+14: a day ahead of most zones
        ahead = timezone.localdate()
        assert parse(ahead.isoformat()) == ahead
    parse = parsers.date_(past=True)  # a parser remembers the cells it read: a new one
    with timezone.override("Pacific/Pago_Pago"), pytest.raises(parsers.CellError) as e:  # UTC-11
        parse(ahead.isoformat())  # tomorrow there
    assert e.value.code == "future_date"
    with timezone.override("Pacific/Pago_Pago"):
        behind = timezone.localdate()
        assert parse(behind.isoformat()) == behind
