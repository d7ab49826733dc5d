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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from customers.history.chain import (
    GENESIS,
    SIGNED_ENTRY_COLUMNS,
    entry_problem,
    outcome_of,
    sign_stored_completion,
    stored_is_completed_write,
)
from customers.models import AuditCode, AuditCompletion, AuditEntry

# A raw entry row: the signed columns, then its link and its hash.
_PREVIOUS, _HASH = len(SIGNED_ENTRY_COLUMNS), len(SIGNED_ENTRY_COLUMNS) + 1
_ID, _CREATED = SIGNED_ENTRY_COLUMNS.index("id"), SIGNED_ENTRY_COLUMNS.index("created_at")
_ERRORS = SIGNED_ENTRY_COLUMNS.index("error_codes")
_WARNINGS = SIGNED_ENTRY_COLUMNS.index("warning_codes")


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
    # Where the walk stood each time the entries it had checked passed a multiple of
    # `mark_every`: places a checkpoint can vouch for once the whole walk is intact.
    marks: tuple[ChainState, ...] = ()

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


def verify_chains(
    start: ChainState | None = None, *, batch: int = 5000, mark_every: int = 0
) -> Verification:
    """Check both chains from `start` (the genesis by default) to the heads as they are now.

    With `mark_every`, the result also keeps the state at the end of each batch of
    entries that took the count past a multiple of it (see Verification.marks).
    """
    walk = _Walk(start or ChainState(), batch, mark_every)
    try:
        walk.run()
    except _Broken as broken:
        return walk.result(broken.problem)
    return walk.result(None)


class _Walk:
    def __init__(self, start: ChainState, batch: int, mark_every: int = 0) -> None:
        self.start = start
        self.batch = batch
        self.mark_every = mark_every
        self.marks: list[ChainState] = []
        self.marked = start.entry_count // mark_every if mark_every else 0
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
        # Entries read showing an outcome, waiting for the completion record that signed
        # it: their hash and their outcome fields as stored.
        self.awaiting: dict[int, tuple[str, tuple[Any, ...]]] = {}

    def state(self) -> ChainState:
        return ChainState(
            self.entry_id,
            self.entry_count,
            self.entry_head,
            self.completion_id,
            self.completion_count,
            self.completion_head,
        )

    def result(self, problem: Break | None) -> Verification:
        return Verification(
            self.state(),
            self.entry_count - self.start.entry_count,
            self.completion_count - self.start.completion_count,
            problem,
            tuple(self.marks),
        )

    def run(self) -> None:
        completion_end, entry_end = current_heads()
        records = self._completions(completion_end)
        record = next(records, None)
        for rows in self._entry_batches(entry_end):
            codes = _codes_by_entry(rows[0][_ID], rows[-1][_ID])
            for row in rows:
                self._check_entry(row, codes.pop(row[_ID], None))
            if codes:
                stray = min(codes)
                raise _Broken(
                    Break(
                        stray,
                        f"audit codes point at entry #{stray}, which is not in the chain: "
                        "an entry was removed, or codes were added by hand",
                    )
                )
            while record is not None and record[1] <= self.entry_id:
                self._check_completion(record)
                record = next(records, None)
            # Both chains are checked up to here: every completion so far is of an
            # entry so far (entries completed later are read back by a run from here).
            if self.mark_every and self.entry_count // self.mark_every > self.marked:
                self.marked = self.entry_count // self.mark_every
                self.marks.append(self.state())
        while record is not None:
            self._check_completion(record)
            record = next(records, None)
        self._check_unmatched(completion_end)

    def _entry_batches(self, end: int) -> Iterator[list[tuple[Any, ...]]]:
        last = self.entry_id
        while last < end:
            rows = fetch_entries("id > %s AND id <= %s", [last, end], limit=self.batch)
            if not rows:
                return
            yield rows
            last = rows[-1][_ID]

    def _completions(self, end: int) -> Iterator[tuple[Any, ...]]:
        last = self.completion_id
        while last < end:
            rows = fetch_completions("id > %s AND id <= %s", [last, end], limit=self.batch)
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def _check_entry(self, row: tuple[Any, ...], indexed: dict[str, str] | None) -> None:
        entry_hash = row[_HASH]
        if row[_PREVIOUS] != self.entry_head:
            problem: str | None = LINK_BROKEN
        else:
            problem = entry_problem(row[:_PREVIOUS], self.entry_head, entry_hash)
        if problem is None and (indexed or row[_ERRORS] or row[_WARNINGS]):
            problem = _codes_problem(row, indexed or {})
        if problem:
            raise _Broken(Break(row[_ID], f"entry #{row[_ID]} is broken: {problem}"))
        if stored_is_completed_write(row):
            self.awaiting[row[_ID]] = (entry_hash, outcome_of(row))
        self.entry_id = row[_ID]
        self.entry_head = entry_hash
        self.entry_count += 1

    def _check_completion(self, record: tuple[Any, ...]) -> None:
        record_id, entry_id, _created, previous_hash, record_hash = record
        if previous_hash != self.completion_head:
            raise _Broken(
                Break(
                    entry_id,
                    f"completion #{record_id} of entry #{entry_id} is broken: its link to "
                    "the completion before it is broken: a completion was removed, inserted, "
                    "renumbered or altered",
                    record_id,
                )
            )
        awaited = self.awaiting.pop(entry_id, None)
        entry_hash, outcome = awaited or self._entry_outside_walk(record)
        if sign_stored_completion(record[:3], entry_hash, outcome, previous_hash) != record_hash:
            raise _Broken(
                Break(
                    entry_id,
                    f"entry #{entry_id} is broken: its outcome no longer matches completion "
                    f"#{record_id} that signed it: the outcome or answer was changed",
                    record_id,
                )
            )
        self.completion_id = record_id
        self.completion_head = record_hash
        self.completion_count += 1

    def _entry_outside_walk(self, record: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """The entry a record completes when the walk did not see it completed.

        Before the walk's start (a checkpoint) it is read now; within the walk it
        showed no outcome, so its completion was reverted or it was removed.
        """
        record_id, entry_id = record[0], record[1]
        rows = fetch_entries("id = %s", [entry_id])
        row = rows[0] if rows else None
        if row is None or entry_id > self.start.entry_id or not stored_is_completed_write(row):
            what = "is missing" if row is None else "shows no outcome"
            raise _Broken(
                Break(
                    entry_id,
                    f"entry #{entry_id} is broken: completion #{record_id} recorded its "
                    f"outcome, but the entry {what}: the completion was reverted or removed",
                    record_id,
                )
            )
        return row[_HASH], outcome_of(row)

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


LINK_BROKEN = (
    "its link to the entry before it is broken: an earlier entry was removed, "
    "inserted, renumbered or altered"
)


def _time(column: str) -> str:
    """A timestamp column as the chain signs it (chain.timestamp_text), formatted by
    the database so rows come back ready to hash."""
    if connection.vendor == "postgresql":
        return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    # SQLite keeps Django's text, "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC.
    return (
        f"substr({column}, 1, 10) || 'T' || substr({column}, 12, 8) || '.' || "
        f"CASE WHEN length({column}) > 19 THEN substr({column}, 21, 6) ELSE '000000' END || 'Z'"
    )


def _fetch(
    columns: Sequence[str], table: str, where: str, params: Sequence[Any], limit: int | None
) -> list[tuple[Any, ...]]:
    quote = connection.ops.quote_name
    selected = ", ".join(
        _time(quote(name)) if name == "created_at" else quote(name) for name in columns
    )
    sql = f"SELECT {selected} FROM {quote(table)} WHERE {where} ORDER BY {quote('id')}"  # noqa: S608
    if limit is not None:
        sql = f"{sql} LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def fetch_entries(
    where: str, params: Sequence[Any], *, limit: int | None = None
) -> list[tuple[Any, ...]]:
    """Entries as stored, without decoding anything: the columns of
    chain.SIGNED_ENTRY_COLUMNS (the time as signed), then previous_hash and entry_hash.
    `where` is SQL over the entry table's columns, with %s parameters."""
    columns = (*SIGNED_ENTRY_COLUMNS, "previous_hash", "entry_hash")
    return _fetch(columns, AuditEntry._meta.db_table, where, params, limit)


def fetch_completions(
    where: str, params: Sequence[Any], *, limit: int | None = None
) -> list[tuple[Any, ...]]:
    """Completion records as stored: id, entry id, time as signed, previous hash, hash."""
    columns = ("id", "entry_id", "created_at", "previous_hash", "record_hash")
    return _fetch(columns, AuditCompletion._meta.db_table, where, params, limit)


def _codes_by_entry(first_id: int, last_id: int) -> dict[int, dict[str, str]]:
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote('entry_id')}, {quote('code')}, {_time(quote('created_at'))} "  # noqa: S608
        f"FROM {quote(AuditCode._meta.db_table)} "
        f"WHERE {quote('entry_id')} >= %s AND {quote('entry_id')} <= %s"
    )
    codes: dict[int, dict[str, str]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [first_id, last_id])
        for entry_id, code, created_at in cursor.fetchall():
            codes[entry_id][code] = created_at
    return codes


def _codes_problem(row: Sequence[Any], indexed: dict[str, str]) -> str | None:
    signed = {c for c in f"{row[_ERRORS]},{row[_WARNINGS]}".split(",") if c}
    if set(indexed) != signed or any(at != row[_CREATED] for at in indexed.values()):
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
        marks = ", ".join(["%s"] * len(chunk))
        rows = fetch_entries(f"id IN ({marks})", chunk)
        records = {
            record[1]: record for record in fetch_completions(f"entry_id IN ({marks})", chunk)
        }
        for row in rows:
            problem = entry_problem(row[:_PREVIOUS], row[_PREVIOUS], row[_HASH]) or (
                completion_problem(row, records.get(row[_ID]))
            )
            if problem:
                broken[row[_ID]] = problem
    return broken


def signature_problem(entry_id: int) -> str | None:
    """Check one entry: its signature, its link to the entry before it, and its outcome
    against the completion record that signed it."""
    rows = fetch_entries("id = %s", [entry_id])
    if not rows:
        return None
    row = rows[0]
    previous = (
        AuditEntry.objects.filter(id__lt=entry_id)
        .order_by("-id")
        .values_list("entry_hash", flat=True)
        .first()
    ) or GENESIS
    if row[_PREVIOUS] != previous:
        return LINK_BROKEN
    records = fetch_completions("entry_id = %s", [entry_id])
    return entry_problem(row[:_PREVIOUS], previous, row[_HASH]) or completion_problem(
        row, records[0] if records else None
    )


def completion_problem(row: Sequence[Any], record: Sequence[Any] | None) -> str | None:
    """Whether a raw entry's outcome agrees with the completion record that signed it."""
    completed = stored_is_completed_write(row)
    if record is None:
        return "it shows an outcome that no completion record signed" if completed else None
    if not completed:
        return (
            f"completion #{record[0]} recorded its outcome, but the entry shows none: "
            "the completion was reverted"
        )
    if sign_stored_completion(record[:3], row[_HASH], outcome_of(row), record[3]) != record[4]:
        return (
            "its outcome no longer matches its signed completion: the outcome or answer was changed"
        )
    return None
