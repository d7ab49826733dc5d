"""The card read on the profile's card panel: `GET /v2/card` through the service."""

import pytest
from django.urls import reverse

from customers.members import services

HTMX = {"HX-Request": "true"}


@pytest.fixture
def holder(emulator) -> int:
    from customers.gateway import get_client

    client = get_client()
    created = client.add_customer(
        {
            "profiles": [
                {
                    "firstName": "Asha",
                    "identifiers": [
                        {"type": "mobile", "value": "919900000001"},
                        {"type": "cardnumber", "value": "MC-0001", "seriesId": 74},
                    ],
                    "source": "INSTORE",
                }
            ]
        }
    )
    return created.created_id


def card_url(customer_id: int, number: str | None) -> str:
    query = "?source=INSTORE" + (f"&number={number}" if number is not None else "")
    return reverse("member_card", kwargs={"customer_id": customer_id}) + query


def test_the_service_reads_the_card_from_capillary(holder):
    card = services.read_card(number="MC-0001")
    assert (card.card_number, card.customer_id, card.series_code) == ("MC-0001", holder, "MCPHY")


def test_the_profile_links_each_card_to_its_check(support_client, holder):
    html = support_client.get(
        reverse("member", kwargs={"customer_id": holder}) + "?source=INSTORE"
    ).content.decode()
    assert "Check this card with Capillary" in html
    assert f"/customers/{holder}/card/?source=INSTORE&amp;number=MC-0001" in html


def test_an_htmx_check_answers_only_the_details(support_client, holder):
    html = support_client.get(card_url(holder, "MC-0001"), headers=HTMX).content.decode()
    assert "<h1>" not in html
    assert "MemberCare Plastic (MCPHY)" in html
    assert "this member" in html
    assert "Expires</dt><dd>" in html


def test_a_card_of_another_member_links_to_them(support_client, holder, emulator):
    html = support_client.get(card_url(holder + 1, "MC-0001")).content.decode()
    assert f'<a href="/customers/{holder}/">member {holder}</a> (not this member)' in html


def test_an_unknown_card_number_is_said_in_words(support_client, holder):
    response = support_client.get(card_url(holder, "NOPE-1"))
    assert response.status_code == 200
    assert "Capillary has no card numbered NOPE-1." in response.content.decode()


def test_a_check_without_a_number_says_what_to_do(support_client, holder):
    html = support_client.get(card_url(holder, None)).content.decode()
    assert "No card number was given" in html
