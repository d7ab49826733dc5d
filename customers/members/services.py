"""Member use cases: cleaned data -> request model -> client -> audit entry -> result.

Every write follows record, call, update: an AuditEntry is written as pending
and committed, Capillary is called outside any database transaction, then the
entry is completed with the answer. A crash mid-call leaves the pending entry
visible. Services raise the client's errors after recording them; the views
decide how they look. The forms and the bulk import call the same functions,
so every row of a bulk upsert is audited like a hand edit.
"""

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from customers.capillary import errors as cap
from customers.capillary.errors import ApiCode, CallMeta
from customers.capillary.schemas import (
    AddCustomerRequest,
    BulkItem,
    CardDetailsResponse,
    ChangeIdentifierRequest,
    Customer,
    CustomerLookup,
    SearchHit,
    StatusChange,
    SubscriptionChange,
    UpdateCustomerRequest,
    UpsertEntry,
    WriteResponse,
)
from customers.console.logs import carrying_request
from customers.gateway import actor_context, catalogue, get_client
from customers.history import audit
from customers.members.search import Candidate, Dialling, candidates, search_keyword, tidy
from customers.models import AuditEntry, RegistrationReceipt

logger = logging.getLogger(__name__)

Actor = User | AnonymousUser
Action = AuditEntry.Action
Outcome = AuditEntry.Outcome

CUSTOMER_ID_LENGTH = AuditEntry._meta.get_field("customer_id").max_length or 64
PROFILE_EMBEDS = ("points", "subscriptions", "mlp", "customerStatus")


@dataclass(frozen=True)
class WriteResult:
    customer_id: int | None
    warnings: list[ApiCode]
    side_effects: list[Any]
    entry: AuditEntry


@dataclass(frozen=True)
class RowResult:
    """One bulk-upsert entry's answer, in input order."""

    customer_id: int | None
    errors: list[ApiCode]
    warnings: list[ApiCode]
    entry: AuditEntry


@dataclass
class SearchResult:
    """What a search found: members by a complete identifier, else a page of hits."""

    query: str = ""
    members: list[Customer] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    looked_up: list[Candidate] = field(default_factory=list)
    # Capillary's customer search (E13), when it ran: the keyword sent and one page.
    keyword: str = ""
    hits: list[SearchHit] = field(default_factory=list)
    limit: int = 10
    offset: int = 0
    total: int | None = None


# --- reads ----------------------------------------------------------------


def dialling() -> Dialling:
    """The org's base country, for reading phone numbers as typed."""
    org = catalogue()
    return Dialling(country_code=org.country_code, national_length=org.national_length)


def detect_identifier_kind(query: str) -> list[str]:
    """Which identifier kinds a typed value may be, most likely first ([] for a name)."""
    return [c.kind for c in candidates(query, dialling())]


def find_members(
    *, actor: Actor, query: str, kind: str = "", source: str, account_id: str = ""
) -> SearchResult:
    """Look a member up by a complete identifier only (no name search); recorded as a read."""
    return search_members(
        actor=actor, query=query, kind=kind, source=source, account_id=account_id, names=False
    )


def search_members(
    *,
    actor: Actor,
    query: str,
    kind: str = "",
    source: str,
    account_id: str = "",
    limit: int = 10,
    offset: int = 0,
    names: bool = True,
    exact: bool = True,
) -> SearchResult:
    """Find anyone from what staff typed, recorded as one read with the query.

    A complete identifier is looked up first, in the given source (every reading
    of the text at once: "+91 81000 00004" and "081000 00004" are the mobile
    918100000004, an email is looked up as Capillary stores it, in lower case).
    Anything else, or an identifier nobody holds, goes to Capillary's customer
    search (E13), which matches the start of names and identifiers in every
    source. `exact=False` skips the lookup (suggestions while typing); `names=False`
    skips the search; a `kind` chosen by staff is looked up only.
    """
    value = tidy(query)
    readings = candidates(value, dialling(), kind=kind) if exact and offset == 0 else []
    result = SearchResult(query=value, tried=[c.kind for c in readings], looked_up=readings)
    try:
        result.members = _look_up(readings, kind=kind, source=source, account_id=account_id)
        if names and not kind and not result.members:
            result.keyword = search_keyword(value, dialling())
            page = get_client().search_customers(result.keyword, limit=limit, offset=offset)
            result.hits = page.data
            result.limit = limit
            result.offset = offset
            result.total = page.pagination.total if page.pagination else None
    finally:
        # Recorded whatever Capillary answered: the attempt to look is what auditors ask about.
        found = [m.id for m in result.members] or [h.user_id for h in result.hits]
        listed = ",".join(str(i) for i in found)
        audit.record_read(
            actor=actor,
            action=Action.SEARCH,
            # A page of hits outgrows the column; the request keeps every id.
            customer_id=listed if len(listed) <= CUSTOMER_ID_LENGTH else "",
            identifier_type=kind or "/".join(result.tried) or "search",
            identifier_value=value[:255],
            source=source,
            request={
                "query": value,
                "looked_up": [[c.kind, c.value] for c in readings],
                "keyword": result.keyword,
                "offset": offset if result.keyword else None,
                "suggestions": not exact,
                "found": found,
            },
        )
    return result


def _look_up(
    readings: list[Candidate], *, kind: str, source: str, account_id: str
) -> list[Customer]:
    """The members holding any reading of the text, each once; the readings go out at once."""
    if not readings:
        return []
    client = get_client()

    def lookup(reading: Candidate) -> Customer | None:
        try:
            if reading.kind == "id":
                if not reading.value.isdigit():
                    return None
                return client.get_customer(
                    int(reading.value), source=source, account_id=account_id or None
                )
            return client.lookup_customer(
                CustomerLookup(
                    source=source,
                    account_id=account_id or None,
                    identifier_name=reading.kind,
                    identifier_value=reading.value,
                )
            )
        except cap.NotFound:
            return None
        except cap.Rejected as rejected:
            # A kind this value cannot be (8013 and friends) is no answer either,
            # unless staff chose that kind themselves.
            if kind:
                raise
            logger.info("lookup as %s refused: %s", reading.kind, rejected)
            return None

    # The readings of a value are looked up at once: a search costs one round trip.
    with ThreadPoolExecutor(max_workers=len(readings)) as pool:
        answers = list(pool.map(carrying_request(lookup), readings))
    members: list[Customer] = []
    for found in answers:
        if found is not None and found.id is not None and found.id not in {m.id for m in members}:
            members.append(found)
    return members


def load_member(*, customer_id: int, source: str, account_id: str = "") -> Customer:
    """A member as an edit screen needs it (the edit itself is what gets audited)."""
    return get_client().get_customer(
        customer_id, source=source, account_id=account_id or None, embed=PROFILE_EMBEDS
    )


def open_profile(
    *, actor: Actor, customer_id: int, source: str, account_id: str = ""
) -> tuple[Customer, list[AuditEntry]]:
    """The 360 profile and the member's recent console history, read as one.

    The timeline is read while Capillary is answering, so opening a profile
    costs about one Capillary round trip. The opening is recorded once the
    answer is in, with the member's name (the home page lists recently opened
    members from these reads), and also when Capillary fails: the attempt to
    look is what the auditors ask about.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(
            carrying_request(get_client().get_customer),
            customer_id,
            source=source,
            account_id=account_id or None,
            embed=PROFILE_EMBEDS,
        )
        history = audit.entries_for_member(customer_id, limit=10)
        opened: dict[str, Any] = {"account_id": account_id}
        try:
            found = answer.result()
            # The name lets the home page list recently opened members without asking Capillary.
            opened["name"] = next(
                (
                    " ".join(filter(None, [p.first_name, p.last_name]))
                    for p in found.profiles
                    if p.first_name or p.last_name
                ),
                "",
            )
            return found, history
        finally:
            audit.record_read(
                actor=actor,
                action=Action.VIEW_PROFILE,
                customer_id=customer_id,
                source=source,
                request=opened,
            )


def read_subscriptions(*, customer_id: int) -> list[dict[str, Any]]:
    """The member's subscriptions as Capillary holds them now (E7), as plain dicts."""
    answer = get_client().get_subscriptions(customer_id)
    return [s.model_dump(by_alias=True) for s in answer.subscriptions]


def member_name(*, customer_id: int) -> str:
    """A member's name as Capillary holds it, for naming them on another's screen; "" if unread."""
    try:
        found = get_client().get_customer(customer_id, source="ALL")
    except cap.CapillaryError as error:
        logger.info("name of customer %s not read: %s", customer_id, error)
        return ""
    for profile in found.profiles:
        name = " ".join(filter(None, [profile.first_name, profile.last_name]))
        if name:
            return name
    return ""


def read_status_log(*, customer_id: int) -> list[Any]:
    """The member's status labels over time (E9's statusLog), newest first."""
    rows = list(get_client().get_status_log(customer_id).data)
    return sorted(rows, key=lambda row: row.created_on or "", reverse=True)


def read_capillary_audit_log(*, customer_id: int, limit: int = 20) -> list[Any]:
    """Capillary's own audit log of the member (E11), newest first as Capillary sends it."""
    return list(get_client().get_audit_logs(customer_id, limit=limit).data)


def read_card(*, number: str) -> CardDetailsResponse:
    """A card as Capillary holds it now: series, status label, holder, issue and expiry
    dates. Support staff read it on "my card doesn't work" calls."""
    return get_client().get_card(number)


def existing_member_id(
    *, identifier_name: str, value: str, source: str, account_id: str = ""
) -> int | None:
    """The id of the member holding an identifier, for duplicate hints while typing."""
    try:
        answer = get_client().lookup_customer_id(
            CustomerLookup(
                source=source,
                account_id=account_id or None,
                identifier_name=identifier_name,
                identifier_value=value,
            )
        )
    except (cap.NotFound, cap.Rejected):
        return None
    return answer.entity


def receipt_token(entry: AuditEntry) -> str:
    """The random token of a registration's receipt, made on first asking."""
    receipt, _ = RegistrationReceipt.objects.get_or_create(
        entry=entry, defaults={"token": secrets.token_urlsafe(32)}
    )
    return receipt.token


def snapshot(customer_id: int | None) -> dict[str, Any] | None:
    """A member as the audit trail keeps it; None when it cannot be read now.

    The before and the after of a write are both taken here, just before and just
    after the call, so they compare like with like: every source's profile and
    the embeds the profile screen shows (a screen's own copy may be minutes old
    and read for one source only).
    """
    if customer_id is None:
        return None
    try:
        member = get_client().get_customer(customer_id, source="ALL", embed=PROFILE_EMBEDS)
    except cap.CapillaryError as error:
        logger.warning("snapshot of customer %s failed: %s", customer_id, error)
        return None
    return member.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- writes ---------------------------------------------------------------


def register_member(
    *,
    actor: Actor,
    request: AddCustomerRequest,
    reason: str = "",
    wait_for_downstream: bool = True,
) -> WriteResult:
    profile = request.profiles[0]
    identifier = profile.identifiers[0]
    return _recorded_write(
        actor=actor,
        action=Action.REGISTER,
        reason=reason,
        body=request.to_wire(),
        identifier=(identifier.type, identifier.value or ""),
        source=profile.source,
        account_id=profile.account_id or "",
        before=None,
        call=lambda: get_client().add_customer(
            request, actor=actor_context(actor), wait_for_downstream=wait_for_downstream
        ),
    )


def update_profile(
    *,
    actor: Actor,
    customer_id: int,
    source: str,
    account_id: str = "",
    changes: UpdateCustomerRequest,
    reason: str,
    use_async: bool = False,
    action: str = Action.UPDATE_PROFILE,
) -> WriteResult:
    return _recorded_write(
        actor=actor,
        action=action,
        reason=reason,
        body=changes.to_wire(),
        customer_id=customer_id,
        source=source,
        account_id=account_id,
        before=snapshot(customer_id),
        call=lambda: get_client().update_customer(
            customer_id,
            changes,
            source=source,
            account_id=account_id or None,
            actor=actor_context(actor),
            use_async=use_async,
        ),
    )


def enroll_member(
    *,
    actor: Actor,
    customer_id: int,
    source: str,
    account_id: str = "",
    changes: UpdateCustomerRequest,
    reason: str,
) -> WriteResult:
    """Enrollment is an update carrying loyaltyProgramEnrollments (and loyalty type)."""
    return update_profile(
        actor=actor,
        customer_id=customer_id,
        source=source,
        account_id=account_id,
        changes=changes,
        reason=reason,
        action=Action.ENROLL,
    )


def change_identifiers(
    *,
    actor: Actor,
    customer_id: int,
    source: str,
    account_id: str = "",
    change: ChangeIdentifierRequest,
    reason: str,
) -> WriteResult:
    first = (change.add or change.remove)[0]
    return _recorded_write(
        actor=actor,
        action=Action.CHANGE_IDENTIFIER,
        reason=reason,
        body=change.to_wire(),
        customer_id=customer_id,
        identifier=(first.type, first.value or ""),
        source=source,
        account_id=account_id,
        before=snapshot(customer_id),
        call=lambda: get_client().change_identifier(
            customer_id,
            change,
            source=source,
            account_id=account_id or None,
            actor=actor_context(actor),
        ),
    )


def change_subscriptions(
    *,
    actor: Actor,
    customer_id: int,
    change: SubscriptionChange,
    reason: str,
) -> WriteResult:
    def call() -> WriteResponse:
        answer = get_client().update_subscriptions(customer_id, change, actor=actor_context(actor))
        return WriteResponse(createdId=customer_id, warnings=answer.warnings).with_meta(answer.meta)

    return _recorded_write(
        actor=actor,
        action=Action.UPDATE_SUBSCRIPTIONS,
        reason=reason,
        body=change.to_wire(),
        customer_id=customer_id,
        before=snapshot(customer_id),
        call=call,
    )


def change_status(
    *,
    actor: Actor,
    customer_id: int,
    lookup: CustomerLookup,
    label: str,
    reason: str,
) -> WriteResult:
    change = StatusChange(label=label, reason=reason)
    return _recorded_write(
        actor=actor,
        action=Action.CHANGE_STATUS,
        reason=reason,
        body={"lookup": lookup.to_query(), **change.to_wire()},
        customer_id=customer_id,
        identifier=(lookup.identifier_name, lookup.identifier_value),
        source=lookup.source,
        account_id=lookup.account_id or "",
        before=snapshot(customer_id),
        call=lambda: get_client().change_status(lookup, change, actor=actor_context(actor)),
    )


def upsert_members(
    *,
    actor: Actor,
    entries: Sequence[UpsertEntry],
    skip_change_identifier: bool,
    reason: str,
    import_job_id: int | None = None,
    row_numbers: Sequence[int] | None = None,
) -> list[RowResult]:
    """One bulk-upsert call; one audit entry per entry, completed from its own item.

    Items fail one by one. When the whole call fails, every row's entry records
    that failure (or "unknown" when the batch may have been applied) and the
    error is raised for the caller to retry or report.
    """
    rows = list(row_numbers) if row_numbers is not None else [None] * len(entries)
    # The batch's pending entries in one append (one INSERT, one commit), still
    # before the call; their outcomes in one completion block after it.
    pending = _start_rows(entries, rows, actor=actor, reason=reason, job=import_job_id)
    try:
        answer = get_client().bulk_upsert(
            entries, skip_change_identifier=skip_change_identifier, actor=actor_context(actor)
        )
    except cap.CapillaryError as error:
        audit.finish_writes(
            [(entry, _failed_answer(entry, error, one_member=False)) for entry in pending]
        )
        raise
    except BaseException:
        fault = audit.Answer(outcome=Outcome.UNKNOWN, response=_console_fault())
        audit.finish_writes([(entry, fault) for entry in pending])
        raise
    items = list(answer.response)
    if len(items) != len(pending):
        mismatch = cap.IntegrationError(
            f"bulk upsert answered {len(items)} items for {len(pending)} entries",
            meta=answer.meta,
        )
        audit.finish_writes(
            [(entry, _failed_answer(entry, mismatch, one_member=False)) for entry in pending]
        )
        raise mismatch
    audit.finish_writes(
        [
            (entry, _item_answer(item, answer.meta))
            for entry, item in zip(pending, items, strict=True)
        ]
    )
    return [
        RowResult(_item_customer_id(item), list(item.errors), list(item.warnings), entry)
        for entry, item in zip(pending, items, strict=True)
    ]


def _start_rows(
    entries: Sequence[UpsertEntry],
    rows: Sequence[int | None],
    *,
    actor: Actor,
    reason: str,
    job: int | None,
) -> list[AuditEntry]:
    writes = []
    for entry_model, row in zip(entries, rows, strict=True):
        identifier = (
            entry_model.profiles[0].identifiers[0] if entry_model.profiles[0].identifiers else None
        )
        writes.append(
            audit.Write(
                actor=actor,
                action=Action.UPSERT if job is None else Action.BULK_UPSERT,
                reason=reason,
                identifier_type=identifier.type if identifier else "",
                identifier_value=(identifier.value or "") if identifier else "",
                source=entry_model.profiles[0].source or "",
                account_id=entry_model.profiles[0].account_id or "",
                request=entry_model.to_wire(),
                import_job_id=job,
                import_row=row,
            )
        )
    return audit.start_writes(writes)


# --- record, call, update ---------------------------------------------------


def _recorded_write(
    *,
    actor: Actor,
    action: str,
    reason: str,
    body: Mapping[str, Any],
    call: Callable[[], WriteResponse],
    customer_id: int | None = None,
    identifier: tuple[str, str] = ("", ""),
    source: str = "",
    account_id: str = "",
    before: Mapping[str, Any] | None,
) -> WriteResult:
    entry = audit.start_write(
        actor=actor,
        action=action,
        reason=reason,
        customer_id=customer_id,
        identifier_type=identifier[0],
        identifier_value=identifier[1],
        source=source,
        account_id=account_id,
        request=body,
        before=before,
    )
    try:
        answer = call()
    except cap.CapillaryError as error:
        _finish_failed(entry, error)
        raise
    except BaseException:
        # A console fault after the request may have left: the outcome is not known.
        audit.finish_write(entry, outcome=Outcome.UNKNOWN, response=_console_fault())
        raise
    created = answer.created_id or customer_id
    meta = answer.meta
    audit.finish_write(
        entry,
        outcome=Outcome.OK_WITH_WARNINGS if answer.warnings else Outcome.OK,
        http_status=meta.status,
        request_id=meta.request_id or "",
        response=_body(meta),
        warning_codes=[w.code for w in answer.warnings],
        side_effects=[_plain(effect) for effect in answer.side_effects],
        duration_ms=round(meta.duration_ms),
        after=snapshot(created),
        # A merge answers with the survivor's id; the entry stays about the member edited.
        customer_id=None if customer_id else created,
    )
    return WriteResult(created, list(answer.warnings), list(answer.side_effects), entry)


def _item_customer_id(item: BulkItem) -> int | None:
    return item.entity_id or (item.result.id if item.result else None)


def _item_answer(item: BulkItem, meta: CallMeta) -> audit.Answer:
    """One bulk item's answer, for its entry's completion."""
    customer_id = _item_customer_id(item)
    if item.errors:
        outcome = Outcome.REJECTED
    else:
        outcome = Outcome.OK_WITH_WARNINGS if item.warnings else Outcome.OK
    return audit.Answer(
        outcome=outcome,
        http_status=meta.status,
        request_id=meta.request_id or "",
        response=item.model_dump(mode="json", by_alias=True, exclude={"result"}),
        error_codes=[e.code for e in item.errors],
        warning_codes=[w.code for w in item.warnings],
        duration_ms=round(meta.duration_ms),
        after=item.result.model_dump(mode="json", by_alias=True, exclude_none=True)
        if item.result
        else None,
        customer_id=customer_id,
    )


def _finish_failed(
    entry: AuditEntry, error: cap.CapillaryError, *, one_member: bool = True
) -> None:
    """Record a failed call. `one_member`: the answer is about this entry's member
    alone, so an id it still shows is this member's (not so for a bulk batch)."""
    audit.finish_writes([(entry, _failed_answer(entry, error, one_member=one_member))])


def _failed_answer(
    entry: AuditEntry, error: cap.CapillaryError, *, one_member: bool
) -> audit.Answer:
    meta = error.meta or CallMeta(method="", path="", endpoint="")
    if isinstance(error, cap.Rejected):
        outcome = Outcome.REJECTED
        errors: Iterable[int] = [e.code for e in error.errors]
        warnings: Iterable[int] = [w.code for w in error.warnings]
    else:
        outcome = Outcome.UNKNOWN if cap.write_may_have_applied(error) else Outcome.FAILED
        errors, warnings = (), ()
    return audit.Answer(
        outcome=outcome,
        http_status=meta.status,
        request_id=meta.request_id or "",
        response={"error": type(error).__name__, "message": str(error), "body": _body(meta)},
        error_codes=errors,
        warning_codes=warnings,
        duration_ms=round(meta.duration_ms),
        customer_id=_id_in(meta.response_body)
        if outcome == Outcome.UNKNOWN and one_member and not entry.customer_id
        else None,
    )


# An id in an answer cut short: `"createdId": 123` or `"id": "123"` before the cut.
_ID_IN_TEXT = re.compile(r'"(?:createdId|entityId|id)"\s*:\s*"?(\d+)')


def _id_in(body: Any) -> int | None:
    """The member id an unreadable answer still shows, so an unknown outcome keeps it."""
    text = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
    found = _ID_IN_TEXT.search(text)
    return int(found.group(1)) if found else None


def _body(meta: CallMeta) -> dict[str, Any]:
    body = meta.response_body
    return body if isinstance(body, dict) else {"body": body}


def _plain(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def _console_fault() -> dict[str, Any]:
    return {"error": "ConsoleFault", "message": "The console failed during the call."}
