import codecs
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.imports.csv import (
    CsvFileError,
    CsvRules,
    check_encoding,
    decode,
    open_text,
    read_rows,
    template_csv,
)

RULES = CsvRules(
    sources={"INSTORE": (), "MOBILE_APP": ("app-1", "app-2")},
    status_labels=frozenset({"Active", "Blocked"}),
)


def parse(text: str, rules: CsvRules = RULES):
    columns, rows = read_rows(text, rules)
    return columns, list(rows)


def test_it_reads_the_template_into_an_upsert_entry():
    _, rows = parse(template_csv())
    assert len(rows) == 1
    entry = rows[0].entry
    assert rows[0].problems == []
    assert entry["profiles"][0]["identifiers"] == [
        {"type": "mobile", "value": "919900000001"},
        {"type": "email", "value": "asha.rao@example.com"},
        {"type": "externalId", "value": "EXT-1001"},
    ]
    assert entry["profiles"][0]["firstName"] == "Asha"
    assert entry["extendedFields"] == {"gender": "Female", "city": "Pune"}
    assert entry["loyaltyInfo"] == {"loyaltyType": "loyalty"}
    assert {
        (s["channel"], s["priority"], s["type"]) for s in entry["subscriptionInfo"]["subscriptions"]
    } == {
        ("MOBILE", "TRANS", "OPTIN"),
        ("MOBILE", "BULK", "OPTOUT"),
        ("EMAIL", "TRANS", "OPTIN"),
        ("EMAIL", "BULK", "OPTIN"),
    }


def test_it_accepts_a_byte_order_mark_and_semicolons():
    data = codecs.BOM_UTF8 + b"Mobile;First_Name\n919900000002;Ravi\n"
    columns, rows = parse(decode(data))
    assert columns == ["mobile", "first_name"]
    assert rows[0].entry["profiles"][0]["firstName"] == "Ravi"


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        ("12ab,,", "mobile", "8-15 digits"),
        (",not-an-email,", "email", "letters, digits"),
        (",,Active", "mobile", "No identifier"),
        ("919900000003,,Ghost", "status_label", "Unknown status label"),
    ],
)
def test_it_names_the_row_and_column_of_each_problem(line, column, words):
    _, rows = parse(f"mobile,email,status_label\n919900000009,,\n{line}\n")
    problem = rows[1].problems[0]
    assert (problem.row, problem.column) == (2, column)
    assert words in problem.message
    assert rows[1].entry is None
    assert rows[0].problems == []


def test_it_flags_the_same_identifier_twice_in_one_file():
    _, rows = parse("mobile,email\n919900000001,a@example.com\n919900000002,A@example.com\n")
    assert [p.message for p in rows[1].problems] == ["The same email is on row 1 too."]


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        ("919900000001,MOBILE_APP,", "account_id", "one of app-1, app-2"),
        ("919900000001,MOBILE_APP,app-9", "account_id", "one of app-1, app-2"),
        ("919900000001,INSTORE,app-1", "account_id", "has no accounts"),
        ("919900000001,TMALL,", "source", "use one of INSTORE, MOBILE_APP"),
    ],
)
def test_sources_and_accounts_are_the_orgs(line, column, words):
    _, rows = parse(f"mobile,source,account_id\n{line}\n")
    assert rows[0].problems[0].column == column
    assert words in rows[0].problems[0].message


def test_an_account_of_the_org_is_accepted():
    _, rows = parse("mobile,source,account_id\n919900000001,MOBILE_APP,app-2\n")
    assert rows[0].problems == []
    assert rows[0].entry["profiles"][0]["accountId"] == "app-2"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        ("mobile\n9199\xe9".encode("latin-1"), "not UTF-8"),
        ("mobile\n1".encode("utf-16"), "UTF-16"),
        (b"mobile\n9199\x00\n", "NUL character \\(line 2\\)"),
    ],
)
def test_it_explains_files_it_cannot_decode(data, words):
    with pytest.raises(CsvFileError, match=words):
        decode(data)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("first_name,last_name\nA,B\n", "at least one identifier"),
        ("mobile,mobile\n1,2\n", "appear twice"),
        ("mobile,shoe_size\n1,2\n", "Unknown columns: shoe_size"),
    ],
)
def test_it_explains_headers_it_cannot_use(text, words):
    with pytest.raises(CsvFileError, match=words):
        read_rows(text, RULES)


def test_broken_quoting_is_reported_on_its_row_and_reading_stops():
    _, rows = parse('mobile,first_name\n919900000001,"Asha\n919900000002,Ravi\n')
    assert rows[-1].problems[0].message.startswith("Broken quoting")


def test_blank_lines_are_skipped_without_shifting_row_numbers_of_data():
    _, rows = parse("mobile\n919900000001\n\n919900000002\n")
    assert [row.number for row in rows] == [1, 2]


cell = st.text(
    alphabet=st.characters(max_codepoint=0x2FF) | st.sampled_from('";,\n\r'), max_size=12
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    header=st.lists(
        st.sampled_from(
            ["mobile", "email", "external_id", "first_name", "status_label", "ext:city", "x"]
        ),
        min_size=1,
        max_size=5,
    ),
    body=st.lists(st.lists(cell, max_size=6), max_size=8),
    delimiter=st.sampled_from([",", ";"]),
)
def test_fuzzed_files_are_either_refused_in_words_or_fully_accounted_for(header, body, delimiter):
    text = delimiter.join(header) + "\n" + "\n".join(delimiter.join(r) for r in body)
    try:
        _, rows = parse(decode(text.encode()))
    except CsvFileError as refused:
        assert str(refused)
        return
    for row in rows:
        # Every row either becomes an entry or says what is wrong with it.
        assert (row.entry is None) == bool(row.problems)
        assert all(p.row == row.number and p.message for p in row.problems)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_a_file_error(data):
    try:
        _, rows = read_rows(decode(data), RULES)
        list(rows)
    except CsvFileError as refused:
        assert str(refused)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 64])
def test_the_encoding_check_reads_in_chunks_without_splitting_characters(chunk_size):
    text = "mobile,first_name\n919900000001,Zoë 🌸\n"
    check_encoding(io.BytesIO(codecs.BOM_UTF8 + text.encode()), chunk_size=chunk_size)
    bad = b"mobile\n919900000001\nJos\xe9\n"
    with pytest.raises(CsvFileError, match="line 3"):
        check_encoding(io.BytesIO(bad), chunk_size=chunk_size)


@pytest.mark.parametrize("data", [b"\xef", b"\xef\xbb", b"mobile\n9\xe2\x82"])
def test_a_file_cut_inside_a_character_is_not_utf8(data):
    with pytest.raises(CsvFileError, match="not UTF-8"):
        decode(data)


def test_a_file_holding_only_a_byte_order_mark_is_empty():
    with pytest.raises(CsvFileError, match="empty"):
        decode(codecs.BOM_UTF8)


def test_rows_are_read_from_an_uploaded_file_as_a_stream():
    upload = io.BytesIO(codecs.BOM_UTF8 + b"mobile;first_name\n919900000002;Ravi\n")
    columns, rows = read_rows(open_text(upload), RULES)
    assert columns == ["mobile", "first_name"]
    assert [row.values for row in rows] == [{"mobile": "919900000002", "first_name": "Ravi"}]


def test_mobiles_typed_with_plus_spaces_or_a_trunk_zero_are_read_as_capillary_holds_them():
    _, rows = parse("mobile\n+91 99000 00017\n099000 00018\n91 99000-00017\n")
    assert rows[0].problems == []
    assert rows[0].entry["profiles"][0]["identifiers"] == [
        {"type": "mobile", "value": "919900000017"}
    ]
    assert rows[1].entry["profiles"][0]["identifiers"] == [
        {"type": "mobile", "value": "919900000018"}
    ]
    # The same number typed two ways is the same mobile twice.
    assert [p.message for p in rows[2].problems] == ["The same mobile is on row 1 too."]
