"""What the member journeys share: a member Capillary already holds, and reading it back."""

from typing import Any

from customers.capillary.schemas import AddCustomerRequest, Customer
from customers.gateway import get_client
from customers.members import services
from tests.conftest import make_staff


def a_member(mobile: str, first: str = "Asha", last: str = "Rao", **more: Any) -> int:
    """A member registered beforehand (by another till), as Capillary holds them."""
    profile = {
        "firstName": first,
        "lastName": last,
        "identifiers": [{"type": "mobile", "value": mobile}],
        "commChannels": [{"type": "mobile", "value": mobile, "primary": True}],
        "source": "INSTORE",
    }
    result = services.register_member(
        actor=make_staff(None, f"till{mobile}"),
        request=AddCustomerRequest.model_validate(
            {"profiles": [profile], "loyaltyInfo": {"loyaltyType": "loyalty"}, **more}
        ),
    )
    assert result.customer_id is not None
    return result.customer_id


def as_capillary_holds(customer_id: int) -> Customer:
    return get_client().get_customer(
        customer_id, source="INSTORE", embed=("subscriptions", "mlp", "customerStatus")
    )


def identifiers_of(found: Customer) -> dict[str, list[str]]:
    held: dict[str, list[str]] = {}
    for profile in found.profiles:
        for identifier in profile.identifiers:
            held.setdefault(identifier.type, []).append(identifier.value or "")
    return held


def subscriptions_of(customer_id: int) -> dict[tuple[str, str], str]:
    answer = get_client().get_subscriptions(customer_id)
    return {(s.channel or "", s.priority or ""): s.type or "" for s in answer.subscriptions}


def enrollments_of(found: Customer) -> dict[str, str]:
    """Program title -> current tier, as Capillary reports the member's enrollments."""
    details = (found.model_extra or {}).get("loyaltyProgramDetails") or []
    return {str(p.get("programTitle")): str(p.get("currentSlab")) for p in details}
