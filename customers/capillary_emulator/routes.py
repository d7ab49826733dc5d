"""Capillary's paths, each with its endpoint id (the reference's E-numbers; ``CARD``
for the card read, which the reference does not number), which rate limits, fault
targets and access groups refer to."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from .context import Ctx, Reply
from .handlers import bulk, legacy, meta, preferences, reads, search, writes

Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    template: str
    endpoint: str
    handler: Handler
    pattern: re.Pattern[str]


def _route(methods: str, template: str, endpoint: str, handler: Handler) -> Route:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return Route(frozenset(methods.split()), template, endpoint, handler, re.compile(f"^{regex}$"))


# Literal paths come before templated ones, so /v2/customers/lookup is never an id.
ROUTES = (
    _route("POST", "/v2/customers", "E1", writes.add_customer),
    _route("PUT", "/v2/customers/lookup", "E2b", writes.update_customer_by_lookup),
    _route("GET", "/v2/customers/lookup", "E5b", reads.customer_id),
    _route("GET", "/v2/customers/lookup/customerDetails", "E5", reads.customer_details),
    _route("GET", "/v2/customers/search", "E13", search.search_customers),
    _route(
        "GET", "/v2/customers/lookup/subscriptions", "E8", preferences.read_subscriptions_by_lookup
    ),
    _route(
        "POST PUT",
        "/v2/customers/lookup/subscriptions",
        "E8",
        preferences.write_subscriptions_by_lookup,
    ),
    _route("PUT", "/v2/customers/lookup/status", "E9", preferences.change_status),
    _route("POST", "/v2/integrations/customer/upsert/bulk", "E3", bulk.upsert_bulk),
    _route("POST", "/v1.1/customer/update", "E4", legacy.update_v11),
    _route("GET", "/v2/extendedFields", "E10", meta.extended_fields),
    _route("GET", "/v2/entity/extendedFieldConfig", "E10", meta.extended_field_config),
    _route("GET", "/v2/organization/customFields", "E10", meta.custom_fields),
    _route("GET", "/v2/organization/labels", "E9b", preferences.org_labels),
    _route("GET", "/api_gateway/v2/audits", "E11", meta.audits),
    _route("GET", "/v2/auditLog/get", "E11", meta.audits),
    _route("POST", "/v3/oauth/token/generate", "E12", meta.generate_token),
    _route("GET", "/v2/card", "CARD", reads.card_by_number),
    _route("GET", "/v2/customers/{customerId}", "E6", reads.customer_by_id),
    _route("PUT", "/v2/customers/{userId}", "E2", writes.update_customer),
    _route("POST PUT", "/v2/customers/{userId}/changeIdentifier", "E7", writes.change_identifier),
    _route("GET", "/v2/customers/{customerId}/subscriptions", "E8", preferences.read_subscriptions),
    _route(
        "POST PUT",
        "/v2/customers/{customerId}/subscriptions",
        "E8",
        preferences.write_subscriptions,
    ),
    _route("GET", "/v2/customers/{userId}/statusLog", "E9", preferences.status_log),
    _route("POST", "/v2/customers/{userId}/changeLabels", "E9b", preferences.change_labels),
    _route("GET", "/v2/customers/{userId}/labels", "E9b", preferences.customer_labels),
    _route("GET", "/v2/customers/{customerId}/changeRequest", "E11", meta.change_requests),
    _route(
        "GET",
        "/v2/customers/{userId}/subscriptionStatusChangeLog",
        "E11",
        meta.subscription_change_log,
    ),
)


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path params, whether the path exists under another method)."""
    path = path.rstrip("/") or "/"
    known_path = False
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is None:
            continue
        if method in route.methods:
            return route, found.groupdict(), True
        known_path = True
    return None, {}, known_path
