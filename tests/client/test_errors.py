from __future__ import annotations

import re
from pathlib import Path

import pytest

from customers.capillary import CODES, ApiCode, Rejected, describe

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "capillary" / "API_REFERENCE.md"

FORM_FIELDS = {
    "mobile",
    "email",
    "external_id",
    "source",
    "account_id",
    "status_label",
    "identifiers",
    "comm_channels",
    "loyalty_type",
    "extended_fields",
    "custom_fields",
    "subscriptions",
    "card",
    "enrollments",
    "referral_code",
    "registered_on",
    "associated_with",
}


# The reference writes ranges with an en dash ("3000\u20133051").
RANGE = re.compile("(\\d+)\\s*[\u2013-]\\s*(\\d+)")


def reference_table() -> dict[int, set[str]]:
    """Code -> the kinds (E, W, H, V1) its rows in section 3 of the reference give it."""
    if not REFERENCE.exists():
        pytest.skip(f"the shared reference is not beside the repository ({REFERENCE})")
    text = REFERENCE.read_text()
    section = text[text.index("## 3. Consolidated") : text.index("## 4. Conflicts")]
    kinds: dict[int, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0][:1].isdigit():
            continue
        spec, kind = cells[0], cells[1]
        codes: set[int] = set()
        for low, high in RANGE.findall(spec):
            codes.update(range(int(low), int(high) + 1))
        spec = RANGE.sub("", spec)
        codes.update(int(code) for code in re.findall(r"\d+", spec))
        for code in codes:
            kinds.setdefault(code, set()).update(re.findall(r"V1|[EWH]", kind))
    return kinds


def test_the_catalogue_covers_every_code_of_the_reference_table() -> None:
    table = reference_table()

    assert len(table) > 250
    assert sorted(set(table) - set(CODES)) == []


def test_the_catalogue_says_error_warning_or_both_as_the_reference_does() -> None:
    for code, kinds in reference_table().items():
        expected = "warning" if kinds == {"W"} else "both" if "W" in kinds else "error"
        assert CODES[code].kind == expected, code


def test_every_code_has_plain_words_and_a_known_form_field() -> None:
    for info in CODES.values():
        assert info.words
        assert not info.words.endswith(".")
        assert info.field is None or info.field in FORM_FIELDS, info


def test_it_points_codes_at_the_form_field_they_concern() -> None:
    assert describe(8014).field == "mobile"
    assert describe(8055).field == "email"
    assert describe(8064).field == "external_id"
    assert describe(3217).field == "source"
    assert describe(8045).field == "account_id"
    assert describe(8086).field == "status_label"
    assert describe(8010).field == "comm_channels"
    assert describe(8018).field == "loyalty_type"
    assert describe(91015).field == "extended_fields"
    assert describe(91022).field == "subscriptions"
    assert describe(3027).field == "card"


def test_a_single_code_refines_the_range_it_falls_in() -> None:
    assert describe(3017).words == "The status label is not valid"
    assert describe(3020).words == "Card or card series problem"
    assert describe(8020).field == "external_id"


def test_it_describes_codes_it_does_not_know() -> None:
    info = describe(99999)

    assert (info.code, info.kind, info.field) == (99999, "error", None)
    assert "99999" in info.words


def test_a_rejection_groups_plain_words_by_form_field() -> None:
    error = Rejected(
        "rejected",
        errors=[ApiCode(code=8014, message="Invalid mobile"), ApiCode(code=8084, message="")],
    )

    assert error.field_errors() == {
        "mobile": ["Invalid mobile number (or primary identifier) (8014)"],
        "": ["Customer details were not sent (8084)"],
    }
