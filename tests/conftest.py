"""Test fixtures: an isolated data directory and a helper that runs an import from rows."""

import csv
import io
import os
from pathlib import Path

import pytest

from registrar.bulk import engine
from registrar.bulk.io.readers import open_table

pytest_plugins = ["tests.portal_fixtures"]

# Commands the tests start run this checkout's code too (not another clone installed with -e).
SRC = str(Path(__file__).resolve().parents[1] / "src")
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(scope="session", autouse=True)
def _close_jobs_connection(django_db_setup, django_db_blocker):
    """The jobs alias holds its own connection: close it before the test database is dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        connections["jobs"].close()


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def write_csv(path, rows: list[list[str]], delimiter: str = ";", encoding: str = "utf-8") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return str(path)


def read_results(path: str) -> list[dict]:
    """A results (or rejects) file as dicts by header."""
    t = open_table(path)
    try:
        return [dict(zip(t.headers, cells, strict=False)) for _, cells in t.rows()]
    finally:
        t.close()


class Importer:
    """Run an import from header + rows; returns the report and the results rows."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.n = 0

    def file(self, header: list[str], rows: list[list[str]], suffix: str = ".csv", **kw) -> str:
        self.n += 1
        return write_csv(self.tmp_path / f"in{self.n}{suffix}", [header, *rows], **kw)

    def __call__(self, kind: str, header: list[str], rows: list[list[str]], **kw):
        return self.run(kind, self.file(header, rows), **kw)

    def dicts(self, kind: str, rows: list[dict], **kw):
        header = list(dict.fromkeys(k for r in rows for k in r))
        return self(kind, header, [[str(r.get(h, "")) for h in header] for r in rows], **kw)

    def run(self, kind: str, path: str, options: dict | None = None, **kw):
        report = engine.run_import(
            engine.Request(
                kind=kind, path=path, options={k: str(v) for k, v in (options or {}).items()}, **kw
            )
        )
        report.rows = read_results(report.results_path)
        return report


@pytest.fixture
def run_import(tmp_path, db):
    return Importer(tmp_path)


class Actor:
    """Run a bulk action on a selection; returns the report and the results rows (by header).

    `act("users.assign-courses", ids=["amartin"], params={...})`, or where=["org:in:ACME"]."""

    def __call__(
        self,
        name: str,
        params: dict | None = None,
        ids=None,
        where=(),
        any=False,
        include_disabled=False,
        list=None,
        exclude=(),
        **kw,
    ):
        from registrar.bulk.selection import Selection

        target = name.split(".", 1)[0]
        sel = Selection(
            target=target,
            where=[tuple(w.split(":", 2)) for w in where],
            any=any,
            include_disabled=include_disabled,
            list=list,
            ids=None if ids is None else [*ids],
            exclude=[*exclude],
        )
        report = engine.run(engine.Request(kind=name, selection=sel, params=params or {}, **kw))
        report.rows = read_results(report.results_path)
        return report


@pytest.fixture
def act(db):
    return Actor()
