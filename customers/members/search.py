"""What staff type into the one search box, read the way Capillary stores it.

People read numbers out as they see them: "+91 81000 00004", "081000 00004",
"81000-00004". Capillary holds mobiles as digits with the country code
(918100000004) and finds emails by the address as stored (lower case), so the
console normalises before it asks. Pure functions: no Django, no client.
"""

import re
from dataclasses import dataclass

# The characters people put between the digits of a phone number.
_PHONE = re.compile(r"\+?[\d\s\-().]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Customer ids run to nine digits today; a longer number is something else.
_MAX_ID_DIGITS = 9


@dataclass(frozen=True)
class Dialling:
    """The org's base country: its code and how long its national numbers are."""

    country_code: str = "91"
    national_length: int = 10


@dataclass(frozen=True)
class Candidate:
    """One reading of the typed text as a complete identifier."""

    kind: str  # mobile, email, externalId, cardnumber or id
    value: str


def tidy(text: str) -> str:
    """Trimmed, with runs of spaces made one."""
    return " ".join(text.split())


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def is_phone_like(text: str) -> bool:
    return bool(_PHONE.fullmatch(text)) and any(ch.isdigit() for ch in text)


def as_mobile(text: str, dialling: Dialling) -> str | None:
    """A phone number as Capillary holds mobiles (country code first), or None.

    A leading + (or 00) means the country code is already there; a leading 0 is
    the national trunk prefix; a number of the national length gets the org's
    country code.
    """
    text = tidy(text)
    if not is_phone_like(text):
        return None
    digits = digits_of(text)
    if text.startswith("+"):
        return digits if 8 <= len(digits) <= 15 else None
    if digits.startswith("00") and 8 <= len(digits) - 2 <= 15:
        return digits[2:]
    if digits.startswith("0") and len(digits) - 1 == dialling.national_length:
        return dialling.country_code + digits[1:]
    if len(digits) == dialling.national_length:
        return dialling.country_code + digits
    if 8 <= len(digits) <= 15:
        return digits
    return None


def normalise_mobile(text: str, dialling: Dialling) -> str:
    """A mobile as typed ("+91 81000 00017", "081000 00017"), as Capillary holds it.

    The one reading every screen and the CSV import use. Text that is no phone
    number comes back trimmed, so the field's own check refuses it with its message.
    """
    return as_mobile(text, dialling) or text.strip()


def candidates(text: str, dialling: Dialling, *, kind: str = "") -> list[Candidate]:
    """The complete identifiers the text may be, most likely first; [] when it is none.

    Only text with a digit or an @ can be a complete identifier: a name, or a
    word, goes straight to the customer search. Readings that need a different
    value (a mobile with its country code) carry their own.
    """
    text = tidy(text)
    if kind:
        return [Candidate(kind, _as_kind(kind, text, dialling))]
    if "@" in text:
        return [Candidate("email", text.lower())] if _EMAIL.match(text) else []
    if not any(ch.isdigit() for ch in text):
        return []
    if is_phone_like(text):
        digits = digits_of(text)
        mobile = as_mobile(text, dialling)
        found: list[Candidate] = []
        if mobile and (text.startswith("+") or len(digits) > _MAX_ID_DIGITS):
            found.append(Candidate("mobile", mobile))
        if text.startswith("+"):
            return found
        bare = digits == text
        if bare and len(digits) <= _MAX_ID_DIGITS:
            found.append(Candidate("id", digits))
        found += [Candidate("cardnumber", digits), Candidate("externalId", digits)]
        if bare and _MAX_ID_DIGITS < len(digits) <= 12:
            # Ten to twelve bare digits may still be a (long) customer id: tried last.
            found.append(Candidate("id", digits))
        return found
    return [Candidate("externalId", text), Candidate("cardnumber", text)]


def _as_kind(kind: str, text: str, dialling: Dialling) -> str:
    if kind == "mobile":
        return as_mobile(text, dialling) or digits_of(text) or text
    if kind == "email":
        return text.lower()
    if kind == "id":
        return digits_of(text)
    return text


def search_keyword(text: str, dialling: Dialling) -> str:
    """The keyword for Capillary's customer search (E13), which matches prefixes.

    A phone number loses its spaces, dashes and trunk 0 and gains the country
    code, as stored; everything else is lower case (emails are stored so, and
    the search ignores case for names).
    """
    text = tidy(text)
    if is_phone_like(text) and not text.isdigit():
        digits = digits_of(text)
        if text.startswith("+"):
            return digits
        if digits.startswith("0") and len(digits) > 1:
            return dialling.country_code + digits[1:]
        return digits
    if text.isdigit() and text.startswith("0") and len(text) > 1:
        return dialling.country_code + text[1:]
    return text.lower()


def highlight(value: str, keyword: str, *, id_type: str = "") -> tuple[str, str]:
    """(the part of `value` that the keyword matched, the rest), for a <mark>.

    A keyword with a space may have matched "first last" as one name: the first
    name then matched whole and the last name by what follows the space.
    """
    folded, key = value.casefold(), keyword.casefold()
    if folded.startswith(key):
        return value[: len(keyword)], value[len(keyword) :]
    if " " in key:
        last = key.partition(" ")[2]
        if id_type == "firstName" and key.startswith(folded + " "):
            return value, ""
        if id_type == "lastName" and last and folded.startswith(last):
            return value[: len(last)], value[len(last) :]
    return "", value
