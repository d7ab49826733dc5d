"""What a Capillary call did, the error tree, and the catalogue of Capillary's codes.

Every error carries the `CallMeta` of the call that failed (as far as it got),
so the audit trail records a failure exactly like a success. The tree is shaped
by what a caller does next:

- `Unavailable`: try again later; `outcome_unknown` says whether a write may
  have been applied anyway (look the customer up before repeating it).
- `RateLimited`: the org's quota is used up; `retry_after` seconds, when known.
- `AuthFailed`: the console's credentials or access group; not the user's fault.
- `Rejected`: Capillary refused the request; `errors`/`warnings` carry codes that
  `describe()` turns into plain words and a form field. `NotFound` is the
  rejection whose codes all say "no such customer".
- `IntegrationError`: a body we cannot read or that does not fit the models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

Kind = Literal["error", "warning", "both"]


@dataclass(frozen=True, slots=True)
class CallMeta:
    """One HTTP exchange with Capillary as the audit trail stores it; never holds secrets.

    `path` is the real path, `endpoint` the templated key ("PUT /v2/customers/{userId}")
    that the rate limiter and the logs use. Bodies are redacted copies; a body that
    is not JSON is kept as (truncated) text.
    """

    method: str
    path: str
    endpoint: str
    query: dict[str, str] = field(default_factory=dict)
    request_body: Any = None
    status: int | None = None
    request_id: str | None = None
    response_body: Any = None
    duration_ms: float = 0.0
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _none_to_empty(value: object) -> object:
    return "" if value is None else value


class ApiCode(BaseModel):
    """One entry of Capillary's `errors` or `warnings` lists: `{status, code, message}`."""

    model_config = ConfigDict(extra="allow")

    code: int
    message: Annotated[str, BeforeValidator(_none_to_empty)] = ""
    status: bool | None = None

    @property
    def info(self) -> CodeInfo:
        return describe(self.code)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What a code means to support staff and which form field it points at."""

    code: int
    kind: Kind
    words: str
    field: str | None


class CapillaryError(Exception):
    """Base of every error the client raises about a call."""

    def __init__(self, message: str, *, meta: CallMeta | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.meta = meta


class Unavailable(CapillaryError):
    """Timeout, connection failure or 5xx. `outcome_unknown`: a write may have been applied."""

    def __init__(
        self, message: str, *, outcome_unknown: bool = False, meta: CallMeta | None = None
    ) -> None:
        super().__init__(message, meta=meta)
        self.outcome_unknown = outcome_unknown


class RateLimited(CapillaryError):
    """Quota exhausted (HTTP 429 or our own limiter); `retry_after` in seconds when known."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, meta: CallMeta | None = None
    ) -> None:
        super().__init__(message, meta=meta)
        self.retry_after = retry_after


class AuthFailed(CapillaryError):
    """Credentials refused, token expired twice, or the access group lacks this API."""


class Rejected(CapillaryError):
    """Capillary answered and refused: the body carried `errors` (codes for `describe`)."""

    def __init__(
        self,
        message: str,
        *,
        errors: list[ApiCode] | None = None,
        warnings: list[ApiCode] | None = None,
        meta: CallMeta | None = None,
    ) -> None:
        super().__init__(message, meta=meta)
        self.errors = errors or []
        self.warnings = warnings or []

    def field_errors(self) -> dict[str, list[str]]:
        """Plain words grouped by the form field they concern (`""` when none)."""
        grouped: dict[str, list[str]] = {}
        for error in self.errors:
            info = error.info
            grouped.setdefault(info.field or "", []).append(f"{info.words} ({error.code})")
        return grouped


class NotFound(Rejected):
    """The customer (or resource) does not exist: every code says "not found"."""


class IntegrationError(CapillaryError):
    """A body we cannot parse or that does not fit the models: our bug or theirs."""


def write_may_have_applied(error: CapillaryError) -> bool:
    """Whether a write that raised `error` may have changed Capillary all the same.

    A timeout or dropped connection after sending (`Unavailable.outcome_unknown`),
    or a success status with a body that could not be read: Capillary said it
    did something, but what cannot be told. Either is "outcome unknown".
    """
    if isinstance(error, Unavailable):
        return error.outcome_unknown
    status = error.meta.status if error.meta else None
    return isinstance(error, IntegrationError) and status is not None and 200 <= status < 300


def describe(code: int) -> CodeInfo:
    """Catalogue entry for `code`; unknown codes get a generic entry rather than failing."""
    known = CODES.get(code)
    if known is not None:
        return known
    return CodeInfo(code, "error", f"Capillary answered with code {code}, unknown to us", None)


_Row = tuple[int | range, Kind, str, str | None]

# Transcribed from the consolidated table (section 3) of API_REFERENCE.md, ranges
# expanded. Where one code has two meanings in the sources, the words say both.
_ROWS: tuple[_Row, ...] = (
    (200, "error", "Request succeeded (a status, not an error)", None),
    (201, "error", "Some items of the batch failed", None),
    (400, "both", "Capillary found the request invalid (bad or missing input)", None),
    (401, "error", "Capillary did not accept the console's credentials", None),
    (402, "error", "This API version is not supported", None),
    (403, "error", "Access denied, or a mandatory field is missing", None),
    (404, "error", "Capillary does not know this resource", None),
    (405, "error", "This operation is not supported on the resource", None),
    (406, "error", "This operation is not supported", None),
    (407, "error", "Unknown error at Capillary", None),
    (408, "error", "Network MAC id mismatch", None),
    (415, "error", "Unsupported media type", None),
    (429, "error", "Too many requests to Capillary; try again in a minute", None),
    (461, "error", "Capillary's search is busy; try again shortly", None),
    (498, "error", "The console's access token expired", None),
    (500, "error", "All requests failed due to errors", None),
    (503, "error", "Capillary's authorisation service is unavailable; try again shortly", None),
    (521, "both", "Several actions are running for this customer; try again shortly", None),
    (4000, "error", "The console is not allowed to use this Capillary API", None),
    (4001, "error", "Capillary's authorisation service is unavailable; try again shortly", None),
    (320001, "error", "Invalid OAuth client key and secret", None),
    (1060, "error", "Too many customers in one batch", None),
    (1061, "error", "Attribution lookup type header missing", None),
    (1062, "error", "Invalid test and control status", None),
    (1064, "error", "Invalid organisation id", None),
    (618, "error", "The customer is marked as fraud", None),
    (816, "error", "No such customer in this organisation", "identifiers"),
    (1000, "error", "Success (v1.1); on subscriptions: they could not be added", "subscriptions"),
    (1001, "error", "Invalid mobile number", "mobile"),
    (1002, "error", "Invalid email address", "email"),
    (1003, "error", "Invalid external id", "external_id"),
    (1004, "error", "Could not find the store", None),
    (1006, "error", "Mobile number missing or not valid for the base country", "mobile"),
    (1007, "error", "No valid primary identifier", "identifiers"),
    (1008, "error", "Cannot register with this external id", "external_id"),
    (1009, "error", "Could not add the customer to the multi-level programme", None),
    (1010, "error", "Could not update the loyalty points", None),
    (1011, "error", "No customer found for this identifier", "identifiers"),
    (1012, "error", "No customer found with this mobile, email or external id", "identifiers"),
    (1013, "error", "The customer is not registered in the loyalty programme", "loyalty_type"),
    (1014, "error", "The customer is already registered", "identifiers"),
    (1015, "error", "No identifier given", "identifiers"),
    (1016, "error", "This email is already used by another customer", "email"),
    (1017, "both", "A custom field value is invalid (the rest was saved)", "custom_fields"),
    (1018, "error", "Could not update a custom field", "custom_fields"),
    (1019, "error", "A mobile or external id is needed along with the email", "identifiers"),
    (1020, "error", "The customer is not registered in the loyalty programme", "loyalty_type"),
    (1023, "error", "Could not register the customer in the loyalty programme", "loyalty_type"),
    (1024, "error", "Could not update the profile", None),
    (1032, "error", "This mobile number is already used by another customer", "mobile"),
    (1033, "error", "This external id is already used by another customer", "external_id"),
    (1034, "error", "Registration date is outside the allowed window", "registered_on"),
    (1038, "error", "Cannot register with this external id", "external_id"),
    (1039, "error", "An email address is required", "email"),
    (1042, "error", "Invalid mobile, email or external id", "identifiers"),
    (1043, "error", "An external id is required", "external_id"),
    (1044, "error", "Not permitted to view this customer", None),
    (1045, "error", "A non-loyalty customer needs a valid mobile or email", "identifiers"),
    (1046, "error", "A loyalty customer cannot be made non-loyalty", "loyalty_type"),
    (1047, "error", "The primary identifier does not match the other identifiers", "identifiers"),
    (1048, "error", "An email is needed to convert the customer to loyalty", "email"),
    (1049, "error", "An external id is needed to convert the customer to loyalty", "external_id"),
    (1053, "warning", "Preferred store not found", "extended_fields"),
    (1059, "error", "An email or mobile number is required", "identifiers"),
    (range(1086, 1100), "error", "Points processing failed; report it to support", None),
    (1101, "error", "Invalid subscription channel", "subscriptions"),
    (1102, "error", "Invalid subscription priority", "subscriptions"),
    (1103, "error", "Invalid subscription scope", "subscriptions"),
    (1104, "error", "Invalid or missing identifier for the subscription", "identifiers"),
    (1105, "error", "Only one subscription scope is allowed", "subscriptions"),
    (1106, "error", "Invalid subscription status", "subscriptions"),
    (1107, "error", "Invalid campaign id", "subscriptions"),
    (1108, "error", "Invalid outbox id", "subscriptions"),
    (1109, "error", "Could not add the subscription", "subscriptions"),
    (1110, "error", "Could not update or read the subscription", "subscriptions"),
    (1150, "error", "Invalid store id", None),
    (
        range(1202, 1207),
        "error",
        "Referral problem: code, campaign or eligibility",
        "referral_code",
    ),
    (1222, "error", "Invalid referral type", "referral_code"),
    (1212, "error", "Invalid entity type", None),
    (1213, "error", "Invalid programme id", None),
    (1214, "error", "Invalid date range", None),
    (1215, "error", "The date is in the past", None),
    (1216, "error", "Invalid date format", None),
    (1217, "error", "The date is more than 100 years away", None),
    (
        1302,
        "both",
        "Supplementary programme expiry is before membership expiry "
        "(v1.1: ticket registration failed)",
        "enrollments",
    ),
    (range(3000, 3052), "error", "Card or card series problem", "card"),
    (3004, "error", "The card series does not exist", "card"),
    (3009, "error", "This card number already exists", "card"),
    (3010, "error", "This card number does not exist", "card"),
    (3016, "error", "Invalid card status", "card"),
    (3017, "error", "The status label is not valid", "status_label"),
    (3018, "error", "The label is not mapped to NOT_ISSUED", "card"),
    (3027, "error", "The card cannot be linked", "card"),
    (3031, "error", "The card cannot be unlinked", "card"),
    (3035, "error", "Only one card per request", "card"),
    (3036, "error", "Too many active cards for this customer", "card"),
    (3037, "error", "Only one card per request", "card"),
    (3039, "both", "Status label unchanged, or too many active cards", "card"),
    (3042, "error", "The customer is deleted; no further changes are allowed", None),
    (3044, "error", "Customer statuses are disabled for this organisation", "status_label"),
    (3045, "error", "This card external id already exists", "card"),
    (3046, "error", "Card external id and card number do not match", "card"),
    (3213, "error", "Source not found for this organisation", "source"),
    (3216, "error", "Invalid source name", "source"),
    (3217, "error", "Invalid source or source account", "source"),
    (3218, "error", "Invalid source type", "source"),
    (8001, "error", "No source given for the lookup", "source"),
    (8002, "error", "No identifiers given for the lookup", "identifiers"),
    (8003, "error", "Invalid source", "source"),
    (8004, "error", "No source given", "source"),
    (8005, "error", "No valid identifiers given", "identifiers"),
    (
        8006,
        "error",
        "A customer with these identifiers already exists in this source",
        "identifiers",
    ),
    (8007, "error", "This identifier is already registered in this source", "identifiers"),
    (8008, "error", "The identifiers belong to a different customer in this source", "identifiers"),
    (8009, "error", "No such customer (invalid customer id)", None),
    (8010, "error", "Invalid communication channel", "comm_channels"),
    (8011, "error", "Invalid source or account for the lookup", "account_id"),
    (8012, "error", "Invalid source", "source"),
    (8013, "error", "Invalid identifier type for the lookup", "identifiers"),
    (8014, "error", "Invalid mobile number (or primary identifier)", "mobile"),
    (8015, "error", "No customer found for these identifiers", "identifiers"),
    (8016, "error", "No source given", "source"),
    (8017, "error", "Invalid registration date", "registered_on"),
    (8018, "error", "A loyalty customer cannot be made non-loyalty", "loyalty_type"),
    (range(8019, 8026), "error", "Invalid inference attribute", None),
    (
        8020,
        "error",
        "External id validation failed (older docs: invalid inference attribute type)",
        "external_id",
    ),
    (8026, "error", "This customer was deleted on a privacy request and cannot be added", None),
    (8027, "error", "Adding to a parent organisation needs a child context", None),
    (8028, "error", "The customer seems to be registered already", "identifiers"),
    (8045, "error", "Account id missing for this source", "account_id"),
    (8050, "warning", "Same customer found in another source; profiles combined", "identifiers"),
    (8051, "warning", "Same customer found in another source; accounts merged", "identifiers"),
    (8052, "warning", "The identifiers belong to different customers", "identifiers"),
    (8053, "both", "Conflicting customers found, or already merged", "identifiers"),
    (8054, "warning", "Account id missing for this source", "account_id"),
    (8055, "warning", "Invalid email address (ignored)", "email"),
    (8056, "warning", "Invalid mobile number (ignored)", "mobile"),
    (8057, "warning", "Invalid email in the communication channels (ignored)", "comm_channels"),
    (8058, "warning", "Invalid mobile in the communication channels (ignored)", "comm_channels"),
    (8059, "warning", "Saved, but search may show the old values for a while", None),
    (8060, "warning", "Saved, but the subscription update was not queued", "subscriptions"),
    (8061, "warning", "NPS details could not be read", None),
    (8062, "warning", "Points details could not be read", None),
    (8063, "warning", "Segment details could not be read", None),
    (8064, "warning", "External id validation failed", "external_id"),
    (8065, "error", "No customer in this source for the identifier", "identifiers"),
    (8066, "both", "Cannot combine: the identifier is used in this source already", "identifiers"),
    (8067, "error", "Already merged with another customer", "identifiers"),
    (8068, "warning", "The customer is a campaign-only user", "identifiers"),
    (8069, "both", "This customer was merged into another account", None),
    (8070, "warning", "No identifier change detected", "identifiers"),
    (8071, "warning", "This mobile is already attached to the customer", "mobile"),
    (8072, "warning", "This email is already attached to the customer", "email"),
    (8073, "warning", "This external id is already attached to the customer", "external_id"),
    (8074, "warning", "The identifier belongs to several sources and customers", "identifiers"),
    (8075, "warning", "The primary identifier does not match the others", "identifiers"),
    (8076, "warning", "Tier gap details are missing", None),
    (8077, "warning", "Invalid associated till; attribution not updated", "associated_with"),
    (range(8078, 8084), "warning", "Customer image problem (at most 5 images)", None),
    (8084, "error", "Customer details were not sent", None),
    (8085, "error", "Invalid organisation entity (till or store)", "associated_with"),
    (8086, "error", "The status label is not valid", "status_label"),
    (8087, "error", "The card's status allows no further actions", "card"),
    (8088, "both", "The customer status could not be read", None),
    (8089, "error", "The customer is not registered in the loyalty programme", "loyalty_type"),
    (8090, "both", "Cannot create this profile: the InStore profile does not exist", "source"),
    (8091, "error", "Account id missing", "account_id"),
    (8092, "error", "Identifier type missing", "identifiers"),
    (8093, "error", "Identifier value missing", "identifiers"),
    (8100, "error", "Offset must not be negative", None),
    (8101, "error", "Limit must be positive", None),
    (8102, "error", "Limit must be at most 100", None),
    (8103, "error", "Invalid source type", None),
    (8104, "error", "Invalid promotion filter", None),
    (8105, "error", "Invalid promotion filter", None),
    (8106, "error", "Communication channel type missing", "comm_channels"),
    (8107, "warning", "No default customer status label is set", "status_label"),
    (8108, "both", "The default-status configuration could not be read", None),
    (range(8110, 8127), "error", "Invalid promotion, barcode, date or sort option", None),
    (8112, "error", "Dates must be yyyy-MM-dd", None),
    (8113, "error", "Dates must be yyyy-MM-dd", None),
    (8119, "error", "At most 100 customer ids", None),
    (8120, "error", "At most 100 customer ids", None),
    (8121, "error", "Not allowed for a non-loyalty customer", "loyalty_type"),
    (8127, "error", "Invalid source or account id", "source"),
    (10001, "error", "Capillary failed to add the customer", None),
    (10002, "error", "Capillary failed to update the customer", None),
    (19223, "warning", "Points processing failed", None),
    (91001, "warning", "Points details could not be read", None),
    (91002, "warning", "Subscription details could not be read", "subscriptions"),
    (91003, "warning", "Validation details could not be read", None),
    (91004, "warning", "Segment details could not be read", None),
    (91005, "warning", "The primary identifier cannot be updated", "identifiers"),
    (91006, "warning", "This identifier may not be updated", "identifiers"),
    (91007, "warning", "Identifier already used by another customer (ignored)", "identifiers"),
    (91009, "both", "Showing the surviving account of a merged customer", None),
    (range(91010, 91015), "warning", "Tier upgrade, downgrade or renewal details missing", None),
    (91015, "warning", "Extended field not saved (invalid or too long)", "extended_fields"),
    (91016, "warning", "No WeChat profile", "source"),
    (91017, "warning", "No Web Engage profile", "source"),
    (91018, "warning", "WeChat notifications could not be loaded", None),
    (91019, "warning", "Web Engage notifications could not be loaded", None),
    (91020, "error", "Invalid registration till", None),
    (91021, "error", "Invalid attribution till", None),
    (91022, "error", "Subscription update failed for a channel or priority", "subscriptions"),
)


def _build_catalogue(rows: tuple[_Row, ...]) -> dict[int, CodeInfo]:
    # Ranges come first in `_ROWS` order where they overlap single codes, so a
    # later single row (e.g. 3017 inside 3000-3051) refines the range's words.
    catalogue: dict[int, CodeInfo] = {}
    for codes, kind, words, form_field in rows:
        for code in codes if isinstance(codes, range) else (codes,):
            catalogue[code] = CodeInfo(code, kind, words, form_field)
    return catalogue


CODES: dict[int, CodeInfo] = _build_catalogue(_ROWS)
