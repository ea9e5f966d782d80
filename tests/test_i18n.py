"""Messages in English and French (SPEC §10): the French catalogue is complete, keeps every
placeholder, is compiled (the committed .mo matches the .po) and reaches the results and log files,
the import kinds' texts and the portal's pages.

To update the catalogue when a code is added: see "Translations" in docs/decisions.md.
"""

import ast
import gettext
import io
import re
import string
import tomllib
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from registrar.bulk import docs
from registrar.bulk.codes import CODES
from registrar.bulk.engine import ENGINE_OPTIONS
from registrar.bulk.imports import KINDS
from registrar.journal.models import Operation
from registrar.portal import labels

from . import factories as f
from .conftest import read_results, write_csv

ROOT = Path(__file__).resolve().parent.parent
LC_MESSAGES = ROOT / "src" / "registrar" / "locale" / "fr" / "LC_MESSAGES"
PO, MO = LC_MESSAGES / "django.po", LC_MESSAGES / "django.mo"
UPDATE = (
    "update the catalogue: cd src/registrar && registrar makemessages -l fr, translate, "
    "then registrar compilemessages -l fr (docs/decisions.md, Translations)"
)


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: {"ctx", "id", "plural", "str": {index: text}, "flags"}.

    Enough of the format for what makemessages writes; obsolete (#~) entries are left out."""
    entries: list[dict] = []
    entry: dict | None = None
    target: tuple | None = None

    def new() -> dict:
        e = {"ctx": None, "id": None, "plural": None, "str": {}, "flags": set()}
        entries.append(e)
        return e

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            entry = target = None
            continue
        if line.startswith("#,"):
            if entry is None or entry["id"] is not None:
                entry = new()
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith('"'):
            assert target is not None, f"{path}: continuation line without a keyword: {raw!r}"
            rest = line
        else:
            if keyword in ("msgctxt", "msgid") and (entry is None or entry["id"] is not None):
                entry = new()
            assert entry is not None, f"{path}: {raw!r}"
            if keyword == "msgctxt":
                target = ("ctx",)
            elif keyword == "msgid":
                target = ("id",)
            elif keyword == "msgid_plural":
                target = ("plural",)
            elif keyword == "msgstr":
                target = ("str", 0)
            elif keyword.startswith("msgstr[") and keyword.endswith("]"):
                target = ("str", int(keyword[7:-1]))
            else:
                raise AssertionError(f"{path}: unexpected line {raw!r}")
        text = ast.literal_eval(rest)
        if target[0] == "str":
            entry["str"][target[1]] = entry["str"].get(target[1], "") + text
        else:
            entry[target[0]] = (entry[target[0]] or "") + text
    return [e for e in entries if e["id"] is not None]


def placeholders(message: str) -> set[tuple]:
    """The {fields} of a format string, with their conversion and format spec."""
    return {
        (name, conversion, spec)
        for _, name, spec, conversion in string.Formatter().parse(message)
        if name is not None
    }


def header_fields(header: str) -> dict:
    fields = dict(line.partition(":")[::2] for line in header.splitlines() if line)
    fields.pop("POT-Creation-Date", None)
    return fields


def english(code) -> str:
    with translation.override("en"):
        return str(code.message)


def french(code) -> str:
    with translation.override("fr"):
        return str(code.message)


# The catalogue ------------------------------------------------------------------------------


def test_the_po_has_every_message_translated_and_nothing_fuzzy():
    entries = read_po(PO)
    header = [e for e in entries if e["id"] == ""]
    assert header and "Language: fr\n" in header[0]["str"][0]
    fuzzy = [e["id"] for e in entries if "fuzzy" in e["flags"]]
    assert not fuzzy, f"fuzzy entries left: {fuzzy}: {UPDATE}"
    untranslated = [e["id"] for e in entries if e["id"] and not all(e["str"].values())]
    assert not untranslated, f"untranslated: {untranslated}: {UPDATE}"
    missing = {english(c) for c in CODES.values()} - {e["id"] for e in entries}
    assert not missing, f"codes not in the .po: {sorted(missing)}: {UPDATE}"


def test_the_mo_is_compiled_from_the_current_po():
    """The committed .mo holds exactly the .po's translations (CI has no msgfmt to compile it)."""
    expected = {}
    for e in read_po(PO):
        if "fuzzy" in e["flags"] and e["id"]:
            continue
        key = e["id"] if e["ctx"] is None else f"{e['ctx']}\x04{e['id']}"
        if e["plural"] is None:
            if e["str"].get(0):
                expected[key] = e["str"][0]
        else:
            for n, text in e["str"].items():
                if text:
                    expected[(key, n)] = text
    with MO.open("rb") as fp:
        catalog = dict(gettext.GNUTranslations(fp)._catalog)
    # msgfmt leaves out the header's POT-Creation-Date (so a makemessages run alone changes no .mo).
    expected[""], catalog[""] = (
        header_fields(expected.get("", "")),
        header_fields(catalog.get("", "")),
    )
    stale = {k for k in expected.keys() | catalog.keys() if expected.get(k) != catalog.get(k)}
    assert not stale, (
        f"django.mo is out of date with django.po ({sorted(map(str, stale))[:5]}): {UPDATE}"
    )


def test_the_catalogue_is_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = {p for ps in pyproject["tool"]["setuptools"]["package-data"].values() for p in ps}
    assert {"*.po", "*.mo"} <= patterns


@pytest.mark.parametrize("name", list(CODES))
def test_every_code_has_a_french_message(name):
    en, fr = english(CODES[name]), french(CODES[name])
    assert fr != en, f"{name} has no French translation: {UPDATE}"
    assert placeholders(fr) == placeholders(en), name
    # Every placeholder of the French text is filled (Code.format falls back to the raw text).
    params = {p: f"<{p}>" for p, _, _ in placeholders(en)}
    with translation.override("fr"):
        text = CODES[name].format(**params)
    # Parameters a code derives itself (invalid_date's expected order and hint) are its own.
    derived = set(CODES[name].derive(dict(params))) if CODES[name].derive else set()
    given = [v for p, v in params.items() if p not in derived]
    assert "{" not in text and all(v in text for v in given), text


# Where the messages go ----------------------------------------------------------------------


def test_french_results_and_log(db, tmp_path):
    f.user("alice")
    f.course("SAFE-101", "Workplace safety")
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["course_id", "user_email", "completion_date"],
            ["NOPE", "alice@example.com", "2024-06-15"],
        ],
    )
    try:
        with pytest.raises(SystemExit):
            call_command("import_file", "completions", path, "--lang", "fr", stdout=io.StringIO())
    finally:
        translation.activate("en")
    op = Operation.objects.get()
    row = read_results(op.results_path)[0]
    with translation.override("fr"):
        expected = CODES["course_not_found"].format(value="NOPE")
    assert expected == "Aucun cours ne porte l'identifiant 'NOPE'"
    assert (row["codes"], row["message"]) == ("course_not_found", expected)
    log = Path(op.log_path).read_text(encoding="utf-8")
    assert expected in log and "No course has" not in log
    # The next import without --lang is English again.
    with pytest.raises(SystemExit):
        call_command("import_file", "completions", path, stdout=io.StringIO())
    again = read_results(Operation.objects.latest("pk").results_path)[0]
    assert again["message"] == "No course has the identifier 'NOPE'"


def test_the_docs_stay_english_when_french_is_active():
    with translation.override("fr"):
        codes, formats = docs.codes_md(), docs.formats_md()
        assert translation.get_language() == "fr"
    assert codes == (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    assert formats == (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")


# The import kinds and the portal ------------------------------------------------------------

# Texts that are the same word in both languages.
SAME_IN_FRENCH = {"Catalogue", "Organisations", "Description."}


def kind_texts() -> list[tuple[str, object]]:
    """Every text of the import kinds the portal shows: titles, descriptions, column and option help."""
    out = [("engine option " + o.name, o.help) for o in ENGINE_OPTIONS]
    for k in KINDS.values():
        out += [(f"{k.name} title", k.title), (f"{k.name} description", k.description)]
        out += [(f"{k.name} column {c.name}", c.help) for c in k.columns if c.help]
        out += [(f"{k.name} option {o.name}", o.help) for o in k.options if o.help]
    return out


@pytest.mark.parametrize("where, text", kind_texts(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_kind_text_has_a_french_translation(where, text):
    with translation.override("en"):
        en = str(text)
    with translation.override("fr"):
        fr = str(text)
    assert fr != en or en in SAME_IN_FRENCH, f"{where} has no French translation: {UPDATE}"
    # Column, option and code names between backticks stay as they are.
    assert sorted(re.findall(r"`[^`]+`", fr)) == sorted(re.findall(r"`[^`]+`", en)), where


def test_the_portal_labels_cover_the_counts_and_statuses_and_are_translated():
    """portal/labels.py lists what the templates translate from variables: keep it in step."""
    assert set(Operation().counts()) <= set(labels.RESULT_NAMES)
    assert {str(label) for _, label in Operation.Status.choices} == set(labels.STATUS_LABELS)
    with translation.override("fr"):
        untranslated = [
            w
            for w in labels.RESULT_NAMES + labels.STATUS_LABELS + labels.DOMAIN_TITLES
            if translation.gettext(w) == w and w not in SAME_IN_FRENCH
        ]
    assert not untranslated, f"{untranslated}: {UPDATE}"


@pytest.mark.django_db(databases=["default", "jobs"])
def test_the_imports_page_speaks_french_to_a_french_user(client, world):
    assert world.us_admin.culture == "fr-FR"
    assert client.login(username="us.admin", password="us-pass")
    html = client.get("/imports/").content.decode()
    try:
        assert '<html lang="fr"' in html
        for french in ("Historique", "Se déconnecter", "Choisissez ce que vous voulez importer"):
            assert french in html, french
        assert "Suivi des formations" in html  # a group of kinds
        assert "Achèvements de cours" in html and "Course completions" not in html  # a kind title
        assert "History" not in html and "Sign out" not in html
        # The kind's own page: its columns' help too.
        kind = client.get("/imports/completions/").content.decode()
        assert "Achèvements de cours" in kind and "Colonnes" in kind
        assert "Le code du cours (ou son UUID)." in kind
    finally:
        translation.activate("en")
    # An English-speaking administrator sees the same page in English.
    client.logout()
    assert client.login(username="admin", password="admin-pass")
    html = client.get("/imports/").content.decode()
    assert "History" in html and "Sign out" in html and "Course completions" in html
    assert "Historique" not in html
