"""Services against the emulator: every write records one audit entry with the right outcome."""

import pytest
from django.contrib.auth.models import User

from customers.capillary import errors as cap
from customers.capillary.schemas import (
    AddCustomerRequest,
    ChangeIdentifierRequest,
    CustomerLookup,
    SubscriptionChange,
    UpdateCustomerRequest,
    UpsertEntry,
)
from customers.members import services
from customers.models import AuditEntry

Outcome = AuditEntry.Outcome


@pytest.fixture
def staff(db):
    return User.objects.create_user("sam", first_name="Sam", last_name="Support")


def add(staff, mobile="919900000001", source="INSTORE", **extra):
    profile = {
        "firstName": "Asha",
        "identifiers": [{"type": "mobile", "value": mobile}],
        "source": source,
        **extra.pop("profile", {}),
    }
    return services.register_member(
        actor=staff, request=AddCustomerRequest.model_validate({"profiles": [profile], **extra})
    )


def only_entry() -> AuditEntry:
    entries = list(AuditEntry.objects.exclude(action__in=["search", "view_profile"]))
    assert len(entries) == 1
    return entries[0]


def test_registering_returns_the_id_and_the_side_effects_and_records_them(staff):
    result = add(staff)
    entry = only_entry()
    assert result.customer_id
    assert {effect.type for effect in result.side_effects} == {
        "points",
        "coupon",
        "alternate_currency",
    }
    assert entry.outcome == Outcome.OK
    assert entry.customer_id == str(result.customer_id)
    assert entry.actor_username == "sam"
    assert entry.request["profiles"][0]["identifiers"][0]["value"] == "919900000001"
    assert entry.after["id"] == result.customer_id
    assert len(entry.side_effects) == 3


def test_registering_without_waiting_for_downstream_earns_no_side_effects(staff):
    result = services.register_member(
        actor=staff,
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "identifiers": [{"type": "mobile", "value": "919900000002"}],
                        "source": "INSTORE",
                    }
                ]
            }
        ),
        wait_for_downstream=False,
    )
    assert result.side_effects == []


def test_registering_the_same_mobile_twice_is_rejected_with_8006(staff):
    add(staff)
    with pytest.raises(cap.Rejected) as refused:
        add(staff)
    assert [e.code for e in refused.value.errors] == [8006]
    second = AuditEntry.objects.filter(action="register").order_by("-id").first()
    assert second.outcome == Outcome.REJECTED
    assert second.error_codes.strip(",") == "8006"


def test_an_invalid_mobile_for_the_org_is_rejected_with_8014(staff):
    with pytest.raises(cap.Rejected) as refused:
        add(staff, mobile="911234567890")
    assert refused.value.errors[0].code == 8014
    assert refused.value.errors[0].info.field == "mobile"
    assert only_entry().outcome == Outcome.REJECTED


def test_an_unknown_account_of_a_multi_account_source_is_rejected_with_3217(staff):
    with pytest.raises(cap.Rejected) as refused:
        add(staff, source="MOBILE_APP", profile={"accountId": "nope"})
    assert refused.value.errors[0].code == 3217


def test_updating_names_records_before_and_after(staff):
    member = add(staff).customer_id
    services.update_profile(
        actor=staff,
        customer_id=member,
        source="INSTORE",
        changes=UpdateCustomerRequest.model_validate(
            {"profiles": [{"firstName": "Asha", "lastName": "Rao-Iyer", "source": "INSTORE"}]}
        ),
        reason="Married name",
    )
    entry = AuditEntry.objects.get(action="update_profile")
    assert entry.outcome == Outcome.OK
    assert entry.reason == "Married name"
    assert entry.before["profiles"][0].get("lastName") in (None, "")
    assert entry.after["profiles"][0]["lastName"] == "Rao-Iyer"


def test_updating_an_unknown_member_is_not_found_8015(staff):
    with pytest.raises(cap.NotFound):
        services.update_profile(
            actor=staff,
            customer_id=424242,
            source="INSTORE",
            changes=UpdateCustomerRequest.model_validate(
                {"profiles": [{"firstName": "X", "source": "INSTORE"}]}
            ),
            reason="typo",
        )
    assert AuditEntry.objects.get(action="update_profile").outcome == Outcome.REJECTED


def test_turning_a_loyalty_member_non_loyalty_is_refused(staff):
    member = add(staff).customer_id
    with pytest.raises(cap.Rejected) as refused:
        services.update_profile(
            actor=staff,
            customer_id=member,
            source="INSTORE",
            changes=UpdateCustomerRequest.model_validate(
                {"profiles": [{"source": "INSTORE"}], "loyaltyInfo": {"loyaltyType": "non_loyalty"}}
            ),
            reason="asked to leave",
        )
    assert refused.value.errors[0].info.field == "loyalty_type"


def test_enrolling_twice_in_one_program_is_refused(staff):
    member = add(staff).customer_id
    enrollment = {
        "profiles": [{"source": "INSTORE"}],
        "loyaltyProgramEnrollments": [{"programId": 469}],
    }
    with pytest.raises(cap.Rejected):
        services.enroll_member(
            actor=staff,
            customer_id=member,
            source="INSTORE",
            changes=UpdateCustomerRequest.model_validate(enrollment),
            reason="join",
        )
    assert AuditEntry.objects.get(action="enroll").outcome == Outcome.REJECTED


def test_adding_an_email_identifier_shows_on_the_member(staff):
    member = add(staff).customer_id
    services.change_identifiers(
        actor=staff,
        customer_id=member,
        source="INSTORE",
        change=ChangeIdentifierRequest.model_validate(
            {"add": [{"type": "email", "value": "asha@example.com"}]}
        ),
        reason="new email",
    )
    entry = AuditEntry.objects.get(action="change_identifier")
    assert entry.outcome in (Outcome.OK, Outcome.OK_WITH_WARNINGS)
    identifiers = {
        (i["type"], i["value"]) for p in entry.after["profiles"] for i in p["identifiers"]
    }
    assert ("email", "asha@example.com") in identifiers


def test_opting_out_of_promotional_sms_is_recorded(staff):
    member = add(staff).customer_id
    services.change_subscriptions(
        actor=staff,
        customer_id=member,
        change=SubscriptionChange.model_validate(
            {
                "subscriptions": [
                    {"channel": "MOBILE", "priority": "BULK", "type": "OPTOUT", "accountId": ""}
                ]
            }
        ),
        reason="asked at the till",
    )
    states = {
        (s.channel, s.priority): s.type
        for s in services.get_client().get_subscriptions(member).subscriptions
    }
    assert states[("SMS", "BULK")] == "OPTOUT"
    assert AuditEntry.objects.get(action="update_subscriptions").outcome == Outcome.OK


def test_changing_to_an_unknown_status_label_is_rejected_8086(staff):
    member = add(staff).customer_id
    lookup = CustomerLookup(
        source="INSTORE", identifier_name="mobile", identifier_value="919900000001"
    )
    with pytest.raises(cap.Rejected) as refused:
        services.change_status(
            actor=staff, customer_id=member, lookup=lookup, label="Ghost", reason="test"
        )
    assert refused.value.errors[0].info.field == "status_label"
    services.change_status(
        actor=staff, customer_id=member, lookup=lookup, label="On Hold", reason="check"
    )
    assert AuditEntry.objects.filter(action="change_status", outcome=Outcome.OK).count() == 1


def test_a_timeout_on_a_write_leaves_an_unknown_entry(staff, emulator):
    emulator.set_faults({"timeout": {"next": 1, "endpoint": "E1"}})
    with pytest.raises(cap.Unavailable) as failed:
        add(staff)
    assert failed.value.outcome_unknown
    assert only_entry().outcome == Outcome.UNKNOWN


def test_an_outage_leaves_a_failed_entry(staff, emulator):
    emulator.set_faults({"error_5xx": {"rate": 1.0, "endpoint": "E1"}})
    with pytest.raises(cap.Unavailable) as failed:
        add(staff)
    assert not failed.value.outcome_unknown
    assert only_entry().outcome == Outcome.FAILED


def test_a_crash_mid_call_leaves_the_entry_pending(staff, monkeypatch):
    """A worker killed during the call never completes its entry: it stays visible as pending."""

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):
        raise Killed

    # The kill lands after the call went out, so completing the entry never happens.
    monkeypatch.setattr(services.audit, "finish_write", killed)
    with pytest.raises(Killed):
        add(staff)
    assert only_entry().outcome == Outcome.PENDING


def test_searching_detects_the_identifier_kind_and_records_the_read(staff):
    member = add(staff, profile={"lastName": "Rao"}).customer_id
    found = services.find_members(actor=staff, query=" 919900000001 ", source="INSTORE")
    assert [m.id for m in found.members] == [member]
    assert "mobile" in found.tried
    read = AuditEntry.objects.get(action="search")
    assert read.identifier_value == "919900000001"
    by_id = services.find_members(actor=staff, query=str(member), source="INSTORE")
    assert [m.id for m in by_id.members] == [member]


@pytest.mark.parametrize(
    ("typed", "first_kind"),
    [
        ("a@b.example", "email"),
        ("919900000001", "mobile"),
        ("12345", "id"),
        ("EXT-9", "externalId"),
    ],
)
def test_identifier_kinds_are_guessed_from_the_value(typed, first_kind):
    assert services.detect_identifier_kind(typed)[0] == first_kind


def test_secrets_never_reach_the_audit_trail(staff, settings):
    add(staff)
    entry = only_entry()
    dumped = str(entry.request) + str(entry.response) + str(entry.after)
    assert settings.CAPILLARY_TILL_PASSWORD not in dumped
    assert "Authorization" not in dumped


def test_an_unreadable_success_answer_leaves_an_unknown_entry_keeping_the_id(staff, emulator):
    emulator.set_faults({"malformed": {"next": 1, "endpoint": "E1"}})
    with pytest.raises(cap.IntegrationError) as unreadable:
        add(staff)
    assert unreadable.value.meta.status == 200
    entry = only_entry()
    assert entry.outcome == Outcome.UNKNOWN
    created = services.existing_member_id(
        identifier_name="mobile", value="919900000001", source="INSTORE", account_id=""
    )
    assert created
    assert entry.customer_id == str(created)


def test_an_unreadable_answer_to_a_bulk_batch_leaves_every_row_unknown(staff, emulator):
    emulator.set_faults({"malformed": {"next": 1, "endpoint": "E3"}})
    entries = [
        UpsertEntry.model_validate(
            {"profiles": [{"source": "INSTORE", "identifiers": [{"type": "mobile", "value": m}]}]}
        )
        for m in ("919900000011", "919900000012")
    ]
    with pytest.raises(cap.IntegrationError):
        services.upsert_members(
            actor=staff, entries=entries, skip_change_identifier=True, reason="import"
        )
    outcomes = list(
        AuditEntry.objects.filter(action="upsert").values_list("outcome", "customer_id")
    )
    assert outcomes == [(Outcome.UNKNOWN, ""), (Outcome.UNKNOWN, "")]
