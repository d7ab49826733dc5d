"""What a write changed on a member, in words people read.

Two snapshots of a member (Capillary's customer document, read the same way
before and after the write) become a list of facts, each keyed by what it is
about rather than where it sits in a list: a profile by its source and account,
an identifier or comm channel by its type and value, a card by its number, a
subscription by channel and priority, an enrollment by its program. Comparing
facts, a change of mobile reads "Mobile (INSTORE): 919… → 919…", a new label
"Status label: Active → On Hold", and a card delinked one line, not the sixty
JSON paths that shifted when the list got shorter.

Dates, attribution and other bookkeeping Capillary updates on every write are
kept apart, for a collapsed line. A top-level section only one snapshot has
(an entry recorded before both were read the same way) is named as not
compared instead of reported as removed.
"""

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    label: str
    kind: Kind
    before: str
    after: str
    bookkeeping: bool = False


@dataclass(frozen=True)
class Changes:
    """A write's changes: for people, bookkeeping apart, and sections not compared."""

    people: list[Change] = field(default_factory=list)
    bookkeeping: list[Change] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)
    # No snapshot was taken before the write (an upsert sends the member without
    # reading them first): every fact of the after snapshot shows as "added".
    no_before: bool = False

    def __bool__(self) -> bool:
        return bool(self.people or self.bookkeeping)


@dataclass(frozen=True)
class _Fact:
    label: str
    value: Any
    bookkeeping: bool
    # Facts about one thing that can be replaced (an identifier of a type): a removed
    # and an added fact with the same label read as one change.
    pairable: bool = False


# Words for the keys Capillary uses; anything else is split from camelCase.
WORDS = {
    "firstName": "First name",
    "lastName": "Last name",
    "loyaltyType": "Loyalty type",
    "label": "Status label",
    "status": "Status",
    "mobile": "Mobile",
    "email": "Email",
    "externalId": "External id",
    "cardnumber": "Card number",
    "cardNumber": "Card number",
    "wechat": "WeChat id",
    "martjackId": "Martjack id",
    "fbId": "Facebook id",
    "unionId": "Union id",
    "mobilePush": "Mobile push",
    "primary": "Primary",
    "verified": "Verified",
    "subscribed": "Subscribed",
    "currentSlab": "Tier",
    "nextSlab": "Next tier",
    "loyaltyPoints": "Loyalty points",
    "lifetimePoints": "Lifetime points",
    "totalAvailablePoints": "Available points",
    "lifetimePurchases": "Lifetime purchases",
    "cumulativePurchases": "Cumulative purchases",
}
PRIORITIES = {"TRANS": "transactional", "BULK": "promotional"}
# Keys Capillary rewrites on every write, or copies of other keys: bookkeeping.
BOOKKEEPING = {
    "attribution",
    "attributionV2",
    "autoUpdateTime",
    "modifiedDate",
    "modifiedBy",
    "createDate",
    "createdBy",
    "createdOn",
    "createdDate",
    "issuedDate",
    "lastUpdated",
    "lastViewedDate",
    "identifiersAll",
    "allFields",
    "userId",
    "labelId",
    "warnings",
    "associatedWith",
    "conflictingProfileList",
    "entityId",
    "entityCode",
    "orgId",
    "id",
    "statusInfo",
    "programId",
}
SECTIONS = {
    "profiles": "Profiles",
    "loyaltyInfo": "Loyalty",
    "extendedFields": "Extended fields",
    "segments": "Segments",
    "cardDetails": "Cards",
    "loyaltyProgramDetails": "Enrollments",
    "pointsSummary": "Points summary",
    "subscriptionInfo": "Subscriptions",
    "customerStatus": "Status label",
}


def describe_changes(before: Any, after: Any) -> Changes:
    """The changes between two member snapshots, in words, people's first."""
    old_doc = before if isinstance(before, Mapping) else {}
    new_doc = after if isinstance(after, Mapping) else {}
    not_compared: list[str] = []
    if old_doc and new_doc:
        for key in sorted(old_doc.keys() ^ new_doc.keys()):
            not_compared.append(SECTIONS.get(key, _words(key)))
        shared = old_doc.keys() & new_doc.keys()
        old_doc = {k: v for k, v in old_doc.items() if k in shared}
        new_doc = {k: v for k, v in new_doc.items() if k in shared}
    old, new = _facts(old_doc), _facts(new_doc)
    changes = _compare(old, new)
    return Changes(
        people=[c for c in changes if not c.bookkeeping],
        bookkeeping=[c for c in changes if c.bookkeeping],
        not_compared=not_compared,
        no_before=not isinstance(before, Mapping),
    )


def _compare(old: dict[tuple[Any, ...], _Fact], new: dict[tuple[Any, ...], _Fact]) -> list[Change]:
    found: list[tuple[tuple[Any, ...], Change]] = []
    removed: dict[str, list[tuple[tuple[Any, ...], _Fact]]] = defaultdict(list)
    added: dict[str, list[tuple[tuple[Any, ...], _Fact]]] = defaultdict(list)
    for key in old.keys() | new.keys():
        was, now = old.get(key), new.get(key)
        if was is not None and now is not None:
            if was.value != now.value:
                change = Change(
                    now.label, "changed", _shown(was.value), _shown(now.value), now.bookkeeping
                )
                found.append((key, change))
        elif was is not None:
            removed[was.label].append((key, was))
        elif now is not None:
            added[now.label].append((key, now))
    for label in dict.fromkeys([*removed, *added]):
        gone = sorted(removed.get(label, []), key=lambda item: _sort_key(item[0]))
        came = sorted(added.get(label, []), key=lambda item: _sort_key(item[0]))
        while gone and came and gone[0][1].pairable and came[0][1].pairable:
            (key, was), (_, now) = gone.pop(0), came.pop(0)
            change = Change(label, "changed", _shown(was.value), _shown(now.value), now.bookkeeping)
            found.append((key, change))
        found.extend(
            (key, Change(f.label, "removed", _shown(f.value), "", f.bookkeeping)) for key, f in gone
        )
        found.extend(
            (key, Change(f.label, "added", "", _shown(f.value), f.bookkeeping)) for key, f in came
        )
    # Section by section, then by name, so a reader finds a field where expected.
    return [
        change for _, change in sorted(found, key=lambda item: (str(item[0][0]), item[1].label))
    ]


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def _facts(doc: Mapping[str, Any]) -> dict[tuple[Any, ...], _Fact]:
    facts: dict[tuple[Any, ...], _Fact] = {}
    for key, value in doc.items():
        for fact_key, fact in _section(key, value):
            facts[fact_key] = fact
    return facts


def _section(key: str, value: Any) -> Iterator[tuple[tuple[Any, ...], _Fact]]:
    if key == "profiles" and isinstance(value, list):
        for profile in value:
            if isinstance(profile, Mapping):
                yield from _profile(profile)
    elif key == "cardDetails" and isinstance(value, list):
        for card in value:
            if isinstance(card, Mapping):
                number = str(card.get("cardNumber", ""))
                yield from _card(number, card)
    elif key == "loyaltyProgramDetails" and isinstance(value, list):
        for program in value:
            if isinstance(program, Mapping):
                name = program.get("programTitle") or f"Program {program.get('programId')}"
                yield from _leaves(
                    ("enrollment", program.get("programId")), program, f"{name}: ", False
                )
    elif key == "subscriptionInfo" and isinstance(value, Mapping):
        for item in value.get("subscriptions") or []:
            if isinstance(item, Mapping):
                channel = str(item.get("channel", ""))
                priority = str(item.get("priority", ""))
                label = f"Subscription {channel} {PRIORITIES.get(priority, priority.lower())}"
                yield ("subscription", channel, priority), _Fact(label, item.get("type"), False)
    elif key == "customerStatus" and isinstance(value, Mapping):
        yield from _leaves(("status",), value, "", False)
    elif key == "pointsSummary" and isinstance(value, Mapping):
        yield from _leaves(("points",), value, "Points: ", False)
    elif key in ("extendedFields", "segments") and isinstance(value, Mapping):
        prefix = "Extended field " if key == "extendedFields" else "Segment "
        for name, item in value.items():
            yield (key, name), _Fact(f"{prefix}{name}", item, False)
    else:
        yield from _leaves((key,), value, "", key in BOOKKEEPING)


def _profile(profile: Mapping[str, Any]) -> Iterator[tuple[tuple[Any, ...], _Fact]]:
    source = str(profile.get("source") or "")
    account = str(profile.get("accountId") or "")
    where = f"{source} {account}".strip() or "profile"
    base = ("profile", source, account)
    for key, value in profile.items():
        if key in ("source", "accountId"):
            continue
        if key in ("identifiers", "identifiersAll") and isinstance(value, list):
            # By what they are (type and value), never by position in the list: the
            # copy in identifiersAll is bookkeeping, and reorders when one changes.
            copy = key == "identifiersAll"
            for item in value:
                if isinstance(item, Mapping):
                    kind = str(item.get("type", ""))
                    label = f"{'All identifiers: ' if copy else ''}{_words(kind)} ({where})"
                    yield (
                        (*base, key, kind, item.get("value")),
                        _Fact(label, item.get("value"), copy, pairable=True),
                    )
        elif key == "commChannels" and isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    yield from _comm_channel(base, where, item)
        elif key == "fields" and isinstance(value, Mapping):
            for name, item in value.items():
                yield (*base, "field", name), _Fact(f"Custom field {name} ({where})", item, False)
        else:
            yield from _leaves((*base, key), value, f"{_words(key)} ({where})", key in BOOKKEEPING)


def _comm_channel(
    base: tuple[Any, ...], where: str, item: Mapping[str, Any]
) -> Iterator[tuple[tuple[Any, ...], _Fact]]:
    kind = str(item.get("type", ""))
    value = item.get("value")
    label = f"Comm channel {_words(kind).lower()} ({where})"
    yield (*base, "channel", kind, value), _Fact(label, value, False, pairable=True)
    for name, attribute in item.items():
        if name in ("type", "value"):
            continue
        yield from _leaves(
            (*base, "channel", kind, value, name),
            attribute,
            f"{label} {value}: {_words(name).lower()}",
            name in BOOKKEEPING or name == "meta",
        )


def _card(number: str, card: Mapping[str, Any]) -> Iterator[tuple[tuple[Any, ...], _Fact]]:
    label = f"Card {number}"
    status = card.get("statusInfo")
    summary = "linked"
    if isinstance(status, Mapping):
        summary = status.get("label") or status.get("status") or summary
    yield ("card", number), _Fact(label, summary, False)
    for name, attribute in card.items():
        if name in ("cardNumber", "statusInfo"):
            continue
        yield from _leaves(
            ("card", number, name), attribute, f"{label}: {_words(name).lower()}", True
        )


def _leaves(
    key: tuple[Any, ...], value: Any, label: str, bookkeeping: bool
) -> Iterator[tuple[tuple[Any, ...], _Fact]]:
    """Nested values as facts, named by their path in words."""
    if isinstance(value, Mapping) and value:
        for name, item in value.items():
            words = _words(name)
            yield from _leaves(
                (*key, name),
                item,
                f"{label}{words}"
                if label.endswith(": ") or not label
                else f"{label}: {words.lower()}",
                bookkeeping or name in BOOKKEEPING,
            )
        return
    if isinstance(value, list) and value and not all(_is_scalar(v) for v in value):
        for position, item in enumerate(value):
            yield from _leaves((*key, position), item, f"{label} {position + 1}", bookkeeping)
        return
    yield key, _Fact(label or _words(str(key[-1])), value, bookkeeping)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _words(key: str) -> str:
    if key in WORDS:
        return WORDS[key]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(key)).replace("_", " ")
    return spaced[:1].upper() + spaced[1:].lower()


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
