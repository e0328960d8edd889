"""Every message of the spot-check package is in the one Vietnamese catalogue, with the same fields."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from test_i18n import FIELD, METHODS, ROOT, catalogue

from attendance.i18n import _, set_language


def test_inspections_messages_are_translated() -> None:
    translations = catalogue()
    used = {message for _file, _line, message, *_rest in
            extract_from_dir(str(ROOT / "inspections"), method_map=METHODS, keywords={"_": None})}
    assert "no spot check {uuid}" in used, "the extraction is broken"
    for message in used:
        assert translations.get(message), f"no Vietnamese for {message!r}"
        assert set(FIELD.findall(str(translations[message]))) <= set(FIELD.findall(str(message))), message


def test_a_refusal_reads_in_vietnamese() -> None:
    set_language("vi")
    assert _("no spot check {uuid}", uuid="x") == "không có biên bản kiểm tra x"
