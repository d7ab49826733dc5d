"""Updating one source profile of a customer (E2, E2b, and the update step of E3),
by the seed S2 rules: names, custom fields, channels, extended fields, loyalty type
(non_loyalty → loyalty only) and new enrolments. Identifiers and the source in the
body are ignored (S2: "cannot update identifiers", "cannot modify source type").

Everything is validated before anything is written, so a refused update leaves
the customer as it was.
"""

import sqlite3
from typing import Any

from . import auditing, codes, fields, lifecycle, promotions, records, rules
from .context import ApiError, Ctx
from .records import Customer, Enrollment, Profile
from .registration import Downstream, Outcome, loyalty_type


def update_profile(
    ctx: Ctx,
    db: sqlite3.Connection,
    c: Customer,
    profile: Profile,
    body: dict[str, Any],
    *,
    downstream: Downstream,
) -> Outcome:
    lifecycle.ensure_writable(ctx, c)
    warnings: list[dict[str, Any]] = []
    raw_profiles = body.get("profiles")
    raw = (
        raw_profiles[0]
        if isinstance(raw_profiles, list) and raw_profiles and isinstance(raw_profiles[0], dict)
        else {}
    )
    custom = fields.clean_custom_fields(ctx.org, raw.get("fields"), warnings)
    channels = rules.clean_channels(ctx.org, raw.get("commChannels"), warnings)
    extended = fields.clean_extended_fields(ctx.org, body.get("extendedFields"), warnings)
    wanted_type = loyalty_type(body.get("loyaltyInfo"), c.loyalty_type)
    if c.loyalty_type == "loyalty" and wanted_type == "non_loyalty":
        raise ApiError(8018)
    upgrade = c.loyalty_type == "non_loyalty" and wanted_type == "loyalty"
    enrollments = fields.parse_enrollments(
        ctx.org, body.get("loyaltyProgramEnrollments"), ctx.now()
    )
    for program, _ in enrollments:
        if c.enrollment(program.id) is not None:
            raise ApiError(
                codes.ALREADY_ENROLLED,
                detail=f"already enrolled in program {program.id}",
            )
    if enrollments and wanted_type != "loyalty":
        raise ApiError(8089)

    before_standard = _standard(profile)
    before_fields, before_extended = dict(profile.fields), dict(c.extended_fields)
    before_channels = {ch["type"]: ch["value"] for ch in profile.channels}
    if "firstName" in raw:
        profile.first_name = rules.clean_name(raw["firstName"])
    if "lastName" in raw:
        profile.last_name = rules.clean_name(raw["lastName"])
    profile.fields.update(custom)
    profile.channels = rules.merge_channels(profile.channels, channels)
    c.extended_fields.update(extended)

    effects: list[dict[str, Any]] = []
    new_enrollments = [e for _, e in enrollments]
    if upgrade:
        c.loyalty_type = "loyalty"
        default = ctx.org.default_program()
        if not new_enrollments and default is not None:
            new_enrollments = [Enrollment(default.id, 1, 0.0, 0.0, None, None, ctx.now())]
    for e in new_enrollments:
        c.enrollments.append(e)
        records.save_enrollment(db, c.id, e)
        if e.points > 0:
            effects.append(promotions.points_effect(e.points))
    if upgrade and downstream.run:
        effects += promotions.on_loyalty_registration(db, ctx, c, "")

    now = ctx.now()
    c.updated_at = profile.updated_at = now
    c.modified_till = profile.modified_till = ctx.till.code
    records.save_customer(db, c)
    events = auditing.diff("standard", before_standard, _standard(profile))
    events += auditing.diff("custom", before_fields, profile.fields)
    events += auditing.diff("extended", before_extended, c.extended_fields)
    events += [
        auditing.event("channel", kind, before_channels.get(kind), value)
        for kind, value in ((ch["type"], ch["value"]) for ch in channels)
        if before_channels.get(kind) != value
    ]
    if upgrade:
        events.append(auditing.event("standard", "LoyaltyType", "non_loyalty", "loyalty"))
    if events and downstream.run:
        effects += promotions.on_profile_update(db, ctx, c)
    auditing.record(ctx, db, c.id, events, source=profile.source)
    return Outcome(c.id, warnings, effects if downstream.run and downstream.report else [])


def _standard(profile: Profile) -> dict[str, Any]:
    return {"FirstName": profile.first_name, "LastName": profile.last_name}
