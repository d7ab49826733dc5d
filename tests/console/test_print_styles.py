"""The printed receipt looks like paper: what is only for the screen stays off it."""

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "console.css"


def test_the_print_styles_draw_no_focus_ring():
    text = CSS.read_text()
    start = text.index("@media print {")
    block = text[start : text.index("\n}", start)]
    assert re.search(r"\*:focus-visible[^{]*\{[^}]*outline: none !important", block)
