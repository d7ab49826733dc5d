"""Reading a bulk-upsert CSV: one pass, row by row, every problem named by row and column.

The file format (also served as a template from the import page):

- UTF-8, with or without a byte-order mark; comma or semicolon separated (sniffed
  from the header line); the first line names the columns, in any order and case.
- Each row needs at least one identifier: `mobile`, `email` or `external_id`.
- Optional: `card_number`, `first_name`, `last_name`, `source`, `account_id`,
  `status_label`, `loyalty_type` (loyalty / non_loyalty), the subscription columns
  `sms_trans`, `sms_bulk`, `email_trans`, `email_bulk` (OPTIN / OPTOUT), custom fields as
  `field:<name>` and extended fields as `ext:<name>`.

Rows are turned into Capillary bulk-upsert entries (wire names) here, so the
preview shows exactly what will be sent.
"""

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

from customers.members.search import Dialling, normalise_mobile

IDENTIFIER_COLUMNS = ("mobile", "email", "external_id")
SUBSCRIPTION_COLUMNS = {
    "sms_trans": ("MOBILE", "TRANS"),
    "sms_bulk": ("MOBILE", "BULK"),
    "email_trans": ("EMAIL", "TRANS"),
    "email_bulk": ("EMAIL", "BULK"),
}
# The to-fix file says in this column what was wrong with each row; uploaded
# again, the column is read past, so the corrected file needs no editing of it.
PROBLEM_COLUMN = "what_is_wrong"
KNOWN_COLUMNS = frozenset(
    {
        PROBLEM_COLUMN,
        *IDENTIFIER_COLUMNS,
        "card_number",
        "first_name",
        "last_name",
        "source",
        "account_id",
        "status_label",
        "loyalty_type",
        *SUBSCRIPTION_COLUMNS,
    }
)
TEMPLATE_HEADER = [
    "mobile",
    "email",
    "external_id",
    "card_number",
    "first_name",
    "last_name",
    "source",
    "account_id",
    "status_label",
    "loyalty_type",
    "sms_trans",
    "sms_bulk",
    "email_trans",
    "email_bulk",
    "ext:gender",
    "ext:city",
]
TEMPLATE_EXAMPLE = [
    "919900000001",
    "asha.rao@example.com",
    "EXT-1001",
    "",
    "Asha",
    "Rao",
    "INSTORE",
    "",
    "",
    "loyalty",
    "OPTIN",
    "OPTOUT",
    "OPTIN",
    "OPTIN",
    "Female",
    "Pune",
]

# The column format in words, for the import page (and the README's copy of it).
COLUMN_GUIDE = (
    ("mobile", "Mobile number, 8-15 digits with the country code, like 919900000001."),
    ("email", "Email address."),
    ("external_id", "Your own id for the member."),
    ("card_number", "A card to link to the member."),
    ("first_name, last_name", "Names: letters, digits, spaces, hyphens and apostrophes."),
    ("source", "INSTORE (the default), WECHAT, MOBILE_APP, ... as Capillary names sources."),
    ("account_id", "The account of a multi-account source (WECHAT, MOBILE_APP, FACEBOOK, ...)."),
    ("status_label", "One of the org's status labels, like Active."),
    ("loyalty_type", "loyalty or non_loyalty."),
    (
        "sms_trans, sms_bulk, email_trans, email_bulk",
        "Subscriptions (transactional and promotional): OPTIN or OPTOUT.",
    ),
    ("field:<name>", "A custom field configured for the org, like field:employee."),
    ("ext:<name>", "An extended field configured for the org, like ext:gender."),
    (PROBLEM_COLUMN, "Read past: the file of rows to fix says here what was wrong with each."),
)

MOBILE_RE = re.compile(r"^[1-9][0-9]{7,14}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9_+.\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")
NAME_RE = re.compile(r"^[\w\s'\-.]*$")
# Capillary's sources, each with the accounts a multi-account source needs; the
# console passes the org's own (gateway.catalogue().sources).
DEFAULT_SOURCES: dict[str, tuple[str, ...]] = {"INSTORE": ()}


class CsvFileError(ValueError):
    """The file as a whole cannot be read; the message is for staff."""


@dataclass
class RowProblem:
    row: int
    column: str
    message: str


# A row's problems past this many are counted in one last line, not kept one by one.
MAX_ROW_PROBLEMS = 10


@dataclass
class ParsedRow:
    number: int  # 1 = the first data row; the header is row 0
    values: dict[str, str]
    entry: dict[str, Any] | None
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def identifier(self) -> tuple[str, str]:
        for column in IDENTIFIER_COLUMNS:
            if self.values.get(column):
                return column, self.values[column]
        return "", ""


@dataclass
class CsvRules:
    default_source: str = "INSTORE"
    default_account_id: str = ""
    sources: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_SOURCES)
    status_labels: frozenset[str] | None = None  # None: not checked here
    extended_fields: frozenset[str] | None = None
    custom_fields: frozenset[str] | None = None
    dialling: Dialling = field(default_factory=Dialling)  # how typed mobiles are read


def decode(data: bytes) -> str:
    """Bytes to text: UTF-8 with or without BOM, or a clear word on what is wrong."""
    check_encoding(io.BytesIO(data))
    return data.decode("utf-8-sig")


def open_text(stream: IO[bytes]) -> TextIO:
    """A text stream over an uploaded file, once `check_encoding` has passed.

    Reading through the stream keeps memory flat however large the file is;
    the file is read twice (check, then parse) rather than held decoded.
    """
    check_encoding(stream)
    stream.seek(0)
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def check_encoding(stream: IO[bytes], chunk_size: int = 1 << 16) -> None:
    """Read the whole stream once: raise CsvFileError unless it is non-blank UTF-8."""
    first = stream.read(chunk_size)
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CsvFileError("The file is UTF-16. Save it as CSV UTF-8 and upload it again.")
    # Plain UTF-8 after the BOM: the "utf-8-sig" decoder lets a truncated BOM at
    # the end of the file pass silently.
    decoder = codecs.getincrementaldecoder("utf-8")()
    blank = True
    newlines = 0
    raw = first
    chunk = first.removeprefix(codecs.BOM_UTF8)
    while True:
        final = not raw
        try:
            decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            # A sequence split across chunks is carried over without any newline in
            # it, so the lines before the error are the earlier chunks' plus these.
            line = newlines + exc.object[: exc.start].count(b"\n") + 1
            raise CsvFileError(
                f"The file is not UTF-8 (first bad byte on line {line}). "
                "Save it as CSV UTF-8 and upload it again."
            ) from None
        if final:
            break
        if b"\x00" in chunk:
            # No database stores NUL in text; it also means "not a CSV" (an .xlsx, say).
            line = newlines + chunk[: chunk.index(b"\x00")].count(b"\n") + 1
            raise CsvFileError(
                f"The file holds a NUL character (line {line}), so it is not a CSV text file. "
                "Save it as CSV UTF-8 and upload it again."
            )
        blank = blank and not chunk.strip()
        newlines += chunk.count(b"\n")
        raw = chunk = stream.read(chunk_size)
    if blank:
        raise CsvFileError("The file is empty.")


def read_rows(source: str | TextIO, rules: CsvRules) -> tuple[list[str], Iterator[ParsedRow]]:
    """Check the header, then yield each data row parsed, in file order.

    `source` is the decoded text or a text stream (`open_text`); rows are read
    from it lazily, one at a time.
    """
    stream = io.StringIO(source, newline="") if isinstance(source, str) else source
    header_line = stream.readline()
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(itertools.chain([header_line], stream), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise CsvFileError(f"The header line cannot be read: {exc}.") from None
    except StopIteration:
        raise CsvFileError("The file is empty.") from None
    columns = [name.strip().lower() for name in header]
    _check_header(columns)
    return columns, _rows(reader, columns, rules)


def _check_header(columns: list[str]) -> None:
    if not any(columns):
        raise CsvFileError("The first line must name the columns; it is blank.")
    if not set(columns) & set(IDENTIFIER_COLUMNS):
        raise CsvFileError(
            "The file needs at least one identifier column: mobile, email or external_id. "
            f"Its columns are: {', '.join(c or '(blank)' for c in columns)}."
        )
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates:
        raise CsvFileError(f"These columns appear twice: {', '.join(duplicates)}.")
    unknown = [
        c for c in columns if c and c not in KNOWN_COLUMNS and not c.startswith(("field:", "ext:"))
    ]
    if unknown:
        raise CsvFileError(
            f"Unknown columns: {', '.join(unknown)}. Download the template to see the format."
        )


def _rows(reader: Iterable[list[str]], columns: list[str], rules: CsvRules) -> Iterator[ParsedRow]:
    seen: dict[tuple[str, str], int] = {}
    number = 0
    iterator = iter(reader)
    while True:
        try:
            cells = next(iterator)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            # The csv module cannot resume inside broken quoting: report and stop.
            yield ParsedRow(
                number, {}, None, [RowProblem(number, "", f"Broken quoting, cannot read on: {exc}")]
            )
            return
        if not any(cell.strip() for cell in cells):
            continue
        number += 1
        yield parse_row(number, columns, cells, rules, seen)


def parse_row(
    number: int,
    columns: list[str],
    cells: list[str],
    rules: CsvRules,
    seen: dict[tuple[str, str], int],
) -> ParsedRow:
    problems: list[RowProblem] = []

    def problem(column: str, message: str) -> None:
        problems.append(RowProblem(number, column, message))

    if len(cells) > len(columns):
        problem("", f"Row has {len(cells)} cells but the header names {len(columns)} columns.")
    values = {
        column: (cells[index].strip() if index < len(cells) else "")
        for index, column in enumerate(columns)
        if column
    }
    if not any(values.get(c) for c in IDENTIFIER_COLUMNS):
        problem("mobile", "No identifier: give a mobile, an email or an external_id.")
    mobile = values.get("mobile", "")
    if mobile:
        # "+91 81000 00017" as search reads it; the cleaned value is the one sent.
        mobile = values["mobile"] = normalise_mobile(mobile, rules.dialling)
    if mobile and not MOBILE_RE.match(mobile):
        problem("mobile", "Mobile must be 8-15 digits with the country code, like 919900000001.")
    email = values.get("email", "")
    if email and (len(email) > 255 or not EMAIL_RE.match(email)):
        problem("email", "Email may use letters, digits and - _ + . @, at most 255 characters.")
    for column in ("first_name", "last_name"):
        name = values.get(column, "")
        if len(name) > 100:
            problem(column, "At most 100 characters.")
        elif not NAME_RE.match(name):
            problem(column, "Names may use letters, digits, spaces, hyphens and apostrophes.")
    source = (values.get("source") or rules.default_source).upper()
    account_id = values.get("account_id") or rules.default_account_id
    accounts = rules.sources.get(source)
    if accounts is None:
        problem("source", f"Unknown source {source!r}: use one of {', '.join(rules.sources)}.")
    elif accounts and account_id not in accounts:
        problem("account_id", f"{source} needs an account_id, one of {', '.join(accounts)}.")
    elif not accounts and account_id:
        problem("account_id", f"{source} has no accounts; leave account_id empty.")
    label = values.get("status_label", "")
    if label and rules.status_labels is not None and label not in rules.status_labels:
        problem("status_label", f"Unknown status label {label!r}.")
    loyalty = values.get("loyalty_type", "").lower()
    if loyalty and loyalty not in ("loyalty", "non_loyalty"):
        problem("loyalty_type", "Loyalty type must be loyalty or non_loyalty.")
    for column in SUBSCRIPTION_COLUMNS:
        choice = values.get(column, "").upper()
        if choice and choice not in ("OPTIN", "OPTOUT"):
            problem(column, "Subscription must be OPTIN or OPTOUT.")
    not_configured = []
    for column in values:
        kind, _, name = column.partition(":")
        allowed = {"ext": rules.extended_fields, "field": rules.custom_fields}.get(kind)
        if name and allowed is not None and values[column] and name not in allowed:
            not_configured.append(column)
    if not_configured:
        # One problem for all of them: a file with thousands of such columns once made
        # thousands of problems per row (gigabytes for a 3 MB file).
        named = ", ".join(repr(c.partition(":")[2]) for c in not_configured[:3])
        more = len(not_configured) - 3
        problem(
            not_configured[0],
            f"{named}{f' and {more:,} more' if more > 0 else ''} "
            f"{'is' if len(not_configured) == 1 else 'are'} not configured for this org.",
        )
    for column in IDENTIFIER_COLUMNS:
        value = values.get(column, "")
        if not value:
            continue
        key = (column, value.lower() if column == "email" else value)
        if key in seen:
            problem(column, f"The same {column} is on row {seen[key]} too.")
        else:
            seen[key] = number
    entry = None if problems else build_entry(values, source, account_id)
    if len(problems) > MAX_ROW_PROBLEMS:
        hidden = len(problems) - MAX_ROW_PROBLEMS + 1
        problems[MAX_ROW_PROBLEMS - 1 :] = [
            RowProblem(number, "", f"And {hidden} more problems in this row.")
        ]
    return ParsedRow(number, values, entry, problems)


def build_entry(values: dict[str, str], source: str, account_id: str) -> dict[str, Any]:
    """One bulk-upsert element in Capillary's wire names."""
    identifiers = [
        {"type": wire, "value": values[column]}
        for column, wire in (
            ("mobile", "mobile"),
            ("email", "email"),
            ("external_id", "externalId"),
            ("card_number", "cardnumber"),
        )
        if values.get(column)
    ]
    profile: dict[str, Any] = {"identifiers": identifiers, "source": source}
    if account_id:
        profile["accountId"] = account_id
    for column, wire in (("first_name", "firstName"), ("last_name", "lastName")):
        if values.get(column):
            profile[wire] = values[column]
    channels = [
        {"type": kind, "value": values[kind], "primary": True, "verified": False}
        for kind in ("mobile", "email")
        if values.get(kind)
    ]
    if channels:
        profile["commChannels"] = channels
    custom = {k[6:]: v for k, v in values.items() if k.startswith("field:") and v}
    if custom:
        profile["fields"] = custom
    entry: dict[str, Any] = {"profiles": [profile]}
    extended = {k[4:]: v for k, v in values.items() if k.startswith("ext:") and v}
    if extended:
        entry["extendedFields"] = extended
    if values.get("loyalty_type"):
        entry["loyaltyInfo"] = {"loyaltyType": values["loyalty_type"].lower()}
    if values.get("status_label"):
        entry["statusLabel"] = values["status_label"]
    subscriptions = [
        {
            "channel": channel,
            "priority": priority,
            "type": values[column].upper(),
            "sourceName": source,
            "accountId": account_id,
        }
        for column, (channel, priority) in SUBSCRIPTION_COLUMNS.items()
        if values.get(column)
    ]
    if subscriptions:
        entry["subscriptionInfo"] = {"subscriptions": subscriptions}
    return entry


def header_csv() -> str:
    """The template: the header line only, ready to fill in."""
    out = io.StringIO()
    csv.writer(out).writerow(TEMPLATE_HEADER)
    return out.getvalue()


def template_csv() -> str:
    """The example: the header and one filled-in row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TEMPLATE_HEADER)
    writer.writerow(TEMPLATE_EXAMPLE)
    return out.getvalue()
