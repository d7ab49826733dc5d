"""Every client method against the emulator, over real HTTP and in-process.

The two sides never share schemas, so a field name wrong on either side fails
here.
"""

import pytest

from customers.capillary import errors as cap
from customers.capillary.auth import BasicAuth, OAuthAuth
from customers.capillary.client import CapillaryClient, UserContext
from customers.capillary.schemas import CustomerLookup
from customers.capillary_emulator import Emulator, serve

ACTOR = UserContext(entity_id="staff:7", source_id="Sam Support")
MOBILE = "919900000001"


@pytest.fixture(params=["http", "in-process"])
def client(request):
    emulator = Emulator(":memory:")
    if request.param == "http":
        server = serve(emulator)
        host, port = server.server_address[:2]
        made = CapillaryClient(
            f"http://{host}:{port}", BasicAuth("membercare.till", "membercare123")
        )
        yield made
        made.close()
        server.shutdown()
    else:
        made = CapillaryClient(
            "http://emulator.invalid",
            OAuthAuth("membercare-key", "membercare-secret"),
            transport=emulator.transport(),
        )
        yield made
        made.close()


@pytest.fixture
def member(client):
    created = client.add_customer(
        {
            "profiles": [
                {
                    "firstName": "Asha",
                    "lastName": "Rao",
                    "identifiers": [
                        {"type": "mobile", "value": MOBILE},
                        {"type": "email", "value": "asha@example.com"},
                    ],
                    "commChannels": [{"type": "mobile", "value": MOBILE, "primary": True}],
                    "source": "INSTORE",
                }
            ],
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "extendedFields": {"gender": "Female"},
        },
        actor=ACTOR,
    )
    return created.created_id


def by_mobile(value=MOBILE):
    return CustomerLookup(source="INSTORE", identifier_name="mobile", identifier_value=value)


def test_add_customer_returns_an_id_and_side_effects(client):
    created = client.add_customer(
        {"profiles": [{"identifiers": [{"type": "mobile", "value": MOBILE}], "source": "INSTORE"}]},
        actor=ACTOR,
    )
    assert created.created_id
    assert {effect.type for effect in created.side_effects} >= {"points"}
    assert created.meta.request_id
    assert created.meta.status == 200


def test_add_customer_without_waiting_has_no_side_effects(client):
    created = client.add_customer(
        {"profiles": [{"identifiers": [{"type": "mobile", "value": MOBILE}], "source": "INSTORE"}]},
        wait_for_downstream=False,
    )
    assert created.side_effects == []


def test_lookups_and_get_by_id_agree(client, member):
    assert client.lookup_customer_id(by_mobile()).entity == member
    found = client.lookup_customer(by_mobile(), embed=["points", "subscriptions"])
    assert found.id == member
    assert found.profiles[0].first_name == "Asha"
    by_id = client.get_customer(member, source="INSTORE", embed=["mlp"])
    assert by_id.extended_fields["gender"] == "Female"


def test_search_finds_a_member_by_the_start_of_a_name_or_identifier(client, member):
    by_name = client.search_customers("as")
    assert [hit.user_id for hit in by_name.data] == [member]
    assert by_name.pagination is not None
    assert by_name.pagination.total == 1
    matched = {(m.id_type, m.id_value) for m in by_name.data[0].matched_identifiers}
    assert matched == {("firstName", "Asha"), ("email", "asha@example.com")}
    assert by_name.data[0].profiles[0].last_name == "Rao"
    assert [hit.user_id for hit in client.search_customers(MOBILE[:6]).data] == [member]
    assert client.search_customers("zz").data == []


def test_an_unknown_member_is_not_found(client):
    with pytest.raises(cap.NotFound):
        client.lookup_customer(by_mobile("919900000099"))


def test_update_by_id_and_by_lookup(client, member):
    client.update_customer(
        member,
        {"profiles": [{"lastName": "Iyer", "source": "INSTORE"}]},
        source="INSTORE",
        actor=ACTOR,
    )
    client.update_customer_by_lookup(
        by_mobile(), {"profiles": [{"firstName": "Asha M", "source": "INSTORE"}]}, actor=ACTOR
    )
    profile = client.get_customer(member, source="INSTORE").profiles[0]
    assert (profile.first_name, profile.last_name) == ("Asha M", "Iyer")


def test_update_of_an_unknown_member_raises_not_found(client):
    with pytest.raises(cap.NotFound):
        client.update_customer(
            424242, {"profiles": [{"firstName": "X", "source": "INSTORE"}]}, source="INSTORE"
        )


def test_bulk_upsert_reports_each_item(client, member):
    answer = client.bulk_upsert(
        [
            {
                "profiles": [
                    {
                        "identifiers": [{"type": "mobile", "value": MOBILE}],
                        "lastName": "Upserted",
                        "source": "INSTORE",
                    }
                ]
            },
            {
                "profiles": [
                    {
                        "identifiers": [{"type": "mobile", "value": "919900000002"}],
                        "source": "INSTORE",
                    }
                ]
            },
            {
                "profiles": [
                    {
                        "identifiers": [{"type": "mobile", "value": "919900000003"}],
                        "source": "INSTORE",
                    }
                ],
                "statusLabel": "Ghost",
            },
        ],
        skip_change_identifier=True,
        actor=ACTOR,
    )
    assert answer.total_count == 3
    assert answer.failure_count == 1
    assert answer.response[0].entity_id == member
    assert answer.response[1].ok
    assert [e.code for e in answer.response[2].errors] == [3017]


def test_v11_update_answers_per_customer(client, member):
    answer = client.update_customer_v11({"mobile": MOBILE, "firstname": "Asha V"}, actor=ACTOR)
    item = answer.response.customers.customer[0]
    assert item.item_status.success is True
    assert client.get_customer(member, source="INSTORE").profiles[0].first_name == "Asha V"


def test_change_identifier_adds_an_email(client, member):
    client.change_identifier(
        member, {"add": [{"type": "externalId", "value": "EXT-1"}]}, source="INSTORE", actor=ACTOR
    )
    identifiers = {
        (i.type, i.value)
        for i in client.get_customer(member, source="INSTORE").profiles[0].identifiers
    }
    assert ("externalId", "EXT-1") in identifiers


def test_subscriptions_read_and_write(client, member):
    client.update_subscriptions(
        member,
        {
            "subscriptions": [
                {"channel": "EMAIL", "priority": "BULK", "type": "OPTOUT", "accountId": ""}
            ]
        },
        actor=ACTOR,
    )
    states = {
        (s.channel, s.priority): s.type for s in client.get_subscriptions(member).subscriptions
    }
    assert states[("EMAIL", "BULK")] == "OPTOUT"
    assert client.get_subscriptions(by_mobile()).subscriptions


def test_status_change_and_its_log(client, member):
    client.change_status(by_mobile(), {"label": "On Hold", "reason": "checking"}, actor=ACTOR)
    log = client.get_status_log(member)
    assert any("On Hold" in str(row.model_dump()) for row in log.data)
    with pytest.raises(cap.Rejected) as refused:
        client.change_status(by_mobile(), {"label": "Ghost", "reason": "x"}, actor=ACTOR)
    assert refused.value.errors[0].info.field == "status_label"


def test_extended_field_catalogue_and_config(client):
    names = {f.name for fields in client.get_extended_fields().entity.values() for f in fields}
    assert {"gender", "dob", "city"} <= names
    assert client.get_extended_field_config().data


def test_capillarys_audit_log_carries_the_staff_member(client, member):
    client.update_customer(
        member,
        {"profiles": [{"lastName": "Audited", "source": "INSTORE"}]},
        source="INSTORE",
        actor=ACTOR,
    )
    rows = client.get_audit_logs(member).data
    assert rows
    assert any("Sam Support" in str(row.model_dump(by_alias=True)) for row in rows)


def test_token_generation_and_refusal(client):
    token = client.generate_token("membercare-key", "membercare-secret")
    assert token.data is not None
    with pytest.raises(cap.AuthFailed):
        client.generate_token("membercare-key", "wrong")


def test_bad_till_credentials_fail_authentication():
    emulator = Emulator(":memory:")
    with (
        CapillaryClient(
            "http://emulator.invalid",
            BasicAuth("membercare.till", "wrong"),
            transport=emulator.transport(),
        ) as client,
        pytest.raises(cap.AuthFailed),
    ):
        client.lookup_customer_id(by_mobile())


def test_a_card_reads_by_number(client, member):
    client.change_identifier(
        member,
        {"add": [{"type": "cardnumber", "value": "MC-CARD-0001", "seriesId": 73}]},
        source="INSTORE",
        actor=ACTOR,
    )
    card = client.get_card("MC-CARD-0001")
    assert (card.card_number, card.customer_id, card.series_code) == (
        "MC-CARD-0001",
        member,
        "MCPRM",
    )
    assert card.status_info is not None
    assert (card.status_info.label, card.status_info.status) == ("ACTIVE", "ACTIVE")
    assert card.issued_date
    assert card.expiry_date
    with pytest.raises(cap.Rejected) as refused:
        client.get_card("NO-SUCH-CARD")
    assert [e.code for e in refused.value.errors] == [3010]
    with pytest.raises(ValueError, match="card number"):
        client.get_card("  ")


def test_v11_update_with_the_official_samples_empty_fraud_status(client, member):
    answer = client.update_customer_v11({"id": member, "fraud_status": {"status": ""}})
    assert answer.customers[0].ok
