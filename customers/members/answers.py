"""Capillary's answer, as every screen shows it: one shape, one partial (_answer.html).

Errors with a form field in the code catalogue go onto that field; the rest are
listed at the top with code and message; transport failures become a banner
that says what is known about the write.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from pydantic import ValidationError

from customers.capillary import errors as cap
from customers.capillary.errors import ApiCode, describe
from customers.capillary.schemas import field_errors
from customers.members import display
from customers.models import AuditEntry

if TYPE_CHECKING:
    from customers.members.services import RowResult, WriteResult


@dataclass(frozen=True)
class CodeLine:
    code: int
    words: str
    message: str

    @property
    def text(self) -> str:
        extra = f" Capillary said: “{self.message}”." if self.message else ""
        return f"{self.words} (code {self.code}).{extra}"


@dataclass
class Answer:
    """What to show under a form after a write."""

    ok: bool = False
    banner: str = ""
    banner_kind: str = "bad"
    errors: list[CodeLine] = field(default_factory=list)
    warnings: list[CodeLine] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)
    customer_id: int | str | None = None
    entry_id: int | None = None
    existing_member_id: int | None = None
    # False for a read's failure: it is worded as a read, not as a refused change.
    write: bool = True


def lines(codes: Iterable[ApiCode]) -> list[CodeLine]:
    return [CodeLine(c.code, describe(c.code).words, c.message) for c in codes]


def describe_effect(effect: Mapping[str, Any]) -> str:
    """A side effect in plain words, from its wire form."""
    kind = effect.get("type")
    if kind == "points":
        points = effect.get("awardedPoints", effect.get("rawAwardedPoints"))
        if effect.get("isReferrer"):
            referrer = effect.get("customerId")
            return f"{points} referral points awarded to the referrer (customer {referrer})."
        return f"{points} points awarded."
    if kind == "coupon":
        code = effect.get("couponCode") or effect.get("trimmedCouponCode") or "(no code)"
        words = f"Coupon {code} issued"
        if effect.get("description"):
            words += f": {effect['description']}"
        if effect.get("validTill"):
            words += f", valid until {str(effect['validTill'])[:10]}"
        return words + "."
    if kind == "alternate_currency":
        return f"{display.currency_text(effect)} awarded."
    details = ", ".join(f"{k}={v}" for k, v in effect.items() if k != "type")
    return f"Capillary reported a side effect of type {kind or 'unknown'}: {details}."


def from_entry(entry: AuditEntry) -> Answer:
    """Rebuild the answer of a finished write from its audit entry (receipts survive reloads)."""
    response = entry.response or {}
    warnings = [
        ApiCode.model_validate(w) for w in response.get("warnings", []) if isinstance(w, dict)
    ]
    return Answer(
        ok=entry.outcome in (AuditEntry.Outcome.OK, AuditEntry.Outcome.OK_WITH_WARNINGS),
        warnings=lines(warnings),
        side_effects=[describe_effect(e) for e in entry.side_effects or [] if isinstance(e, dict)],
        customer_id=entry.customer_id,
        entry_id=entry.pk,
    )


def success(result: "WriteResult | RowResult") -> Answer:
    """A write Capillary accepted; bulk rows carry no side effects of their own."""
    effects = getattr(result, "side_effects", [])
    return Answer(
        ok=True,
        warnings=lines(result.warnings),
        side_effects=[
            describe_effect(e.model_dump(mode="json", by_alias=True, exclude_none=True))
            for e in effects
        ],
        customer_id=result.customer_id,
        entry_id=result.entry.pk,
    )


def failure(
    error: cap.CapillaryError,
    form: forms.BaseForm | None = None,
    *,
    field_map: Mapping[str, str] | None = None,
    write: bool = True,
) -> Answer:
    """Place a failure: codes on form fields where the catalogue says, the rest on top."""
    answer = Answer(write=write)
    if isinstance(error, cap.Rejected):
        answer.warnings = lines(error.warnings)
        for code in error.errors:
            line = CodeLine(code.code, describe(code.code).words, code.message)
            target = _form_field(form, describe(code.code).field, field_map)
            if form is not None and target:
                form.add_error(target, line.text)
            else:
                answer.errors.append(line)
        if not answer.errors and form is None:
            answer.errors = lines(error.errors)
        if isinstance(error, cap.NotFound):
            answer.banner = (
                "Capillary has no such member. Nothing was changed."
                if write
                else "Capillary has no such member."
            )
        return answer
    answer.banner = banner_for(error, write=write)
    answer.banner_kind = "warn" if write and cap.write_may_have_applied(error) else "bad"
    return answer


def banner_for(error: cap.CapillaryError, *, write: bool) -> str:
    nothing = " Nothing was changed." if write else ""
    if isinstance(error, cap.Unavailable):
        if error.outcome_unknown and write:
            return (
                "Capillary did not answer in time, so the outcome is unknown: the change may "
                "have been applied. Check the profile before trying again."
            )
        return f"Capillary did not answer.{nothing} Try again in a moment."
    if isinstance(error, cap.RateLimited):
        seconds = int(error.retry_after or 0) + 1
        wait = (
            f" in {seconds} second{'s' if seconds != 1 else ''}"
            if error.retry_after
            else " shortly"
        )
        return f"Capillary's rate limit for the org is used up.{nothing} Try again{wait}."
    if isinstance(error, cap.AuthFailed):
        return (
            f"Capillary refused the console's credentials.{nothing} "
            "Tell an administrator: the Capillary settings need attention."
        )
    if write and cap.write_may_have_applied(error):
        return (
            "Capillary accepted the request but its answer could not be read, so the outcome "
            "is unknown: the change was probably applied. Check the profile before trying again."
        )
    return "Capillary's answer could not be read by the console. " + (
        "Check the profile to see whether the change was applied." if write else "Try again."
    )


def validation_failure(
    error: ValidationError, form: forms.BaseForm, field_map: Mapping[str, str]
) -> None:
    """Put the client's pre-send validation errors on the fields they concern."""
    for path, message in field_errors(error).items():
        target = next((form_field for wire, form_field in field_map.items() if wire in path), None)
        if target and target in form.fields:
            form.add_error(target, message)
        else:
            form.add_error(None, f"{path}: {message}")


def _form_field(
    form: forms.BaseForm | None, catalogue_field: str | None, field_map: Mapping[str, str] | None
) -> str | None:
    if form is None or not catalogue_field:
        return None
    name = (field_map or {}).get(catalogue_field, catalogue_field)
    return name if name in form.fields else None
