"""Walking the two chains (customers.history.chain) and saying where they stand.

`verify_chains` reads entries and completion records in id order, in batches,
and checks each against the one before it. The two walks advance together: a
completion record is checked once the entry it completes has been read, so the
entries seen completed but not yet matched to their record stay few (a write is
completed seconds after it starts). It starts from the genesis or from a
`ChainState` a checkpoint vouches for, and stops at the heads it found when it
began, so writes appended meanwhile never look like breaks.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from customers.history.chain import (
    COMPLETION_FIELDS,
    GENESIS,
    HASHED_FIELDS,
    entry_problem,
    is_completed_write,
    sign_completion,
)
from customers.models import AuditCode, AuditCompletion, AuditEntry

ENTRY_COLUMNS = ("id", *HASHED_FIELDS, "previous_hash", "entry_hash")
COMPLETION_COLUMNS = ("id", "entry_id", "created_at", "previous_hash", "record_hash")
# What a completed entry's record is checked against, kept until the record is read.
OUTCOME_COLUMNS = ("id", "entry_hash", *COMPLETION_FIELDS)


@dataclass(frozen=True)
class ChainState:
    """How far both chains were verified: the last id, the count and the head hash of each."""

    entry_id: int = 0
    entry_count: int = 0
    entry_head: str = GENESIS
    completion_id: int = 0
    completion_count: int = 0
    completion_head: str = GENESIS


@dataclass(frozen=True)
class Break:
    """The first problem found: which record, which entry to show, in words."""

    entry_id: int
    message: str
    completion_id: int | None = None


@dataclass(frozen=True)
class Verification:
    state: ChainState
    checked_entries: int
    checked_completions: int
    problem: Break | None

    @property
    def intact(self) -> bool:
        return self.problem is None


class _Broken(Exception):
    def __init__(self, problem: Break) -> None:
        super().__init__(problem.message)
        self.problem = problem


def current_heads() -> tuple[int, int]:
    """The newest completion id, then the newest entry id.

    In this order: every completion committed by then completes an entry
    committed by then, so the walk never meets a record for an entry past its end.
    """
    completion = AuditCompletion.objects.order_by("-id").values_list("id", flat=True).first()
    entry = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    return completion or 0, entry or 0


def verify_chains(start: ChainState | None = None, *, batch: int = 5000) -> Verification:
    """Check both chains from `start` (the genesis by default) to the heads as they are now."""
    walk = _Walk(start or ChainState(), batch)
    try:
        walk.run()
    except _Broken as broken:
        return walk.result(broken.problem)
    return walk.result(None)


class _Walk:
    def __init__(self, start: ChainState, batch: int) -> None:
        self.start = start
        self.batch = batch
        self.entry_id, self.entry_count, self.entry_head = (
            start.entry_id,
            start.entry_count,
            start.entry_head,
        )
        self.completion_id, self.completion_count, self.completion_head = (
            start.completion_id,
            start.completion_count,
            start.completion_head,
        )
        # Entries read showing an outcome, waiting for the completion record that signed it.
        self.awaiting: dict[int, dict[str, Any]] = {}

    def result(self, problem: Break | None) -> Verification:
        state = ChainState(
            self.entry_id,
            self.entry_count,
            self.entry_head,
            self.completion_id,
            self.completion_count,
            self.completion_head,
        )
        return Verification(
            state,
            self.entry_count - self.start.entry_count,
            self.completion_count - self.start.completion_count,
            problem,
        )

    def run(self) -> None:
        completion_end, entry_end = current_heads()
        records = self._completions(completion_end)
        record = next(records, None)
        for rows in self._entry_batches(entry_end):
            codes = _codes_by_entry(rows[0]["id"], rows[-1]["id"])
            for row in rows:
                self._check_entry(row, codes.pop(row["id"], {}))
            if codes:
                stray = min(codes)
                raise _Broken(
                    Break(
                        stray,
                        f"audit codes point at entry #{stray}, which is not in the chain: "
                        "an entry was removed, or codes were added by hand",
                    )
                )
            while record is not None and record["entry_id"] <= self.entry_id:
                self._check_completion(record)
                record = next(records, None)
        while record is not None:
            self._check_completion(record)
            record = next(records, None)
        self._check_unmatched(completion_end)

    def _entry_batches(self, end: int) -> Iterator[list[dict[str, Any]]]:
        last = self.entry_id
        while last < end:
            rows = list(
                AuditEntry.objects.filter(id__gt=last, id__lte=end)
                .order_by("id")
                .values(*ENTRY_COLUMNS)[: self.batch]
            )
            if not rows:
                return
            yield rows
            last = rows[-1]["id"]

    def _completions(self, end: int) -> Iterator[dict[str, Any]]:
        last = self.completion_id
        while last < end:
            rows = list(
                AuditCompletion.objects.filter(id__gt=last, id__lte=end)
                .order_by("id")
                .values(*COMPLETION_COLUMNS)[: self.batch]
            )
            if not rows:
                return
            yield from rows
            last = rows[-1]["id"]

    def _check_entry(self, row: dict[str, Any], indexed: dict[str, datetime]) -> None:
        problem = entry_problem(row, self.entry_head) or _codes_problem(row, indexed)
        if problem:
            raise _Broken(Break(row["id"], f"entry #{row['id']} is broken: {problem}"))
        if is_completed_write(row):
            self.awaiting[row["id"]] = {name: row[name] for name in OUTCOME_COLUMNS}
        self.entry_id = row["id"]
        self.entry_head = row["entry_hash"]
        self.entry_count += 1

    def _check_completion(self, record: dict[str, Any]) -> None:
        entry_id = record["entry_id"]
        if record["previous_hash"] != self.completion_head:
            raise _Broken(
                Break(
                    entry_id,
                    f"completion #{record['id']} of entry #{entry_id} is broken: its link to "
                    "the completion before it is broken: a completion was removed, inserted, "
                    "renumbered or altered",
                    record["id"],
                )
            )
        entry = self.awaiting.pop(entry_id, None)
        if entry is None:
            entry = self._entry_outside_walk(record)
        if sign_completion(record, entry, record["previous_hash"]) != record["record_hash"]:
            raise _Broken(
                Break(
                    entry_id,
                    f"entry #{entry_id} is broken: its outcome no longer matches completion "
                    f"#{record['id']} that signed it: the outcome or answer was changed",
                    record["id"],
                )
            )
        self.completion_id = record["id"]
        self.completion_head = record["record_hash"]
        self.completion_count += 1

    def _entry_outside_walk(self, record: dict[str, Any]) -> dict[str, Any]:
        """The entry a record completes when the walk did not see it completed.

        Before the walk's start (a checkpoint) it is read now; within the walk it
        showed no outcome, so its completion was reverted or it was removed.
        """
        entry_id = record["entry_id"]
        row: dict[str, Any] | None = (
            AuditEntry.objects.filter(pk=entry_id)
            .values("action", "outcome", *OUTCOME_COLUMNS)
            .first()
        )
        if row is None or entry_id > self.start.entry_id or not is_completed_write(row):
            what = "is missing" if row is None else "shows no outcome"
            raise _Broken(
                Break(
                    entry_id,
                    f"entry #{entry_id} is broken: completion #{record['id']} recorded its "
                    f"outcome, but the entry {what}: the completion was reverted or removed",
                    record["id"],
                )
            )
        return row

    def _check_unmatched(self, completion_end: int) -> None:
        if not self.awaiting:
            return
        # Completed while the walk ran: their records lie past the end it set itself.
        late = set(
            AuditCompletion.objects.filter(
                entry_id__in=list(self.awaiting), id__gt=completion_end
            ).values_list("entry_id", flat=True)
        )
        unmatched = sorted(set(self.awaiting) - late)
        if unmatched:
            first = unmatched[0]
            raise _Broken(
                Break(
                    first,
                    f"entry #{first} is broken: it shows an outcome that no completion record "
                    "signed: its outcome was written by hand, or its completion was removed "
                    "from the end",
                )
            )


def _codes_by_entry(first_id: int, last_id: int) -> dict[int, dict[str, datetime]]:
    codes: dict[int, dict[str, datetime]] = defaultdict(dict)
    rows = AuditCode.objects.filter(entry_id__gte=first_id, entry_id__lte=last_id)
    for entry_id, code, created_at in rows.values_list("entry_id", "code", "created_at"):
        codes[entry_id][code] = created_at
    return codes


def _codes_problem(row: Mapping[str, Any], indexed: dict[str, datetime]) -> str | None:
    signed = {c for c in f"{row['error_codes']},{row['warning_codes']}".split(",") if c}
    if set(indexed) != signed or any(at != row["created_at"] for at in indexed.values()):
        return "its rows in the code index disagree with its signed codes"
    return None


def broken_among(entry_ids: Iterable[int]) -> dict[int, str]:
    """Which of these entries fail their own signature or their completion's, in words.

    Each is checked against the previous hash it holds (its link is the chain walk's
    to check), so a page of history or an export can mark a tampered entry cheaply.
    """
    ids = sorted(set(entry_ids))
    broken: dict[int, str] = {}
    for first in range(0, len(ids), 1000):
        chunk = ids[first : first + 1000]
        rows = AuditEntry.objects.filter(id__in=chunk).values(*ENTRY_COLUMNS)
        records = {
            record["entry_id"]: record
            for record in AuditCompletion.objects.filter(entry_id__in=chunk).values(
                *COMPLETION_COLUMNS
            )
        }
        for row in rows:
            problem = entry_problem(row, row["previous_hash"]) or completion_problem(
                row, records.get(row["id"])
            )
            if problem:
                broken[row["id"]] = problem
    return broken


def completion_problem(row: Mapping[str, Any], record: Mapping[str, Any] | None) -> str | None:
    """Whether an entry's outcome agrees with the completion record that signed it."""
    completed = is_completed_write(row)
    if record is None:
        return "it shows an outcome that no completion record signed" if completed else None
    if not completed:
        return (
            f"completion #{record['id']} recorded its outcome, but the entry shows none: "
            "the completion was reverted"
        )
    if sign_completion(record, row, record["previous_hash"]) != record["record_hash"]:
        return (
            "its outcome no longer matches its signed completion: the outcome or answer was changed"
        )
    return None
