"""The name a claim file is listed under (application/claims.shown_name), for the page's form and the API's
`?filename=`: what people would recognise, and nothing that could make the list show another name."""

from __future__ import annotations

import unicodedata

import pytest

from services.gateway.application.claims import FILENAME_CHARS, shown_name


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("91003_2024_Q3.xml", "91003_2024_Q3.xml"),
        ("C:\\Users\\ketoan\\Desktop\\hoso.xml", "hoso.xml"),  # old browsers send the whole Windows path
        ("/home/bhxh/Tải về/hoso.xml", "hoso.xml"),
        ("  hồ sơ quý 3.xml ", "hồ sơ quý 3.xml"),
        ("hoso\u202egpj.xml", "hosogpj.xml"),  # RIGHT-TO-LEFT OVERRIDE would show "hosolmx.jpg"
        ("ho\u200bso\x00\x1b.xml", "hoso.xml"),  # zero-width space, NUL, ESC
        ("\u202e\u200f", None),
        ("", None),
        (None, None),
    ],
)
def test_a_name_is_kept_as_people_would_recognise_it(sent, shown):
    assert shown_name(sent) == shown


def test_decomposed_letters_from_a_mac_are_composed_and_long_names_cut():
    decomposed = unicodedata.normalize("NFD", "Bệnh viện đa khoa tỉnh.xml")
    assert decomposed != "Bệnh viện đa khoa tỉnh.xml" and shown_name(decomposed) == "Bệnh viện đa khoa tỉnh.xml"
    assert shown_name("a" * 5000) == "a" * FILENAME_CHARS
