"""Signed checkpoints of the change history, and where the chain stands.

A checkpoint says: "both chains were verified from the genesis up to entry #N
and completion #M, whose hashes are these, and there were this many of each".
It is signed with the audit key and chained to the checkpoint before it, so it
cannot be edited or reordered without the key. What checkpoints prove:

- a cut tail: entries or completions removed from the end leave a checkpoint
  that names a record no longer there (or a count that no longer adds up), so
  `verify_history` catches it without anyone keeping `--head` by hand;
- a verification can start from the newest checkpoint that still matches the
  database (incremental), instead of the genesis (`--full`).

They do not prove what happened after the newest checkpoint was taken, and an
incremental run does not re-read entries before it: `--full` does, and checks
every checkpoint against what it walked.

Checkpoints are written by the background task `record_checkpoint_task` (every
AUDIT_CHECKPOINT_EVERY_MINUTES, and when the chain grows past a multiple of
AUDIT_CHECKPOINT_EVERY_ENTRIES) and by `verify_history`: where its walk ended,
and where it passed each multiple of AUDIT_CHECKPOINT_EVERY_ENTRIES on the way.
Every verification is kept as a ChainCheck row: the history page says where the
chain stands from it.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from customers.history.chain import GENESIS, canonical, sign_parts
from customers.history.verification import Break, ChainState, Verification, verify_chains
from customers.models import AuditCheckpoint, AuditCompletion, AuditEntry, ChainCheck
from customers.periodic import periodic

STATE_FIELDS = (
    "entry_id",
    "entry_count",
    "entry_head",
    "completion_id",
    "completion_count",
    "completion_head",
)


def sign_checkpoint(values: dict[str, Any], previous_signature: str) -> str:
    content = {name: values[name] for name in ("created_at", *STATE_FIELDS)}
    return sign_parts(b"checkpoint", previous_signature.encode(), canonical(content))


def state_of(checkpoint: AuditCheckpoint) -> ChainState:
    return ChainState(**{name: getattr(checkpoint, name) for name in STATE_FIELDS})


def checkpoint_problem(*, full: bool = True) -> tuple[Break | None, AuditCheckpoint | None]:
    """Check every checkpoint: its signature, its link, and that the chain still holds
    what it names. Returns the first problem and the newest checkpoint that is good.

    Counting the entries a checkpoint covers is the one check that reads the table
    below it: `full` counts every checkpoint's segment (the entries between it and
    the one before), once each, so all of them cost one pass over the history;
    otherwise only the newest checkpoint's segment is counted, so an incremental
    run costs the same at a million entries as at a thousand (the older segments
    are what `--full` is for).
    """
    previous_signature = GENESIS
    good: AuditCheckpoint | None = None
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    entry_hashes = dict(
        AuditEntry.objects.filter(id__in=[c.entry_id for c in checkpoints]).values_list(
            "id", "entry_hash"
        )
    )
    completion_hashes = dict(
        AuditCompletion.objects.filter(id__in=[c.completion_id for c in checkpoints]).values_list(
            "id", "record_hash"
        )
    )
    below: tuple[int, int] = (0, 0)  # the entry id and count of the checkpoint before
    for checkpoint in checkpoints:
        values = {name: getattr(checkpoint, name) for name in ("created_at", *STATE_FIELDS)}
        if (
            checkpoint.previous_signature != previous_signature
            or sign_checkpoint(values, previous_signature) != checkpoint.signature
        ):
            return Break(
                checkpoint.entry_id,
                f"checkpoint #{checkpoint.pk} no longer matches its signature: checkpoints "
                "were altered, removed or reordered",
            ), good
        previous_signature = checkpoint.signature
        cut = _cut_after(checkpoint, entry_hashes, completion_hashes)
        if cut is None and (full or checkpoint is checkpoints[-1]):
            cut = _miscounted(checkpoint, below)
        if cut:
            return Break(checkpoint.entry_id, cut), good
        below = (checkpoint.entry_id, checkpoint.entry_count)
        good = checkpoint
    return None, good


def _cut_after(
    checkpoint: AuditCheckpoint, entry_hashes: dict[int, str], completion_hashes: dict[int, str]
) -> str | None:
    when = _when(checkpoint)
    if checkpoint.entry_id and entry_hashes.get(checkpoint.entry_id) != checkpoint.entry_head:
        return (
            f"entry #{checkpoint.entry_id}, the last one checkpoint #{checkpoint.pk} "
            f"({when}) covered, is gone or changed: entries were removed from the end "
            "or renumbered"
        )
    if checkpoint.completion_id and (
        completion_hashes.get(checkpoint.completion_id) != checkpoint.completion_head
    ):
        return (
            f"completion #{checkpoint.completion_id}, the last one checkpoint "
            f"#{checkpoint.pk} ({when}) covered, is gone or changed: completions were "
            "removed from the end"
        )
    return None


def _miscounted(checkpoint: AuditCheckpoint, below: tuple[int, int]) -> str | None:
    """Whether the entries between the checkpoint before (its id and count) and this
    one still number what the two counted."""
    below_id, below_count = below
    segment = AuditEntry.objects.filter(id__gt=below_id, id__lte=checkpoint.entry_id).count()
    if below_count + segment != checkpoint.entry_count:
        return (
            f"checkpoint #{checkpoint.pk} ({_when(checkpoint)}) counted "
            f"{checkpoint.entry_count:,} entries up to #{checkpoint.entry_id}; there are "
            f"{below_count + segment:,} now"
        )
    return None


def _when(checkpoint: AuditCheckpoint) -> str:
    return timezone.localtime(checkpoint.created_at).strftime("%Y-%m-%d %H:%M")


def verify_history(
    *,
    full: bool = False,
    batch: int = 5000,
    head: str = "",
    more_problems: Callable[[], Sequence[str]] | None = None,
) -> ChainCheck:
    """Verify the chains (from the newest good checkpoint unless `full`), record the
    result as a ChainCheck, and new checkpoints when intact and the chain grew.

    A break found by a full run stands until a full run passes: an incremental run
    after one walks from the first entry too, since the broken entry lies below the
    checkpoints it would start from (and nothing is checkpointed over it). `head`
    is an entry hash noted earlier, which must still be in the chain;
    `more_problems` names anything else that must agree with the chain (import
    counters), checked before the result is recorded.
    """
    full = full or full_check_broken()
    checkpoint_break, good = checkpoint_problem(full=full)
    start = None if full or good is None else state_of(good)
    verification = verify_chains(
        start, batch=batch, mark_every=settings.AUDIT_CHECKPOINT_EVERY_ENTRIES
    )
    problem = verification.problem or checkpoint_break
    if problem is None and head and not AuditEntry.objects.filter(entry_hash=head).exists():
        problem = Break(
            0,
            f"the head {head} noted earlier is not in the chain: it was mistyped, or entries "
            "were removed from the chain's end",
        )
    if problem is None and more_problems is not None:
        disagreeing = more_problems()
        if disagreeing:
            problem = Break(
                0,
                "the chain is intact, but import results shown to staff disagree with it: "
                + " ".join(disagreeing),
            )
    check = ChainCheck.objects.create(
        full=start is None,
        intact=problem is None,
        from_entry=(start.entry_id if start else 0) + 1,
        up_to_entry=verification.state.entry_id,
        entry_count=verification.state.entry_count,
        broken_entry_id=(problem.entry_id or None) if problem else None,
        problem=problem.message if problem else "",
        checked_entries=verification.checked_entries,
    )
    if problem is None:
        _record_checkpoint(verification, good)
    return check


def full_check_broken() -> bool:
    """Whether the newest full check found the chain broken (so none has passed since)."""
    last_full = ChainCheck.objects.filter(full=True).order_by("-id").first()
    return last_full is not None and not last_full.intact


def _record_checkpoint(verification: Verification, newest: AuditCheckpoint | None) -> None:
    """Checkpoint where the walk ended, and where it passed each multiple of
    AUDIT_CHECKPOINT_EVERY_ENTRIES on the way, past the newest checkpoint.

    The marks on the way keep each checkpoint's segment short, so an incremental
    run, which counts the entries of the newest segment, costs the same after a
    full run over a million entries as after a day's appends.
    """
    states = [
        state
        for state in (*verification.marks, verification.state)
        if newest is None
        or (state.entry_id > newest.entry_id and state.completion_id >= newest.completion_id)
        or (state.entry_id >= newest.entry_id and state.completion_id > newest.completion_id)
    ]
    states = [s for n, s in enumerate(states) if n == 0 or s != states[n - 1]]
    if not states:
        return
    with transaction.atomic():
        last = AuditCheckpoint.objects.select_for_update().order_by("-id").first()
        previous_signature = last.signature if last else GENESIS
        now = timezone.now()
        for state in states:
            values: dict[str, Any] = {"created_at": now, **asdict(state)}
            signature = sign_checkpoint(values, previous_signature)
            AuditCheckpoint.objects.create(
                **values, previous_signature=previous_signature, signature=signature
            )
            previous_signature = signature


def latest_check() -> ChainCheck | None:
    return ChainCheck.objects.order_by("-id").first()


@task()
def record_checkpoint_task() -> None:
    """Verify what was appended since the last checkpoint and checkpoint it.

    Queued when the history passes a multiple of AUDIT_CHECKPOINT_EVERY_ENTRIES;
    the periodic job below runs the same every AUDIT_CHECKPOINT_EVERY_MINUTES.
    """
    verify_history()


@periodic("checkpoint", every=timedelta(minutes=settings.AUDIT_CHECKPOINT_EVERY_MINUTES))
def checkpoint_periodically() -> None:
    verify_history()


def checkpoint_due(previous_last_id: int, new_last_id: int) -> bool:
    """Whether appending moved the chain past a multiple of AUDIT_CHECKPOINT_EVERY_ENTRIES."""
    every = settings.AUDIT_CHECKPOINT_EVERY_ENTRIES
    return every > 0 and previous_last_id // every != new_last_id // every
