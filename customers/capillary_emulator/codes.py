"""Capillary's error and warning codes as the emulator speaks them.

MESSAGES holds the wording (from the reference §3; the seed's wording wins where
it has one). The constants below the catalogue are the emulator's own choices
where no source names a code: each points at the reference section that leaves
the gap, and the coverage table in ``__init__`` lists them.
"""

from typing import Any

MESSAGES: dict[int, str] = {
    400: "Invalid input",
    401: "Unauthorized",
    403: "Field {0} is mandatory",
    404: "Resource not found",
    405: "Operation not supported on the resource",
    429: "Rate limit exceeded",
    500: "All requests have failed due to errors",
    1000: "Customer successfully updated",
    1012: "Customer not found",
    1015: "No identifier provided",
    1017: "Custom field {0} is invalid",
    1024: "Cannot update profile: {0}",
    1046: "Loyalty customer cannot be changed to non-loyalty",
    1060: "Batch limit size exceeded",
    1101: "Invalid channel type {0}",
    1102: "Invalid priority {0}",
    1103: "Invalid scope {0}",
    1104: "Invalid or missing subscriptions",
    1106: "Invalid subscription status {0}",
    3004: "Card series does not exist",
    3009: "Card number already exists",
    3017: "status label invalid",
    3027: "Card is not linkable",
    3031: "Card cannot be unlinked",
    3035: "Only one card can be linked or delinked per call",
    3036: "Active card limit exceeded for the series",
    3042: "Customer is Deleted. No further changes allowed",
    3044: "Customer status is disabled",
    3217: "Source is invalid.",
    8001: "No source passed for lookup",
    8002: "No identifiers passed for lookup",
    8003: "Invalid source",
    8004: "No source passed",
    8005: "No valid identifiers",
    8006: "Customer already exists for same source",
    8008: "New identifier already exists in the same source",
    8010: "Invalid communication channel {0}",
    8011: "Invalid source",
    8012: "Invalid source",
    8013: "Invalid identifier, check identifierName",
    8014: "Error in customer registration",
    8015: "Customer not found for the given identifiers",
    8016: "No source passed",
    8018: "Loyalty customer cannot be made non-loyalty",
    8045: "Account id not passed",
    8050: "Same Customer found in other sources, Combining",
    8051: "Same customer found in other sources, merging with userId {0}",
    8052: "Add customer, Conflicting Customers found",
    8053: "Update customer, Conflicting Customers found",
    8055: "Invalid email {0}",
    8056: "Invalid mobile {0}",
    8057: "Invalid email in communication channel {0}",
    8058: "Invalid mobile in communication channel {0}",
    8065: "No customer found in the given source for the identifier",
    8066: "Combine not possible, user id already used in same source",
    8067: "Customer already merged with userId {0}",
    8069: "Customer is merged into another account {0}",
    8070: "No valid change identifiers detected",
    8071: "Mobile already attached to this user",
    8072: "Email already attached to this user",
    8073: "External id already attached to this user",
    8074: "Identifier found in multiple sources and users",
    8077: "Invalid associatedWith, attribution not updated",
    8084: "Customer details not sent",
    8086: "Status label passed is not valid",
    8089: "Customer is not registered for the loyalty program",
    8107: "Default customer status label not set",
    10001: "Failed to add customer",
    10002: "Failed to update customer details",
    91005: "{0} is the primary identifier and cannot be updated",
    91006: "{0} update not allowed",
    91007: "{0} already used by another user, ignored",
    91015: "Extended field {0} update failed",
    320001: "Invalid client key and secret",
}

INVALID_INPUT = 400
# E2 "already enrolled" is refused by the seed without a code (reference §2 E2, §4.14).
ALREADY_ENROLLED = 10002
# An unknown extended field is dropped with the code the list gives for a failed EF
# update; an unknown custom field with v1.1's "custom field invalid" (reference §1.8).
EXTENDED_FIELD_DROPPED = 91015
CUSTOM_FIELD_DROPPED = 1017
# Upsert's "conflicting profile" error has no code (reference §2 E3, §4.15).
UPSERT_CONFLICT = 8053
# Update of a merge victim: the code list's "already merged with userId" (§3).
UPDATE_OF_MERGED = 8067
# v1.1 item codes: not found (1012) and a bad fraud_status value (1024, §2 E4).
V11_NOT_FOUND = 1012
V11_INVALID_VALUE = 1024


def message(code: int, *args: Any) -> str:
    return MESSAGES.get(code, "Error").format(*args)


def entry(code: int, *args: Any, text: str | None = None) -> dict[str, Any]:
    """One element of a v2 ``warnings`` or ``errors`` array (``status`` is always false)."""
    return {"status": False, "code": code, "message": text or message(code, *args)}
