"""The docs list every code and every import kind's columns, as generated from the code."""

from pathlib import Path

from registrar.bulk import docs
from registrar.bulk.codes import CODES, FIX

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_code_has_a_fix_text():
    assert set(CODES) == set(FIX)


def test_codes_doc_is_up_to_date():
    assert (DOCS / "codes.md").read_text(encoding="utf-8") == docs.codes_md(), (
        "run `registrar write-docs`"
    )


def test_formats_doc_is_up_to_date():
    assert (DOCS / "formats.md").read_text(encoding="utf-8") == docs.formats_md(), (
        "run `registrar write-docs`"
    )


def test_actions_doc_is_up_to_date():
    assert (DOCS / "actions.md").read_text(encoding="utf-8") == docs.actions_md(), (
        "run `registrar write-docs`"
    )


def test_actions_doc_lists_every_action_and_parameter():
    from registrar.bulk.actions import ACTIONS

    text = docs.actions_md()
    for a in ACTIONS.values():
        assert f"## {a.name}" in text
        for p in a.params:
            assert f"| `{p.name}`" in text
