from __future__ import annotations

import json
from pathlib import Path

from customers.capillary import CODES, ApiCode, Rejected, describe

# Section 3 of the Capillary reference, transcribed so the check runs on any clone.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "capillary"
REFERENCE_CODES = FIXTURES / "codes_section3.json"

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


def reference_table() -> dict[int, set[str]]:
    """Code -> the kinds (E, W, H, V1) its rows in section 3 of the reference give it."""
    codes = json.loads(REFERENCE_CODES.read_text())["codes"]
    return {int(code): set(kinds) for code, kinds in codes.items()}


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
