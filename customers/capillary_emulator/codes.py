"""Capillary's error and warning codes as the emulator speaks them.

MESSAGES holds each code's documented wording: the seed's where a seed prints it
(S1, S5, S14), else Capillary's status-code page ("Status codes" of the customer
reference, S15, in ``shared/capillary/docs/03-customer-1_30-status-codes-customer.md``),
else the page SOURCES names. A message may carry a detail after the documented
words (``entry(code, detail=...)``), never other words.

The constants below the catalogue are the emulator's own choices where no source
names a code for a situation: each points at the reference section that leaves
the gap, INFERRED lists them, and so does the coverage table in ``__init__``.
"""

from typing import Any

MESSAGES: dict[int, str] = {
    400: "Input is invalid. Please check request parameters or input xml/json",
    401: "Unauthorized",
    403: "Field {0} is mandatory",
    404: "Resource not found",
    405: "Operation not supported on the resource",
    429: "Rate limit exceeded",
    500: "All requests have failed due to errors",
    1000: "Customer successfully updated",
    1012: "Cannot find customer with the provided mobile number/external ID/e-mail ID",
    1015: "No identifier provided to get loyalty users",
    1017: "Provided Custom Field is invalid",
    1024: "Unable to update customer profile",
    1042: "Invalid mobile no/email id/external id",
    1046: "Conversion of loyalty customer to non-loyalty is not allowed",
    1060: "Batch limit exceeded",
    1101: "Invalid channel type",
    1102: "Invalid priority type",
    1103: "Invalid scope",
    1106: "Invalid subscription status passed",
    1109: "Unable to add, update or fetch subscription details",
    3004: "Card series does not exist",
    3009: "Card number already exists",
    3010: "Card number does not exist",
    3017: "status label invalid",
    3018: "Status label is not mapped to NOT_ISSUED",
    3031: "Card cannot be unlinked",
    3035: "Only one card can be linked or delinked per call",
    3036: "Active card limit exceeded for the series",
    3042: "Customer is Deleted. No further changes allowed",
    3044: "Customer status is disabled",
    3217: "Source is invalid.",
    8001: "Lookup failed, No source passed",
    8002: "Lookup failed, No identifiers passed",
    8003: "Invalid source passed",
    8004: "Add failed, No source passed",
    8005: "Add failed, No valid identifiers passed",
    8006: "Customer already exists for same source",
    8008: "Update failed, Same source different profile found for given identifiers",
    8010: "Invalid communication channel passed",
    8011: "Look up, Invalid source passed",
    8012: "Get, Invalid source passed",
    8013: "Lookup, Invalid identifier passed",
    8014: "Error in customer registration",
    8015: "Customer not found for the given identifiers",
    8016: "GET failed, No source passed",
    8018: "Update customer, Conversion from loyalty to non-loyalty not allowed",
    8045: "Account id is not passed",
    8050: "Same Customer found in other sources, Combining",
    8051: "Same Customer found in other sources, Merging with userId {0}",
    8052: "Add customer, Conflicting Customers found",
    8053: "Update customer, Conflicting Customers found",
    8055: "Invalid email id",
    8056: "Invalid mobile",
    8057: "Invalid email id in comm channel",
    8058: "Invalid mobile in comm channel",
    8065: "No customer found in the given source with the given identifier",
    8066: "Combine not possible, User id already used in same source",
    8067: "Same Customer found in other sources, Merge already done with userId {0}",
    8069: "Merged customer found",
    8070: "No valid change identifiers detected",
    8071: "Mobile already attached with this user",
    8072: "Email already attached with this user",
    8073: "External id already attached with this user",
    8074: "Change Failed, Identifier found in multiple sources and userIds",
    8077: "Invalid associatedWith passed, attribution not updated",
    8084: "Customer details not sent",
    8086: "Status label passed is not valid",
    8089: "Customer not registered for the Loyalty Program",
    8100: "Offset cannot have value less than 0",
    8101: "Limit should be greater than 0",
    8102: "Limit cannot be greater than 100",
    8107: "Default customer status label not set",
    10001: "Failed to add customer",
    10002: "Failed to update customer details",
    33000: "{0} label not found",
    33001: "User labels not found",
    91005: "{0} is primary identifier and cannot be updated",
    91006: "{0} update is not allowed",
    91007: "Failed to register. {0} already exists for some other user",
    91015: "Failed to update extended fields; or field {0} length too long",
    320001: "Invalid client key and secret",
}

# Where a wording comes from when it is not the status-code page (S15).
SOURCES: dict[int, str] = {
    401: "reference §1.2 (S23)",
    429: "none: inferred (reference §1.6), see INFERRED",
    403: "reference §1.5 (S7)",
    404: "reference §1.5 (S7)",
    405: "reference §1.5 (S7)",
    500: "subscriptions page sample (S19), v1.1 update page (S34)",
    1000: "v1.1 envelope sample, reference §1.4 (S14)",
    3004: "card codes (S9, reference §3)",
    3009: "card codes (S9, reference §3)",
    3010: "card codes (S9, reference §3)",
    3017: "upsert seed S1",
    3018: "card codes (S9, reference §3)",
    3031: "card codes (S9, reference §3)",
    3035: "card codes (S9, reference §3)",
    3036: "card codes (S9, reference §3)",
    3042: "card codes (S9, reference §3)",
    3044: "card codes (S9, reference §3)",
    3217: "add customer seed S5",
    8006: "add customer seed S5",
    8014: "add customer seed S5",
    33000: "tag customers page (E9b)",
    33001: "tag customers and get customer labels pages (E9b)",
    320001: "OAuth (S23)",
}

INVALID_INPUT = 400
# The 429 body is not documented (reference §1.6): the v2 error shape with code 429.
RATE_LIMITED = 429
# E2 "already enrolled" is refused by the seed without a code (reference §2 E2, §4.14).
ALREADY_ENROLLED = 10002
# An unknown extended field is dropped with the code the list gives for a failed EF
# update; an unknown custom field with v1.1's "custom field invalid" (reference §1.8).
EXTENDED_FIELD_DROPPED = 91015
CUSTOM_FIELD_DROPPED = 1017
# Upsert's "conflicting profile" error has no code (reference §2 E3, §4.15).
UPSERT_CONFLICT = 8053
# An add whose identifiers belong to two customers: the code list's warning, as an error.
ADD_CONFLICT = 8052
# Update of a merge victim: the code list's "already merged with userId" (§3).
UPDATE_OF_MERGED = 8067
# v1.1 item codes: not found (1012), a bad fraud_status or type value (1024), and
# S34's "Tried to update secondary identifier", which names no item code (1024).
V11_NOT_FOUND = 1012
V11_INVALID_VALUE = 1024
V11_SECONDARY_OVERWRITE = 1024
# v1.1 subscriptions that are not {"subscription": [...]}: no code is documented.
V11_BAD_SUBSCRIPTIONS = 1109

# Codes the emulator uses for a situation no source names them for.
INFERRED: dict[int, str] = {
    RATE_LIMITED: "429 body and code (reference §1.6)",
    ALREADY_ENROLLED: "E2 enrolment in a program already enrolled in (§2 E2)",
    EXTENDED_FIELD_DROPPED: "unknown or mistyped extended field, as a warning (§1.8)",
    CUSTOM_FIELD_DROPPED: "unknown or mistyped custom field, as a v2 warning (§1.8)",
    UPSERT_CONFLICT: "E3 identifiers found on two customers (§2 E3)",
    ADD_CONFLICT: "E1 identifiers of two customers, as an error (§2 E1)",
    UPDATE_OF_MERGED: "a write to a merge victim (§3)",
    V11_INVALID_VALUE: "E4 bad fraud_status or type; S34's secondary-identifier overwrite",
    V11_BAD_SUBSCRIPTIONS: "E4 subscriptions in the wrong shape",
}


def message(code: int, *args: Any) -> str:
    return MESSAGES.get(code, "Error").format(*args)


def entry(code: int, *args: Any, detail: str | None = None) -> dict[str, Any]:
    """One element of a v2 ``warnings`` or ``errors`` array (``status`` is always false):
    the documented words, then what exactly was wrong."""
    text = message(code, *args)
    return {"status": False, "code": code, "message": f"{text}: {detail}" if detail else text}
