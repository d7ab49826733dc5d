"""The one search box: what staff type, read as Capillary stores it, and what a miss says."""

import pytest
from django.urls import reverse

from customers.capillary.schemas import AddCustomerRequest
from customers.members import services
from customers.members.search import Candidate, Dialling, as_mobile, candidates, search_keyword
from customers.models import AuditEntry

INDIA = Dialling(country_code="91", national_length=10)


@pytest.fixture
def asha(support_client):
    """A member as Capillary stores her: mobile with its country code, email in lower case."""
    from django.contrib.auth.models import User

    answer = services.register_member(
        actor=User.objects.get(username="sam"),
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "firstName": "Asha",
                        "lastName": "Rao",
                        "source": "INSTORE",
                        "identifiers": [
                            {"type": "mobile", "value": "918100000004"},
                            {"type": "email", "value": "asha.rao@example.com"},
                        ],
                    }
                ]
            }
        ),
    )
    return answer.customer_id


@pytest.mark.parametrize(
    "typed",
    ["+91 81000 00004", "081000 00004", "+91-81000-00004", "8100000004", "0091 8100000004"],
)
def test_a_mobile_typed_with_spaces_dashes_plus_or_trunk_zero_is_read_with_its_country_code(typed):
    assert as_mobile(typed, INDIA) == "918100000004"
    assert candidates(typed, INDIA)[0] == Candidate("mobile", "918100000004")


def test_an_email_is_looked_up_in_lower_case():
    assert candidates("  Asha.Rao@Example.COM ", INDIA) == [
        Candidate("email", "asha.rao@example.com")
    ]


def test_a_name_is_no_identifier_and_goes_to_the_customer_search():
    assert candidates("Priya Johnson", INDIA) == []
    assert candidates("asha@", INDIA) == []


def test_a_short_number_is_tried_as_customer_id_first_and_never_as_a_mobile():
    kinds = [c.kind for c in candidates("100000017", INDIA)]
    assert kinds == ["id", "cardnumber", "externalId"]


def test_the_search_keyword_drops_spaces_and_the_trunk_zero_and_lowers_case():
    assert search_keyword("+91 81000", INDIA) == "9181000"
    assert search_keyword("0810", INDIA) == "91810"
    assert search_keyword("  PRI ", INDIA) == "pri"
    assert search_keyword("Asha.Rao@EXAMPLE", INDIA) == "asha.rao@example"


def test_the_home_box_sends_only_q_and_finds_the_member_in_the_default_source(support_client, asha):
    # What the form on / submits: q and nothing else.
    response = support_client.get(reverse("search"), {"q": "918100000004"})
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{asha}/?source=INSTORE"


def test_a_search_link_without_a_source_uses_the_configured_default(support_client, asha, settings):
    settings.CAPILLARY_SOURCE = "INSTORE"
    response = support_client.get(reverse("search") + "?q=asha.rao@example.com")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/customers/{asha}/")


@pytest.mark.parametrize("typed", ["+91 81000 00004", "081000 00004", "ASHA.RAO@Example.com"])
def test_what_staff_type_finds_the_member(support_client, asha, typed):
    response = support_client.get(reverse("search"), {"q": typed})
    assert response.status_code == 302
    assert response["Location"].startswith(f"/customers/{asha}/")


def test_the_search_is_recorded_as_a_read_with_what_was_typed(support_client, asha):
    support_client.get(reverse("search"), {"q": "081000 00004"})
    read = AuditEntry.objects.get(action="search")
    assert read.identifier_value == "081000 00004"
    assert read.request["query"] == "081000 00004"
    assert ["mobile", "918100000004"] in read.request["looked_up"]
    assert read.customer_id == str(asha)


def test_a_miss_says_so_in_staff_words_and_offers_the_next_step(store_client):
    response = store_client.get(reverse("search"), {"q": "+91 81000 00099"})
    html = response.content.decode()
    miss = html[html.index("data-search-miss") :]
    assert "Nobody in INSTORE has 918100000099 as their mobile number." in miss
    assert "externalId" not in miss
    assert "cardnumber" not in miss
    assert "Search another source" in html
    assert reverse("search") + "?q=%2B91+81000+00099&amp;source=WECHAT" in html
    assert reverse("register") in html
