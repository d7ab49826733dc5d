"""Member screens: search, the 360 profile, register, and each kind of edit.

One URL, one view, one template: a full page normally, the template's named
partial for htmx requests. Invalid forms re-render with status 200 so htmx
swaps them in. Writes go through `services`; Capillary's answer comes back
through `answers` and the shared `_answer.html` partial.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from pydantic import ValidationError

from customers.capillary import errors as cap
from customers.capillary.schemas import (
    AddCustomerRequest,
    CardDetailsResponse,
    ChangeIdentifierRequest,
    Customer,
    CustomerLookup,
    SearchHit,
    SubscriptionChange,
    UpdateCustomerRequest,
)
from customers.console.permissions import can, requires, signed_in
from customers.console.roles import Capability
from customers.gateway import Catalogue, catalogue, extended_field_specs
from customers.members import answers, display, services
from customers.members.forms import (
    IDENTIFIER_LABELS,
    SUBSCRIPTION_SLOTS,
    CommChannelFormSet,
    EditProfileForm,
    EnrollForm,
    IdentifierForm,
    RegisterForm,
    SearchForm,
    StatusForm,
    SubscriptionsForm,
    typed_mobile,
)
from customers.members.search import candidates, highlight
from customers.models import AuditEntry, FormToken, RegistrationReceipt

REGISTER_FIELD_MAP = {
    "identifiers": "mobile",
    "card": "card_number",
    "registered_on": "mobile",
}
FORM_TOKEN_LIFETIME = timedelta(days=1)
NOTHING_CHANGES = "Capillary will report that nothing changed."
EDIT_FIELD_MAP = {"firstName": "first_name", "lastName": "last_name"}
MAX_CHANNEL_ROWS = 20


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], partial: str = "main"
) -> HttpResponse:
    """The whole page, or for htmx the named partial that the request targets."""
    if getattr(request, "htmx", False) and not request.htmx.boosted:  # type: ignore[attr-defined]
        template = f"{template}#{partial}"
    return render(request, template, context)


def _context(request: HttpRequest) -> tuple[str, str]:
    """The source and account a screen works in, from its query string or form.

    A source the org does not have is refused here with a 400 naming the ones it
    has: sent on, it would fail deep inside the client's schemas.
    """
    source = (request.GET.get("source") or request.POST.get("source") or "INSTORE").upper()
    account_id = request.GET.get("account_id") or request.POST.get("account_id") or ""
    sources = catalogue().sources
    if source not in sources:
        raise BadRequest(
            f"There is no source {source[:40]!r} in this org. Use one of: {', '.join(sources)}."
        )
    return source, account_id


# --- search and profile ---------------------------------------------------------


KIND_WORDS = {
    "mobile": "mobile number",
    "email": "email address",
    "externalId": "external id",
    "cardnumber": "card number",
    "id": "customer id",
}


MATCH_WORDS = {
    "firstName": "First name",
    "lastName": "Last name",
    "mobile": "Mobile",
    "email": "Email",
    "externalId": "External id",
    "cardnumber": "Card",
}
SEARCH_PAGE_SIZE = 10
SUGGESTIONS = 6
# Suggestions start at the second character: one letter matches a good part of any org.
SUGGEST_FROM = 2


@require_GET
@requires(Capability.SEARCH)
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(
        request.GET or None,
        catalogue=catalogue(),
        default_source=settings.CAPILLARY_SOURCE,
        default_account=settings.CAPILLARY_ACCOUNT_ID,
    )
    context: dict[str, Any] = {"form": form, "searched": False}
    if form.is_valid():
        data = form.cleaned_data
        source, account_id = data["source"], data.get("account_id") or ""
        offset = _offset(request)
        context.update(searched=True, source=source, account_id=account_id, query=data["q"])
        try:
            found = services.search_members(
                actor=request.user,
                query=data["q"],
                kind=data.get("kind") or "",
                source=source,
                account_id=account_id,
                limit=SEARCH_PAGE_SIZE,
                offset=offset,
            )
        except cap.CapillaryError as error:
            context["answer"] = answers.failure(error, form, write=False)
        else:
            context["members"] = [_summary(m, source, account_id) for m in found.members]
            context["hits"] = [_hit(h, found.keyword) for h in found.hits]
            context["keyword"] = found.keyword
            context["paging"] = _paging(request, found)
            context["tried"] = found.tried
            if not found.members and not found.hits:
                context["miss"] = _miss(found, data["q"], source, account_id)
            if len(found.members) == 1 and not request.htmx:  # type: ignore[attr-defined]
                return HttpResponseRedirect(context["members"][0]["url"])
    return _page(request, "members/search.html", context, partial="results")


@require_GET
@requires(Capability.SEARCH)
def search_suggest(request: HttpRequest) -> HttpResponse:
    """The first hits while staff type (htmx, into the box's listbox).

    Without JavaScript nobody asks for this: the box's form brings the same list
    as a page, and so does a plain visit here.
    """
    if not request.htmx:  # type: ignore[attr-defined]
        return search(request)
    typed = " ".join(request.GET.get("q", "").split())[:255]
    context: dict[str, Any] = {"query": typed, "hits": [], "searched": False}
    if len(typed) >= SUGGEST_FROM:
        context["searched"] = True
        try:
            found = services.search_members(
                actor=request.user,
                query=typed,
                source=settings.CAPILLARY_SOURCE,
                limit=SUGGESTIONS,
                exact=False,
            )
        except cap.CapillaryError:
            context["unavailable"] = True
        else:
            context["hits"] = [_hit(h, found.keyword) for h in found.hits]
            context["more"] = found.total is not None and found.total > len(found.hits)
            context["complete_kind"] = _complete_kind(typed)
    return render(request, "members/_suggestions.html", context)


# A complete identifier opens its member on Enter: the hint says which kind it reads as.
COMPLETE_KIND_WORDS = {
    "id": "customer id",
    "mobile": "mobile",
    "email": "email",
    "cardnumber": "card number or external id",
    "externalId": "card number or external id",
}


def _complete_kind(typed: str) -> str:
    """The kind of identifier the typed text is read as in full, or "" for a name."""
    found = candidates(typed, services.dialling())
    return COMPLETE_KIND_WORDS.get(found[0].kind, "") if found else ""


def _offset(request: HttpRequest) -> int:
    raw = request.GET.get("offset", "")
    return min(int(raw), 100_000) if raw.isdigit() else 0


def _hit(hit: SearchHit, keyword: str) -> dict[str, Any]:
    """One hit of Capillary's customer search, as the list shows it."""
    named = next((p for p in hit.profiles if p.first_name or p.last_name), None)
    matched = [
        {
            "label": MATCH_WORDS.get(m.id_type, m.id_type),
            "parts": highlight(m.id_value or "", keyword, id_type=m.id_type),
            "where": f"{m.source} ({m.account_id})" if m.account_id else (m.source or ""),
        }
        for m in hit.matched_identifiers
    ]
    # The profile opens in the source where the match was found.
    first = hit.matched_identifiers[0] if hit.matched_identifiers else None
    source = (first.source if first else None) or (hit.profiles[0].source if hit.profiles else "")
    account_id = (first.account_id if first else "") or ""
    where = {"source": source or "ALL", **({"account_id": account_id} if account_id else {})}
    return {
        "id": hit.user_id,
        "name": " ".join(filter(None, [named.first_name, named.last_name])) if named else "",
        "matched": matched,
        "sources": sorted({p.source or "" for p in hit.profiles} - {""}),
        "url": f"{reverse('member', kwargs={'customer_id': hit.user_id})}?{urlencode(where)}",
    }


def _paging(request: HttpRequest, found: services.SearchResult) -> dict[str, Any] | None:
    """Previous/next over Capillary's pages: only what its answer says, nothing counted here."""
    if not found.keyword or not found.hits:
        return None
    shown_to = found.offset + len(found.hits)
    # Capillary's total when it gives one, else a full page means there may be more.
    more = shown_to < found.total if found.total is not None else len(found.hits) == found.limit

    def url(offset: int) -> str:
        query = {k: v for k, v in request.GET.items() if k != "offset"}
        return f"{reverse('search')}?{urlencode({**query, 'offset': offset})}"

    if found.offset == 0 and not more:
        count = len(found.hits)
        summary = f"{count} member{'s' if count != 1 else ''}"
    else:
        summary = f"Members {found.offset + 1}\N{EN DASH}{shown_to}" + (
            f" of {found.total}" if found.total is not None else ""
        )
    return {
        "summary": summary,
        "first": found.offset + 1,
        "last": shown_to,
        "total": found.total,
        "previous": url(max(0, found.offset - found.limit)) if found.offset else None,
        "next": url(shown_to) if more else None,
    }


def _miss(found: services.SearchResult, typed: str, source: str, account_id: str) -> dict[str, Any]:
    """What a search that found nobody says, in staff words, and where to go next."""
    kinds = [KIND_WORDS.get(c.kind, c.kind) for c in found.looked_up]
    values = sorted({c.value for c in found.looked_up})
    where = f"{source} ({account_id})" if account_id else source
    said = []
    if kinds:
        as_what = ", ".join(kinds[:-1]) + (" or " if len(kinds) > 1 else "") + kinds[-1]
        said.append(f"Nobody in {where} has {' / '.join(values)} as their {as_what}.")
    if found.keyword:
        said.append(f"No member's name or identifier starts with “{found.keyword}”, in any source.")
    if not said:
        said.append(f"Nobody in {where} has an identifier that is “{typed.strip()}”.")
    others = []
    for other, accounts in catalogue().sources.items():
        for account in accounts or [""]:
            if (other, account) == (source, account_id):
                continue
            query = urlencode(
                {"q": typed, "source": other, **({"account_id": account} if account else {})}
            )
            others.append(
                {
                    "label": f"{other} ({account})" if account else other,
                    "url": f"{reverse('search')}?{query}",
                }
            )
    return {"said": " ".join(said), "other_sources": others}


def _summary(member: Customer, source: str, account_id: str) -> dict[str, Any]:
    profile = member.profiles[0] if member.profiles else None
    query = f"?source={source}" + (f"&account_id={account_id}" if account_id else "")
    return {
        "id": member.id,
        "name": " ".join(filter(None, [profile.first_name, profile.last_name])) if profile else "",
        "identifiers": [(i.type, i.value) for p in member.profiles for i in p.identifiers],
        "sources": sorted({p.source or "" for p in member.profiles}),
        "loyalty_type": member.loyalty_info.loyalty_type if member.loyalty_info else "",
        "url": reverse("member", kwargs={"customer_id": member.id}) + query,
    }


@require_GET
@requires(Capability.VIEW_PROFILE)
def member(request: HttpRequest, customer_id: int) -> HttpResponse:
    source, account_id = _context(request)
    context: dict[str, Any] = {
        "customer_id": customer_id,
        "source": source,
        "account_id": account_id,
    }
    try:
        found, history = services.open_profile(
            actor=request.user, customer_id=customer_id, source=source, account_id=account_id
        )
    except cap.Rejected as error:
        survivor = _survivor_of(error)
        if survivor:
            context["survivor_url"] = reverse("member", kwargs={"customer_id": survivor})
        context["answer"] = answers.failure(error, write=False)
        return render(
            request,
            "members/member.html",
            context,
            status=404 if isinstance(error, cap.NotFound) else 200,
        )
    except cap.CapillaryError as error:
        context["answer"] = answers.failure(error, write=False)
        return render(request, "members/member.html", context)
    context.update(_profile_context(found, source, account_id))
    if found.id is not None and found.id != customer_id:
        # A merge victim's reads answer with the survivor (8069 / 91009).
        context["survivor_url"] = (
            reverse("member", kwargs={"customer_id": found.id}) + context["query"]
        )
        context["customer_id"] = found.id
    context["history"] = history
    return _page(request, "members/member.html", context)


def _survivor_of(error: cap.Rejected) -> int | None:
    """A merged-away member's answer names the survivor (8069 / 91009)."""
    body = error.meta.response_body if error.meta else None
    if not isinstance(body, dict):
        return None
    for key in ("survivorId", "mergedInto", "survivor"):
        value = str(body.get(key, ""))
        if value.isascii() and value.isdigit():
            return int(body[key])
    for item in body.get("errors", []) + body.get("warnings", []):
        if isinstance(item, dict) and item.get("code") in (8069, 91009):
            digits = "".join(
                ch if ch in "0123456789" else " " for ch in str(item.get("message", ""))
            ).split()
            if digits:
                return int(digits[-1])
    return None


def _profile_context(found: Customer, source: str, account_id: str) -> dict[str, Any]:
    extra = found.model_extra or {}
    subscriptions = (extra.get("subscriptionInfo") or {}).get("subscriptions", [])
    org = catalogue()
    loyalty_type = found.loyalty_info.loyalty_type if found.loyalty_info else ""
    return {
        "member": found,
        "profiles": found.profiles,
        "extended": display.extended_facts(found.extended_fields, extended_field_specs()),
        "programs": [
            _program(p) for p in extra.get("loyaltyProgramDetails") or [] if isinstance(p, dict)
        ],
        "cards": [display.card(c) for c in extra.get("cardDetails") or [] if isinstance(c, dict)],
        "subscription_grid": _subscription_grid(subscriptions),
        "standing": display.standing(found, org),
        "registered_on": display.registered_on(found),
        "loyalty_words": display.LOYALTY_WORDS.get(loyalty_type or "", loyalty_type or ""),
        "member_name": display.name_of(found, source, account_id),
        "query": f"?source={source}" + (f"&account_id={account_id}" if account_id else ""),
    }


def _program(raw: dict[str, Any]) -> dict[str, Any]:
    """One enrollment in the names the template uses; Capillary may leave any key out."""
    return {
        "title": raw.get("programTitle") or f"Program {raw.get('programId', '?')}",
        "tier": raw.get("currentSlab") or "—",
        "next_tier": raw.get("nextSlab") or "",
        "points": raw.get("loyaltyPoints", 0) or 0,
        "lifetime_points": raw.get("lifetimePoints", 0) or 0,
        "tier_expiry": raw.get("slabExpiryDate") or "",
    }


def _subscription_grid(subscriptions: list[dict[str, Any]]) -> list[dict[str, str]]:
    state = {
        (
            ("MOBILE" if s.get("channel") in ("SMS", "MOBILE") else str(s.get("channel"))),
            s.get("priority"),
        ): s.get("type")
        for s in subscriptions
        if isinstance(s, dict)
    }
    return [
        {"name": name, "label": label, "state": state.get((channel, priority), "") or "not set"}
        for name, channel, priority, label in SUBSCRIPTION_SLOTS
    ]


def _current_subscriptions(customer_id: int) -> dict[str, str]:
    grid = _subscription_grid(services.read_subscriptions(customer_id=customer_id))
    return {row["name"]: row["state"] for row in grid if row["state"] in ("OPTIN", "OPTOUT")}


@require_GET
@requires(Capability.VIEW_HISTORY)
def capillary_audit(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Capillary's own audit log of a member (E11), beside the console's history.

    Loaded after the profile (htmx, on load) so opening a profile stays one call.
    """
    context: dict[str, Any] = {"customer_id": customer_id, "query": _query_of(request)}
    try:
        log = services.read_capillary_audit_log(customer_id=customer_id, limit=20)
    except cap.CapillaryError as error:
        context["answer"] = answers.failure(error, write=False)
    else:
        context["rows"] = [_audit_row(row) for row in log]
    return _page(request, "members/capillary_audit.html", context, partial="log")


@require_GET
@requires(Capability.VIEW_PROFILE)
def card(request: HttpRequest, customer_id: int) -> HttpResponse:
    """One card as Capillary holds it now, for "my card doesn't work" calls.

    The profile's card panel loads it in place (htmx); without JavaScript the same
    link opens this page.
    """
    number = request.GET.get("number", "").strip()
    context: dict[str, Any] = {
        "customer_id": customer_id,
        "query": _query_of(request),
        "number": number,
    }
    if not number:
        context["missing"] = "No card number was given: open the card from the member's profile."
        return _page(request, "members/card.html", context, partial="details")
    try:
        found = services.read_card(number=number)
    except cap.Rejected as error:
        if any(e.code == CARD_NOT_FOUND for e in error.errors):
            context["missing"] = f"Capillary has no card numbered {number}."
        else:
            context["answer"] = answers.failure(error, write=False)
    except cap.CapillaryError as error:
        context["answer"] = answers.failure(error, write=False)
    else:
        context["card"] = _card_details(found, customer_id)
    return _page(request, "members/card.html", context, partial="details")


# Capillary's "card number does not exist" (S9).
CARD_NOT_FOUND = 3010


def _card_details(found: CardDetailsResponse, customer_id: int) -> dict[str, Any]:
    info = found.status_info
    expires = (found.expiry_date or "")[:10]
    return {
        "number": found.card_number,
        "series": found.series_name or found.series_code or "",
        "series_code": found.series_code or "",
        "kind": (found.type or "").lower(),
        "label": (info.label if info else None) or "",
        "status": (info.status if info else None) or "",
        "status_since": ((info.created_on if info else None) or "")[:10],
        "reason": (info.reason if info else None) or "",
        "holder": found.customer_id if found.customer_id and found.customer_id > 0 else None,
        "held_by_this_member": found.customer_id == customer_id,
        "issued": (found.issued_date or "")[:10],
        "expires": expires,
        "expired": bool(expires) and expires < timezone.now().date().isoformat(),
        "transactions_allowed": found.transaction_not_allowed is False,
    }


def _query_of(request: HttpRequest) -> str:
    source, account_id = _context(request)
    return f"?source={source}" + (f"&account_id={account_id}" if account_id else "")


def _shown(value: object) -> str:
    return "—" if value in (None, "") else str(value)


def _audit_row(row: Any) -> dict[str, Any]:
    who = row.user_context_details
    changes = []
    for event in row.events or []:
        extra = event.additional_fields or {}
        before, after = extra.get("previousValue"), extra.get("currentValue")
        change = f"{event.event_type or event.updated_field or 'change'}"
        if before is not None or after is not None:
            change += f": {_shown(before)} → {_shown(after)}"
        changes.append(change)
    return {
        "when": datetime.fromtimestamp(row.created_on / 1000, tz=UTC) if row.created_on else None,
        "who": (who.entity_source_id or who.entity_id) if who else "",
        "via": (who.entity_source if who else "") or row.updated_by_mode or "",
        "request_id": row.request_id or "",
        "changes": changes,
    }


# --- register -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Capability.REGISTER)
def register(request: HttpRequest) -> HttpResponse:
    specs = extended_field_specs()
    org = catalogue()
    if _wants_tiers(request):
        form = RegisterForm(request.GET, catalogue=org, extended_fields=specs)
        return render(request, "members/enroll.html#tier", {"form": form})
    if request.method == "GET":
        form = RegisterForm(
            initial={"form_token": uuid.uuid4().hex, "source": "INSTORE"},
            catalogue=org,
            extended_fields=specs,
        )
        return _page(request, "members/register.html", {"form": form}, partial="form")
    form = RegisterForm(request.POST, catalogue=org, extended_fields=specs)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return _page(request, "members/register.html", context, partial="form")
    try:
        payload = AddCustomerRequest.model_validate(form.to_request())
    except ValidationError as invalid:
        answers.validation_failure(
            invalid,
            form,
            {
                "mobile": "mobile",
                "email": "email",
                "firstName": "first_name",
                "lastName": "last_name",
                "externalId": "external_id",
            },
        )
        return _page(request, "members/register.html", context, partial="form")
    token = form.cleaned_data["form_token"]
    try:
        with transaction.atomic():
            # A form sent twice is sent within minutes; a day's tokens are plenty to keep.
            FormToken.objects.filter(created_at__lt=timezone.now() - FORM_TOKEN_LIFETIME).delete()
            claim = FormToken.objects.create(token=token)
    except IntegrityError:
        return _repeated_submit(request, token)
    try:
        result = services.register_member(actor=request.user, request=payload)
    except cap.CapillaryError as error:
        # A refused registration may be corrected and sent again with the same form.
        # After an unknown outcome the token stays taken: a resend must not register twice.
        if not cap.write_may_have_applied(error):
            FormToken.objects.filter(pk=claim.pk).delete()
        # Look the holder up before the error is mapped: add_error drops the field
        # (e.g. mobile) from cleaned_data, and the lookup needs its value.
        existing = _existing_for(form) if isinstance(error, cap.Rejected) else None
        context["answer"] = answers.failure(error, form, field_map=REGISTER_FIELD_MAP)
        context["existing"] = existing
        return _page(request, "members/register.html", context, partial="form")
    FormToken.objects.filter(pk=claim.pk).update(entry=result.entry)
    return _redirect(request, _receipt_url(result.entry))


def _repeated_submit(request: HttpRequest, token: str) -> HttpResponse:
    claim = FormToken.objects.filter(token=token).first()
    if claim and claim.entry_id:
        messages.info(request, "This registration was already sent; here is its receipt.")
        return _redirect(request, _receipt_url(claim.entry))
    messages.warning(
        request,
        "This registration is already being sent, or its outcome is unknown. "
        "Search for the member before registering again.",
    )
    return _redirect(request, reverse("search"))


def _existing_for(form: RegisterForm) -> dict[str, Any] | None:
    data = form.cleaned_data
    for name, wire in (("mobile", "mobile"), ("email", "email"), ("external_id", "externalId")):
        if data.get(name):
            found = services.existing_member_id(
                identifier_name=wire,
                value=data[name],
                source=data["source"],
                account_id=data.get("account_id") or "",
            )
            if found:
                return {
                    "id": found,
                    "field": name,
                    "url": reverse("member", kwargs={"customer_id": found}),
                }
    return None


@require_GET
@requires(Capability.REGISTER)
def register_check(request: HttpRequest) -> HttpResponse:
    """While a mobile or email is typed: does a member hold it already?"""
    source, account_id = _context(request)
    hits = []
    for name, wire in (("mobile", "mobile"), ("email", "email")):
        value = request.GET.get(name, "").strip()
        if name == "mobile":
            value = typed_mobile(value)
        if len(value) >= 6:
            found = services.existing_member_id(
                identifier_name=wire, value=value, source=source, account_id=account_id
            )
            if found:
                hits.append(
                    {
                        "field": name,
                        "value": value,
                        "id": found,
                        "url": reverse("member", kwargs={"customer_id": found}),
                    }
                )
    return render(request, "members/register.html#duplicates", {"duplicates": hits})


def _receipt_url(entry: AuditEntry | None) -> str:
    if entry is None:
        return reverse("search")
    token = services.receipt_token(entry)
    return reverse("register_receipt", kwargs={"token": token})


@require_GET
@signed_in
def register_receipt(request: HttpRequest, token: str) -> HttpResponse:
    """A receipt is for the staff member who registered, and for roles that view history.

    Its URL carries a random token, not the entry's number, so receipts cannot be
    walked; anyone else gets the 403 page even with the link.
    """
    receipt = get_object_or_404(RegistrationReceipt.objects.select_related("entry"), token=token)
    entry = receipt.entry
    if entry.actor_id != request.user.pk and not can(request.user, Capability.VIEW_HISTORY):
        raise PermissionDenied("This receipt is for the staff member who registered.")
    return render(request, "members/receipt.html", _receipt_context(entry))


def _receipt_context(entry: AuditEntry) -> dict[str, Any]:
    """The receipt: the member as registered, each thing earned labelled, who registered."""
    answer = answers.from_entry(entry)
    referrers = {
        str(effect.get("customerId"))
        for effect in entry.side_effects or []
        if isinstance(effect, dict) and effect.get("isReferrer") and effect.get("customerId")
    }
    names = {
        referrer: services.member_name(customer_id=int(referrer))
        for referrer in referrers
        if referrer.isdigit()
    }
    return {
        "entry": entry,
        "answer": answer,
        "receipt": display.receipt(entry, catalogue(), names),
    }


# --- edits on one member -----------------------------------------------------------


MemberView = Callable[[HttpRequest, Customer, str, str], HttpResponse]


def member_screen(capability: Capability) -> Callable[[MemberView], Callable[..., HttpResponse]]:
    """A screen about one member: the member is loaded (or the failure shown) first.

    The view receives the member as Capillary holds it now, with the source and
    account the screen works in; that same load is the audit's before snapshot.
    """

    def decorate(view: MemberView) -> Callable[..., HttpResponse]:
        @require_http_methods(["GET", "POST"])
        @requires(capability)
        @wraps(view)
        def wrapper(request: HttpRequest, customer_id: int) -> HttpResponse:
            source, account_id = _context(request)
            try:
                found = services.load_member(
                    customer_id=customer_id, source=source, account_id=account_id
                )
            except cap.NotFound:
                raise Http404("No such member") from None
            except cap.CapillaryError as error:
                context = {
                    "customer_id": customer_id,
                    "source": source,
                    "account_id": account_id,
                    "answer": answers.failure(error, write=False),
                }
                return render(request, "members/member.html", context)
            return view(request, found, source, account_id)

        return wrapper

    return decorate


def _edit_context(found: Customer, source: str, account_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "member": found,
        "customer_id": found.id,
        "source": source,
        "account_id": account_id,
        "member_name": display.name_of(found, source, account_id),
        "standing": display.standing(found, catalogue()),
        "query": f"?source={source}" + (f"&account_id={account_id}" if account_id else ""),
        **extra,
    }


def _member_after(
    result: services.WriteResult, found: Customer, source: str, account_id: str
) -> Customer:
    """The member as Capillary holds it after a write, for the screen that answers it.

    Read again after the write, in the screen's source, so lists and names are
    not one step behind; the audit's after snapshot when that read fails, and the
    member as loaded before only when neither is there.
    """
    try:
        return services.load_member(
            customer_id=result.customer_id or found.id or 0, source=source, account_id=account_id
        )
    except cap.CapillaryError:
        pass
    after = result.entry.after
    if isinstance(after, dict):
        try:
            return Customer.model_validate(after)
        except ValidationError:
            pass
    return found


def _profile_of(found: Customer, source: str, account_id: str) -> Any:
    for profile in found.profiles:
        if (profile.source or "").upper() == source and (profile.account_id or "") == account_id:
            return profile
    return found.profiles[0] if found.profiles else None


@member_screen(Capability.EDIT_PROFILE)
def edit_profile(
    request: HttpRequest, found: Customer, source: str, account_id: str
) -> HttpResponse:
    customer_id = found.id or 0
    profile = _profile_of(found, source, account_id)
    is_loyalty = bool(found.loyalty_info and found.loyalty_info.loyalty_type == "loyalty")
    specs = extended_field_specs()
    org = catalogue()
    if request.method == "GET":
        initial = {
            "first_name": profile.first_name if profile else "",
            "last_name": profile.last_name if profile else "",
            **{f"ext_{k}": v for k, v in found.extended_fields.items()},
            **{f"field_{k}": v for k, v in (profile.fields if profile else {}).items()},
        }
        form = EditProfileForm(
            initial=initial, catalogue=org, extended_fields=specs, is_loyalty=is_loyalty
        )
        channels = CommChannelFormSet(
            prefix="channels",
            initial=[
                {
                    "type": c.type,
                    "value": c.value,
                    "primary": bool(c.primary),
                    "verified": bool(c.verified),
                }
                for c in (profile.comm_channels if profile else [])
            ],
        )
        return _page(
            request,
            "members/edit.html",
            _edit_context(found, source, account_id, form=form, channels=channels),
            partial="form",
        )
    if "add_channel" in request.POST:
        return _with_one_more_channel(request, found, source, account_id, is_loyalty=is_loyalty)
    form = EditProfileForm(
        request.POST, catalogue=org, extended_fields=specs, is_loyalty=is_loyalty
    )
    channels = CommChannelFormSet(request.POST, prefix="channels")
    context = _edit_context(found, source, account_id, form=form, channels=channels)
    if not (form.is_valid() and channels.is_valid()):
        return _page(request, "members/edit.html", context, partial="form")
    kept = [
        {"type": c["type"], "value": c["value"], "primary": c["primary"], "verified": c["verified"]}
        for c in channels.cleaned_data
        if c and not c.get("DELETE")
    ]
    try:
        changes = UpdateCustomerRequest.model_validate(form.to_request(kept, source, account_id))
    except ValidationError as invalid:
        answers.validation_failure(invalid, form, EDIT_FIELD_MAP)
        return _page(request, "members/edit.html", context, partial="form")
    try:
        result = services.update_profile(
            actor=request.user,
            customer_id=customer_id,
            source=source,
            account_id=account_id,
            changes=changes,
            reason=form.cleaned_data["reason"],
            use_async=form.cleaned_data.get("use_async", False),
        )
    except cap.CapillaryError as error:
        context["answer"] = answers.failure(error, form, field_map=EDIT_FIELD_MAP)
        return _page(request, "members/edit.html", context, partial="form")
    context["answer"] = answers.success(result)
    now = _member_after(result, found, source, account_id)
    context.update(
        member=now,
        member_name=display.name_of(now, source, account_id),
        standing=display.standing(now, org),
    )
    if getattr(request, "htmx", False):
        # The form in the page already shows what was saved: send only the answer
        # (rendering 40 inputs again would cost more than the console's own work),
        # and the header's name as Capillary now holds it.
        context["refresh_subtitle"] = True
        response = render(request, "members/edit.html#saved", context)
        response["HX-Retarget"] = "#edit-answer"
        response["HX-Reswap"] = "innerHTML"
        return response
    return _page(request, "members/edit.html", context, partial="form")


def _with_one_more_channel(
    request: HttpRequest, found: Customer, source: str, account_id: str, *, is_loyalty: bool
) -> HttpResponse:
    """ "Add a channel" without JavaScript: the form as typed, with one empty row more.

    Nothing is saved and nothing typed is lost; the new row is optional until filled.
    """
    data = request.POST.copy()
    raw_total = str(data.get("channels-TOTAL_FORMS") or "0")
    total = int(raw_total) if raw_total.isdigit() else 0
    data["channels-TOTAL_FORMS"] = str(min(total + 1, MAX_CHANNEL_ROWS))
    channels = CommChannelFormSet(data, prefix="channels")
    form = EditProfileForm(
        initial={key: data.get(key) for key in data if not key.startswith("channels-")},
        catalogue=catalogue(),
        extended_fields=extended_field_specs(),
        is_loyalty=is_loyalty,
    )
    context = _edit_context(
        found, source, account_id, form=form, channels=channels, focus_row=min(total, 19)
    )
    return _page(request, "members/edit.html", context, partial="form")


@require_GET
@requires(Capability.EDIT_PROFILE)
def channel_row(request: HttpRequest, customer_id: int) -> HttpResponse:
    """One more empty comm-channel row for the edit form (htmx)."""
    try:
        index = max(0, min(int(request.GET.get("index", "0")), 19))
    except ValueError:
        index = 0
    form = CommChannelFormSet(prefix="channels").empty_form
    form.prefix = f"channels-{index}"
    return render(request, "members/edit.html#channel_row", {"row": form, "index": index})


@member_screen(Capability.ENROLL)
def enroll(request: HttpRequest, found: Customer, source: str, account_id: str) -> HttpResponse:
    customer_id = found.id or 0
    org = catalogue()
    if _wants_tiers(request):
        form = EnrollForm(request.GET, catalogue=org)
        return render(
            request,
            "members/enroll.html#tier",
            {"form": form, "customer_id": customer_id, "query": _query_of(request)},
        )
    form = EnrollForm(request.POST or None, catalogue=org, enrolled=_enrolled_in(found))
    context = _edit_context(found, source, account_id, form=form)
    if request.method == "POST" and form.is_valid():
        body: dict[str, Any] = {
            "profiles": [{"source": source, **({"accountId": account_id} if account_id else {})}],
            "loyaltyProgramEnrollments": [form.enrollment(form.cleaned_data)],
        }
        if not (found.loyalty_info and found.loyalty_info.loyalty_type == "loyalty"):
            body["loyaltyInfo"] = {"loyaltyType": "loyalty"}
        try:
            result = services.enroll_member(
                actor=request.user,
                customer_id=customer_id,
                source=source,
                account_id=account_id,
                changes=UpdateCustomerRequest.model_validate(body),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as invalid:
            answers.validation_failure(
                invalid,
                form,
                {"tierExpiryDate": "tier_expiry", "pointsExpiryDate": "points_expiry"},
            )
        except cap.CapillaryError as error:
            answer = answers.failure(error, form, field_map={"loyalty_type": "program"})
            context["answer"] = _with_names(answer, form, org, form.cleaned_data.get("program"))
        else:
            context["answer"] = answers.success(result)
            after = _member_after(result, found, source, account_id)
            context.update(
                _edit_context(
                    after,
                    source,
                    account_id,
                    form=EnrollForm(catalogue=org, enrolled=_enrolled_in(after)),
                )
            )
    return _page(request, "members/enroll.html", context, partial="form")


def _enrolled_in(found: Customer) -> set[str]:
    """The ids of the programs the member is enrolled in, as Capillary lists them."""
    details = (found.model_extra or {}).get("loyaltyProgramDetails") or []
    return {
        str(item["programId"])
        for item in details
        if isinstance(item, dict) and item.get("programId") is not None
    }


def _wants_tiers(request: HttpRequest) -> bool:
    """The tier list asked again after the program changed (htmx)."""
    htmx = getattr(request, "htmx", None)
    return bool(request.method == "GET" and htmx and htmx.target == "tier-field")


def _with_names(answer: answers.Answer, form: Any, org: Any, program_id: Any) -> answers.Answer:
    """Capillary's words about "program 699" and "tier 2", with the names staff know."""
    answer.errors = [
        answers.CodeLine(
            line.code,
            display.named(line.words, org, program_id),
            display.named(line.message, org, program_id),
        )
        for line in answer.errors
    ]
    for field_errors in form.errors.values():
        field_errors[:] = [display.named(str(e), org, program_id) for e in field_errors]
    return answer


@member_screen(Capability.CHANGE_IDENTIFIERS)
def identifiers(
    request: HttpRequest, found: Customer, source: str, account_id: str
) -> HttpResponse:
    customer_id = found.id or 0
    org = catalogue()
    form = IdentifierForm(request.POST or None, catalogue=org, initial={"operation": "add"})
    context = _edit_context(found, source, account_id, form=form)
    if request.method != "POST" or not form.is_valid():
        return _page(request, "members/identifiers.html", context, partial="form")
    data = form.cleaned_data
    if not data.get("confirmed"):
        context["consequence"] = _consequence(found, data, source, account_id)
        return _page(request, "members/identifiers.html", context, partial="form")
    try:
        change = ChangeIdentifierRequest.model_validate(form.to_request())
        result = services.change_identifiers(
            actor=request.user,
            customer_id=customer_id,
            source=source,
            account_id=account_id,
            change=change,
            reason=data["reason"],
        )
    except ValidationError as invalid:
        answers.validation_failure(invalid, form, {"value": "value"})
    except cap.CapillaryError as error:
        context["answer"] = answers.failure(
            error,
            form,
            field_map={
                "identifiers": "value",
                "mobile": "value",
                "email": "value",
                "external_id": "value",
                "card": "value",
            },
        )
    else:
        context["answer"] = answers.success(result)
        if result.customer_id and result.customer_id != customer_id:
            context["merged_into"] = result.customer_id
        else:
            # The lists below show the member as Capillary holds it now, and the
            # form is empty again for the next change.
            context.update(
                _edit_context(
                    _member_after(result, found, source, account_id),
                    source,
                    account_id,
                    form=IdentifierForm(catalogue=org, initial={"operation": "add"}),
                )
            )
    return _page(request, "members/identifiers.html", context, partial="form")


# Identifiers a profile holds one of: adding another replaces it (Capillary's E7).
SINGLE_VALUED = ("mobile", "email", "externalId")


def _consequence(
    found: Customer, data: dict[str, Any], source: str, account_id: str
) -> dict[str, Any]:
    """What the change will do, in words, before it is sent.

    `refused` when the console already knows Capillary will say no: then no
    "Yes" is offered, and `holder_url` leads to the member in the way.
    """
    kind, value, operation = data["type"], data["value"], data["operation"]
    label = IDENTIFIER_LABELS.get(kind, kind)
    held = {(i.type.lower(), i.value) for p in found.profiles for i in p.identifiers}

    def says(text: str, **more: Any) -> dict[str, Any]:
        return {"text": text, "refused": False, "holder_url": "", **more}

    if operation == "remove":
        if (kind.lower(), value) not in held:
            return says(f"This member has no {label.lower()} {value}; {NOTHING_CHANGES}")
        if kind == "cardnumber":
            return says(
                f"Card {value} will be delinked from member {found.id} and set to NOT_ISSUED."
            )
        return says(
            f"{label} {value} will be removed from member {found.id}. "
            "They can no longer be found by it."
        )
    if (kind.lower(), value) in held:
        return says(f"Member {found.id} already has {label.lower()} {value}; {NOTHING_CHANGES}")
    if kind != "cardnumber":
        same_source = services.existing_member_id(
            identifier_name=kind, value=value, source=source, account_id=account_id
        )
        if same_source and same_source != found.id:
            return says(
                f"{label} {value} already belongs to member {same_source} in {source}, so "
                "Capillary will refuse this change (code 8008). Change that member first.",
                refused=True,
                holder_url=reverse("member", kwargs={"customer_id": same_source})
                + f"?source={source}"
                + (f"&account_id={account_id}" if account_id else ""),
                holder=same_source,
            )
        anywhere = services.existing_member_id(identifier_name=kind, value=value, source="ALL")
        if anywhere and anywhere != found.id:
            return says(
                f"{label} {value} belongs to member {anywhere} in another source. Adding it "
                f"MERGES member {found.id} into member {anywhere}: {found.id} stops existing "
                f"on its own and its reads point to {anywhere}. This cannot be undone here."
            )
    if kind == "cardnumber":
        return says(f"Card {value} will be linked to member {found.id} with status ACTIVE.")
    profile = _profile_of(found, source, account_id)
    current = [
        i.value for i in (profile.identifiers if profile else []) if i.type == kind and i.value
    ]
    if kind in SINGLE_VALUED and current:
        return says(
            f"This replaces {label.lower()} {current[0]} with {value} on member {found.id} "
            f"in {source}: the member can no longer be found by {current[0]}."
        )
    return says(f"{label} {value} will be added to member {found.id} in {source}.")


@member_screen(Capability.CHANGE_SUBSCRIPTIONS)
def subscriptions(
    request: HttpRequest, found: Customer, source: str, account_id: str
) -> HttpResponse:
    customer_id = found.id or 0
    try:
        current = _current_subscriptions(customer_id)
    except cap.CapillaryError as error:
        return render(
            request,
            "members/subscriptions.html",
            _edit_context(found, source, account_id, answer=answers.failure(error, write=False)),
        )
    form = SubscriptionsForm(request.POST or None, current=current)
    context = _edit_context(found, source, account_id, form=form)
    if request.method == "POST" and form.is_valid():
        changed = form.changed_subscriptions(current, source, account_id)
        if not changed:
            form.add_error(None, "Nothing to change: every choice matches what Capillary holds.")
        else:
            try:
                change = SubscriptionChange.model_validate(
                    {"subscriptions": changed, "reason": form.cleaned_data["reason"]}
                )
                result = services.change_subscriptions(
                    actor=request.user,
                    customer_id=customer_id,
                    change=change,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as invalid:
                answers.validation_failure(invalid, form, {})
            except cap.CapillaryError as error:
                context["answer"] = answers.failure(error, form)
            else:
                context["answer"] = answers.success(result)
                context["form"] = SubscriptionsForm(current=_current_subscriptions(customer_id))
    return _page(request, "members/subscriptions.html", context, partial="form")


@member_screen(Capability.CHANGE_STATUS)
def status(request: HttpRequest, found: Customer, source: str, account_id: str) -> HttpResponse:
    customer_id = found.id or 0
    org = catalogue()
    form = _status_form(found, org, request.POST or None)
    context = _edit_context(found, source, account_id, form=form)
    if request.method == "POST" and form.is_valid():
        label = form.cleaned_data["label"]
        lookup = _lookup_for(found, source, account_id)
        if org.status_of(label) == "DELETED" and request.POST.get("delete_member") != str(
            customer_id
        ):
            # Deleting cannot be undone: a second, explicit step that names the member.
            context["confirm_delete"] = {"label": label, "name": context["member_name"]}
        elif lookup is None:
            form.add_error(
                None,
                "This member has no mobile, email or external id in this source "
                "to address the change by.",
            )
        else:
            try:
                result = services.change_status(
                    actor=request.user,
                    customer_id=customer_id,
                    lookup=lookup,
                    label=label,
                    reason=form.cleaned_data["reason"],
                )
            except cap.CapillaryError as error:
                context["answer"] = answers.failure(
                    error, form, field_map={"status_label": "label"}
                )
            else:
                context["answer"] = answers.success(result)
                after = _member_after(result, found, source, account_id)
                context.update(
                    _edit_context(after, source, account_id, form=_status_form(after, org))
                )
    context["status_log"] = _status_log(customer_id)
    return _page(request, "members/status.html", context, partial="form")


def _status_form(found: Customer, org: Catalogue, data: Any = None) -> StatusForm:
    """The form starts at the member's current label: pressing Change status without
    picking one must not quietly set another (it once started at the first, Active)."""
    current = display.standing(found, org)["label"]
    choices = {item["label"] for item in org.status_labels}
    initial = {"label": current} if current in choices else None
    return StatusForm(data, catalogue=org, initial=initial)


def _status_log(customer_id: int) -> dict[str, Any]:
    """Capillary's status log (E9), newest first; its failure is said, not raised."""
    try:
        rows = services.read_status_log(customer_id=customer_id)
    except cap.CapillaryError as error:
        return {"rows": [], "failure": answers.banner_for(error, write=False)}
    return {"rows": rows, "failure": ""}


def _lookup_for(found: Customer, source: str, account_id: str) -> CustomerLookup | None:
    """Status changes address members by identifier (E9 has no by-id form)."""
    profile = _profile_of(found, source, account_id)
    if profile is None:
        return None
    for kind in ("mobile", "email", "externalId"):
        for identifier in profile.identifiers:
            if identifier.type == kind and identifier.value:
                return CustomerLookup(
                    source=profile.source or source,
                    account_id=(profile.account_id or None),
                    identifier_name=kind,
                    identifier_value=identifier.value,
                )
    return None


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
