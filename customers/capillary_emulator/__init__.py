"""An embedded Capillary CRM: the console's default back end and its test double.

It speaks Capillary's customer APIs at Capillary's paths, keeps state in its own
SQLite file, and implements the wire format independently of the client (it never
imports ``customers.capillary.client`` or its schemas). The specification is
``shared/seeds/`` (the doc pages), then Capillary's current reference pages
(``shared/capillary/docs/``), then ``shared/capillary/API_REFERENCE.md``; "§" below
points into the reference. ``tests/emulator/test_replay.py`` sends every request
sample of those pages and compares the answers; ``tests/emulator/REPLAY.md`` lists
the samples that contradict their own page or the seeds.

Use
---
``Emulator(state_path=":memory:", org=None, *, clock=time.time, sleep=time.sleep, rng=None)``
is a WSGI app and has ``handle(method, path, query, headers, body) -> (status,
headers, body)``, ``transport()`` (an ``httpx.BaseTransport``), ``reset()``,
``faults()`` / ``set_faults(patch)`` / ``clear_faults()``. ``serve(emulator, host,
port)`` starts a threaded HTTP server (port 0: ephemeral; ``.base_url``,
``.server_address``, ``.shutdown()``). ``seed_members(emulator, n, rng_seed=42)``
writes n realistic members. ``manage.py capillary_emulator`` and ``manage.py
seed_emulator`` wrap them. Default credentials: till ``membercare.till`` /
``membercare123`` (Basic sends the password's MD5 hex), OAuth client
``membercare-key`` / ``membercare-secret`` (token TTL 3600 s).

Control endpoints (emulator only, no auth): ``GET /_emulator/faults``,
``POST /_emulator/faults`` (JSON merged per fault kind), ``DELETE /_emulator/faults``
(all off), ``POST /_emulator/reset`` (empty state, quotas, fault overrides, clock
and org changes); ``GET|POST|DELETE /_emulator/clock`` (``{"set": time}`` or
``{"advance": seconds}``) and ``GET|POST|DELETE /_emulator/org`` (a partial org
configuration merged in, checked like the file; DELETE restores), see
``control.py``. ``Emulator.clock()`` is now as the emulator sees it.
Fault kinds and keys are in ``faults.py``; defaults come from the org's ``faults``
block merged with ``$CAPILLARY_EMULATOR_FAULTS`` (JSON). Fault overrides and the
``next N`` counters live in the state file, so every process sharing it sees them.

Coverage
--------
=====  ==============================================================  ============
E1     POST /v2/customers                                              implemented
E2     PUT /v2/customers/{userId}                                      implemented
E2b    PUT /v2/customers/lookup                                        implemented
E3     POST /v2/integrations/customer/upsert/bulk                      implemented
E4     POST /v1.1/customer/update (JSON; ``format=xml`` is not)        implemented
E5     GET /v2/customers/lookup/customerDetails                        implemented
E5b    GET /v2/customers/lookup                                        implemented
E6     GET /v2/customers/{customerId}                                  implemented
E7     POST|PUT /v2/customers/{userId}/changeIdentifier                implemented
E8     GET|POST|PUT /v2/customers/{id}/subscriptions, …/lookup/…       implemented
E9     PUT /v2/customers/lookup/status, GET …/{userId}/statusLog       implemented
E9b    POST …/{userId}/changeLabels, GET …/{userId}/labels,            implemented
       GET /v2/organization/labels (POST and labels/search are not)
CARD   GET /v2/card?number= (card details; card writes are not)        implemented
E10    GET /v2/extendedFields, /v2/entity/extendedFieldConfig,         implemented
       /v2/organization/customFields
E11    GET /api_gateway/v2/audits (and /v2/auditLog/get),              implemented
       …/{customerId}/changeRequest, …/{userId}/subscriptionStatusChangeLog
E12    POST /v3/oauth/token/generate                                   implemented
E13    GET /v2/customers/search                                        implemented
=====  ==============================================================  ============

Not modelled: transactions, points ledgers (points only accrue: redeemed/expired
stay 0), card series and card creation APIs (a card named in E1/E7 is created in
its series on first use), segments, user groups (``userGroup2``), gap-to-upgrade,
PII deletion, campaign users, supplementary programs (warning 1302), translated
extended-field values (``language``), attribution entity types other than TILL,
``rawSideEffects``, ``X-CAP-API-ATTRIBUTION-LOOKUP-*``, the 24 h extended-field
cache (§1.9.10: config changes apply at once), embeds other than ``points``,
``subscriptions``, ``mlp``, ``customerStatus`` and ``alternateCurrencies``.

Documentation samples that contradict their own page or the seeds (replayed by
``tests/emulator/test_replay.py``; reasons in ``tests/emulator/REPLAY.md``; 25 of the
31 request samples match by keys, types and outcome)
------------------------------------------------------------------------------
- ``add-card``: its mobile 4567890 has no country code, which its page requires (8014).
- ``add-customer-status``: its response warns 1302 about a program it does not enrol in.
- ``upsert-example``, ``upsert-subscriptions``: the page's one response fails with 3017
  for requests without an invalid status label (and the second has no source).
- ``audit-with-victim-and-survivor-details``: the published response is not JSON.
- ``change-identifier`` (matches): a ``facebook`` identifier its page does not list.
- ``lookup-details`` (matches): ``externalID`` for the page's ``externalId``.
- Not modelled: ``card-details``' ``cardExternalId`` (no card external ids).

Choices where the documentation is silent (each in one place: the org config, or
the constants block of ``codes.py``)
------------------------------------------------------------------------------
- HTTP status of business errors (§1.5, §4.1): 400 for v2 single-entity errors,
  8015 included (never 404); batches (E3, E4) 200 all ok / 201 some failed / 500
  all failed; 403 for E9's "Field x is mandatory"; E12 bad credentials inside a
  200. Org config ``http_status``.
- Auth failures (§1.2): the v1.1-style body ``{"response": {"status": {"success":
  "false", "code": "401", "message": …}}}`` for 401, 498 ("Token expired at …"),
  403 (OAuth client: "Client doesn't have access…"; till: code 4000). Tokens are
  HS256 JWTs signed with the client secret. ``Authorization: Bearer`` is refused.
  Access groups: ``access`` lists endpoint ids (``"*"``: all).
- Rate limits (§1.6): a token bucket per (till or API client, endpoint id), and
  when ``per_key``/``keys`` are set one per till or API client over every endpoint
  (the docs' "per API key"), shared through the state file; capacity = limit,
  refill = limit / per_seconds; 429 with
  ``Retry-After`` (whole seconds to the next token) and
  ``{"warnings": [], "errors": [{"status": false, "code": 429, "message": "Rate
  limit exceeded"}]}``. Defaults: EMEA row (E1 100/min, E2 and E2b 50/min, E4
  300/min), changeIdentifier and the card read 1000/hour (S9), everything else
  1000/min; no per-key quota unless configured. Profile-update points
  (``promotions.profile_update``) are an emulator promotion for demos (off by default).
- E1 (§2 E1): loyaltyType defaults to ``registration.default_loyalty_type``
  (``loyalty``); an identifier held by two customers → error 8052; joining an
  existing customer (8050) returns that customer's id, adds only the new profile
  and awards nothing; the body's source wins over ``?source=``; invalid source →
  3217 (§4.2); unknown status label → 8086 (§4.3); cards are org-wide (a card held
  by someone else → 3009, never a merge); an invalid secondary email/mobile is
  dropped with 8055/8056, an invalid mobile when mobile is the primary key is
  8014; unknown or mistyped extended fields are dropped with warning 91015, custom
  fields with 1017; enum values match case-insensitively and are stored as
  configured; national mobiles of the base country get its code; an enrolment for
  a non-loyalty customer → 8089; no enrolment given → the default program (all
  programs with ``mlp_single_enroll=true``). ``WAIT_FOR_DOWNSTREAM: false``,
  ``use_async=true`` and ``X-CAP-DIRECT-REPLAY: true`` award but return
  ``sideEffects: []``; ``SKIP-DOWNSTREAM: true`` awards nothing.
- Promotions: welcome points, coupon and alternate currency on a loyalty
  registration or a non_loyalty → loyalty upgrade; enrolment ``loyaltyPoints``
  come back as a points side effect (S5 MOBILE_APP sample); a referral code is
  ``<code_prefix><referrer id>`` (unknown codes are ignored); both referral
  entries carry ``customerId``, the referrer's ``isReferrer: true``.
- E2 (§2 E2, §4.13, §4.14): identifiers and source in the body are ignored;
  already enrolled → error 10002 and nothing changes; a merge victim → 8067; a
  Deleted customer → 3042; a channel in the body replaces stored channels of its
  type; E2b not found → 8015.
- E3 (§2 E3, §4.15): ``skipChangeIdentifier`` defaults to false; an element
  without source uses ``registration.default_source``; identifiers found on two
  customers → 8053; an invalid status label → 3017 after the other changes were
  kept, with ``result``; a single-valued identifier (mobile, email, externalId)
  that differs replaces the stored one; max batch size ``max_batch_size`` (100),
  over it → 1060; elements answer in input order, each in its own transaction.
- E4 (§2 E4, S4, S34): found by id, else by the InStore primary identifier type,
  then the others; an empty secondary identifier is filled only with its CONF_ALLOW_*
  flag on (else item warning 91006); an existing one is never overwritten, flag or
  not: the item fails with 1024 "… Tried to update secondary identifier" (S34 names
  no item code) and a lone item makes the request 500; a changed primary → warning
  91005; one held by another customer → 91007; unknown customer → 1012; bad
  ``fraud_status`` or ``type`` → 1024 (``{"status": ""}``, as the official sample
  sends, changes nothing); NON_LOYALTY on loyalty → 1046; subscription errors
  1101/1102/1103/1106, a ``subscriptions`` block of the wrong shape → 1109; item
  warnings are code strings.
- E5/E6 (§2 E5, E6): identifier held only in another source → 8065; missing
  accountId for a multi-account source → 8015 (S16); a merge victim read by id
  answers the survivor's document with warning 8069; a malformed id → blank 400;
  ``accountId`` is ``""`` for single-account sources.
- E7 (§2 E7, §1.9.4): the merge survivor's id is the ``createdId``; victim and
  survivor with a profile in one source account → 8066; the victim's points are
  added to the survivor's, subscriptions and extended fields the survivor lacks
  are copied; one card per call (3035); delinking sets the card NOT_ISSUED.
- E8 (§2 E8): reads list every reachable channel (SMS with a mobile, EMAIL with an
  email) times TRANS/BULK with the org default (``subscriptions.default_type``)
  unless set; request MOBILE ↔ response SMS; unknown customer → 1012; a write whose
  every subscription fails → HTTP 500, body code 500 (S19); when only some fail the
  rest are applied and the failures are warnings 1101/1102/1106 (inferred); no
  ``subscriptions`` array → 400.
- E9 (§2 E9): unknown label → 8086; response ``{createdId, warnings}`` (§4.16). The
  status log carries ``errors: []`` and ``createdByUser`` is the till's code.
- E9b (labels pages): the org catalogue is ``{data: [{id, orgId, description,
  lastUpdatedBy, name, active}], warnings, errors}``; tagging an unknown label →
  warning 33000 beside ``entity`` (known ones applied); removing labels the customer
  does not hold → warning 33001; a customer without labels answers
  ``{warnings: [33001], errors: []}`` (the page's sample, no ``data``); mapping row
  ids are made up (the emulator keeps none).
- Dual eligibility (§1.9.6, S16; ``registration.dual_eligibility``): customers may
  share every registration identifier but the primary (no 8006, no 8050 join); a
  lookup by one such identifier alone → 8015; comma lists resolve by the primary.
  E7 adds a shared identifier without a merge; E3 finds customers by the others.
- Cards (S9, card details page, audit page): delinking with a label not mapped to
  NOT_ISSUED → 3018 (no label given: the org's NOT_ISSUED one); audit card events
  carry ``previousLabelId``/``currentLabelId``, and a new card first gets the CARD
  sample's creation row ``{labelId, value}`` of the NOT_ISSUED label; ``GET /v2/card``
  answers the card document plus ``warnings``, unknown number → 3010, no number → 400; a card nobody
  holds has ``customerId`` -1 (inferred); ``cardExternalId`` is not modelled.
- E13 (§2 E13): ``q`` matches the start of a first name, last name or any stored
  identifier (mobile, email, externalId, cardnumber, …) in every source, ignoring
  case (Unicode case folding); a keyword with a space also matches "first last";
  hits ordered by userId; merged-away customers left out; ``limit`` 10 by default,
  1 to 100, and a missing ``q`` or a bad ``limit``/``offset`` → 400 (code 400);
  ``total`` counts matching customers; ``matchedIdentifiers`` lists every field
  that matched, ``profiles`` every source's names. Rate limit: the default row.
- E10: the catalogue is keyed ``CUSTOMER`` as the current docs print it (§4.17);
  enum fields carry ``possibleValues`` (an emulator extension, for forms); the config
  endpoint answers a JSON array. Subscription change log: ``errors: []``.
- Codes (§3): messages are the documented words (``codes.MESSAGES``, with their
  source when not the status-code page), a detail may follow. Codes the emulator
  picks where no source names one (``codes.INFERRED``): 429 (rate limit body),
  10002 (E2 already enrolled), 91015 (unknown extended field), 1017 (unknown custom
  field, as a v2 warning), 8053 (E3 conflict), 8052 (E1 conflict, as an error), 8067
  (write to a merge victim), 1024 (E4 bad value; E4 secondary overwrite), 1109 (E4
  subscriptions of the wrong shape). E11: newest first by default; rows
  keep ``requestId`` and ``userContextDetails`` (four nulls without headers);
  ``updatedByMode`` is USER-CONTEXT-ENTITY-SOURCE or ``API``; v1.1 leaves no
  custom-field audit events.

Org configuration (``default_org.json``; ``--org`` or ``$CAPILLARY_EMULATOR_ORG``
picks another; unknown keys and wrong types stop loading, naming the key)
------------------------------------------------------------------------------
``org_id``; ``tills[]`` {code, password, id, name, description, access[]};
``oauth_clients[]`` {key, secret, ttl_seconds, till, access[]}; ``sources`` {NAME:
[accounts]} (an empty list: single-account); ``registration`` {CONF_REGISTRATION_
PRIMARY_KEY, CONF_ALLOW_MOBILE_UPDATE, CONF_ALLOW_EMAIL_UPDATE,
CONF_LOYALTY_ALLOW_EXTERNAL_ID_UPDATE, CONF_REJECT_EMPTY_OR_NULL_EF_VALUES,
dual_eligibility, default_loyalty_type, default_source}; ``mobile``
{base_country_code, rules[] {country_code, length, regex}}; ``customer_status``
{enabled, default_label (null: warning 8107), labels[] {id, label, status}};
``extended_fields[]`` {id, name, label, data_type, enabled, values[], max_length,
pii}; ``custom_fields[]`` {name, label, type: string|integer|boolean|date};
``programs[]`` {id, name, description, default, points_to_currency_ratio, tiers[]
{number, name, description}}; ``promotions`` {welcome_points, welcome_coupon
{coupon_type, description, discount_code, valid_days}, alternate_currency
{identifier, name, value, display_name (read by the console only)}, referral
{code_prefix, referee_points, referrer_points}, profile_update {points}} (omit one
to switch it off);
``card_series[]`` {id, code, name, type, expiry_days, max_active_cards, default};
``card_status_labels[]`` {id, label, status}; ``customer_labels[]`` (a name, or
{id, name, description}); ``subscriptions`` {default_type};
``rate_limits`` {enabled, default, endpoints {E1: {limit, per_seconds} | rpm},
per_key (every API key, across endpoints), keys {till code or client key: limit}};
``max_batch_size``; ``http_status`` {business_error, mandatory_field_missing,
batch_all_succeeded, batch_some_failed, batch_all_failed, oauth_bad_credentials};
``faults`` (see ``faults.py``; shipped off).
"""

from .app import Emulator
from .org import OrgConfig
from .org_file import load_org_config, parse_org
from .seed import seed_members
from .server import serve
from .transport import EmulatorTransport

__all__ = [
    "Emulator",
    "EmulatorTransport",
    "OrgConfig",
    "load_org_config",
    "parse_org",
    "seed_members",
    "serve",
]
