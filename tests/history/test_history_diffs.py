"""A write's changes in words: keyed by what things are, bookkeeping apart (12.1, 12.2)."""

from django.urls import reverse

from customers.capillary.schemas import (
    AddCustomerRequest,
    ChangeIdentifierRequest,
    CustomerLookup,
)
from customers.console.roles import SUPPORT
from customers.history import audit
from customers.history.diffs import describe_changes
from customers.members import services
from customers.models import AuditEntry
from tests.conftest import make_staff
from tests.history_factories import AFTER, BEFORE


def words(changes):
    return [(c.label, c.kind, c.before, c.after) for c in changes]


def test_the_changes_read_in_words_with_the_new_status_label():
    changes = describe_changes(BEFORE, AFTER)
    assert words(changes.people) == [
        ("Email (INSTORE)", "added", "", "asha@example.com"),
        ("First name (INSTORE)", "changed", "Asha", "Aasha"),
        ("Status", "changed", "ACTIVE", "SUSPENDED"),
        ("Status label", "changed", "Active", "On Hold"),
    ]
    assert words(changes.bookkeeping) == [
        (
            "Attribution (INSTORE): modified date",
            "changed",
            "2026-01-01T10:00:00Z",
            "2026-03-01T10:00:00Z",
        ),
        ("Label id", "changed", "54", "55"),
    ]


def test_a_replaced_mobile_is_one_change_not_a_shifted_list():
    before = {
        "profiles": [
            {
                "source": "INSTORE",
                "identifiers": [
                    {"type": "email", "value": "a@example.com"},
                    {"type": "mobile", "value": "918000000001"},
                ],
            }
        ]
    }
    after = {
        "profiles": [
            {
                "source": "INSTORE",
                "identifiers": [
                    {"type": "mobile", "value": "918100000001"},
                    {"type": "email", "value": "a@example.com"},
                ],
            }
        ]
    }
    assert words(describe_changes(before, after).people) == [
        ("Mobile (INSTORE)", "changed", "918000000001", "918100000001")
    ]


def test_a_delinked_card_is_one_line_whatever_its_position():
    card = {
        "cardNumber": "C-1",
        "seriesId": 7,
        "statusInfo": {"label": "ACTIVE"},
        "extendedFields": {},
        "issuedDate": "2026-01-01",
    }
    other = {**card, "cardNumber": "C-2"}
    changes = describe_changes({"cardDetails": [card, other]}, {"cardDetails": [other]})
    assert words(changes.people) == [("Card C-1", "removed", "ACTIVE", "")]
    assert all(change.kind == "removed" for change in changes.bookkeeping)


def test_subscriptions_compare_by_channel_and_priority():
    def subscriptions(*items):
        return {
            "subscriptionInfo": {
                "subscriptions": [{"channel": c, "priority": p, "type": t} for c, p, t in items]
            }
        }

    before = subscriptions(("SMS", "BULK", "OPTIN"), ("SMS", "TRANS", "OPTIN"))
    after = subscriptions(("SMS", "TRANS", "OPTIN"), ("SMS", "BULK", "OPTOUT"))
    assert words(describe_changes(before, after).people) == [
        ("Subscription SMS promotional", "changed", "OPTIN", "OPTOUT")
    ]


def test_enrollments_compare_by_program():
    before = {
        "loyaltyProgramDetails": [
            {"programId": 469, "programTitle": "Rewards", "currentSlab": "Silver"}
        ]
    }
    after = {
        "loyaltyProgramDetails": [
            {"programId": 470, "programTitle": "Partners", "currentSlab": "Basic"},
            {"programId": 469, "programTitle": "Rewards", "currentSlab": "Gold"},
        ]
    }
    assert words(describe_changes(before, after).people) == [
        ("Partners: Program title", "added", "", "Partners"),
        ("Partners: Tier", "added", "", "Basic"),
        ("Rewards: Tier", "changed", "Silver", "Gold"),
    ]


def test_a_section_read_on_one_side_only_is_not_reported_as_removed():
    before = {"customerStatus": {"label": "Active"}, "pointsSummary": {"loyaltyPoints": 10}}
    after = {"subscriptionInfo": {"subscriptions": []}}
    changes = describe_changes(before, after)
    assert not changes
    assert changes.not_compared == ["Status label", "Points summary", "Subscriptions"]


def test_a_registration_shows_what_the_member_was_created_with():
    changes = describe_changes(None, {"profiles": [{"source": "INSTORE", "firstName": "Asha"}]})
    assert words(changes.people) == [("First name (INSTORE)", "added", "", "Asha")]


def test_a_status_change_is_recorded_with_both_snapshots_taken_the_same_way(db):
    staff = make_staff(SUPPORT)
    created = services.register_member(
        actor=staff,
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "firstName": "Asha",
                        "source": "INSTORE",
                        "identifiers": [{"type": "mobile", "value": "919900000001"}],
                    }
                ]
            }
        ),
    ).customer_id
    lookup = CustomerLookup(
        source="INSTORE", identifier_name="mobile", identifier_value="919900000001"
    )
    services.change_status(
        actor=staff, customer_id=created, lookup=lookup, label="On Hold", reason="Fraud check"
    )
    entry = AuditEntry.objects.get(action="change_status")
    assert entry.before.keys() == entry.after.keys()
    changes = describe_changes(entry.before, entry.after)
    assert ("Status label", "changed", "Active", "On Hold") in words(changes.people)
    assert not [c for c in changes.people if c.kind == "removed"]
    assert not changes.not_compared


def test_an_identifier_change_reads_as_the_old_and_new_mobile(db):
    staff = make_staff(SUPPORT)
    created = services.register_member(
        actor=staff,
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "firstName": "Asha",
                        "source": "INSTORE",
                        "identifiers": [{"type": "mobile", "value": "919900000001"}],
                    }
                ]
            }
        ),
    ).customer_id
    services.change_identifiers(
        actor=staff,
        customer_id=created,
        source="INSTORE",
        reason="New phone",
        change=ChangeIdentifierRequest.model_validate(
            {
                "add": [{"type": "mobile", "value": "919900000002"}],
                "remove": [{"type": "mobile", "value": "919900000001"}],
            }
        ),
    )
    entry = AuditEntry.objects.get(action="change_identifier")
    changes = describe_changes(entry.before, entry.after)
    assert words(changes.people) == [
        ("Mobile (INSTORE)", "changed", "919900000001", "919900000002")
    ]


def test_the_copy_of_every_identifier_compares_by_what_each_is_not_where_it_sits():
    def profile(identifiers):
        return {"profiles": [{"source": "INSTORE", "identifiersAll": identifiers}]}

    before = profile(
        [{"type": "mobile", "value": "918100000017"}, {"type": "externalId", "value": "EXT-1"}]
    )
    after = profile(
        [{"type": "externalId", "value": "EXT-1"}, {"type": "mobile", "value": "919812345678"}]
    )
    changes = describe_changes(before, after)
    # The external id moved up the list but is untouched: nothing about it shows.
    assert words(changes.bookkeeping) == [
        ("All identifiers: Mobile (INSTORE)", "changed", "918100000017", "919812345678")
    ]
    assert changes.people == []


def test_without_a_before_snapshot_the_changes_say_so(auditor_client):
    sam = make_staff(SUPPORT)
    entry = audit.start_write(
        actor=sam,
        action="upsert",
        reason="Import",
        customer_id="100",
        request={"profiles": [{"lastName": "Rao-Import"}]},
        before=None,
    )
    audit.finish_write(entry, outcome="ok", response={"createdId": "100"}, after=AFTER)
    html = auditor_client.get(reverse("history_detail", args=[entry.pk])).content.decode()
    assert "No snapshot was taken before this write" in html
    assert "what Capillary held after it, not what it changed" in html
    assert "(added)" not in html
    # A registration has no before either, and everything in it was added.
    registered = audit.start_write(
        actor=sam, action="register", reason="", customer_id="", request={}, before=None
    )
    audit.finish_write(registered, outcome="ok", response={}, after=AFTER, customer_id="101")
    html = auditor_client.get(reverse("history_detail", args=[registered.pk])).content.decode()
    assert "No snapshot was taken" not in html
    assert "(added)" in html
