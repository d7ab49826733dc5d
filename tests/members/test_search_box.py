"""The one search box: what staff type, read as Capillary stores it, and what a miss says."""

import pytest
from django.urls import reverse

from customers.capillary.schemas import AddCustomerRequest
from customers.members import services
from customers.members.search import Candidate, Dialling, as_mobile, candidates, search_keyword
from customers.models import AuditEntry

HTMX = {"HX-Request": "true"}

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


def add(first: str, last: str, mobile: str, source: str = "INSTORE", account: str = "") -> int:
    from customers import gateway

    profile = {
        "firstName": first,
        "lastName": last,
        "identifiers": [{"type": "mobile", "value": mobile}],
        "source": source,
        **({"accountId": account} if account else {}),
    }
    created = gateway.get_client().add_customer({"profiles": [profile]})
    assert created.created_id is not None
    return created.created_id


def test_a_name_lists_the_hits_with_what_matched_marked_and_their_sources(support_client):
    priya = add("Priya", "Johnson", "919800000002")
    add("Meera", "Iyer", "919800000004")
    response = support_client.get(reverse("search"), {"q": "pri"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 member whose name or identifier starts with “pri”, in every source." in html
    assert "First name: <mark>Pri</mark>ya" in html
    assert f'href="/customers/{priya}/?source=INSTORE"' in html
    assert "Meera" not in html


def test_a_complete_identifier_nobody_holds_here_is_searched_in_every_source(support_client):
    in_app = add("Asha", "Rao", "919800000005", source="MOBILE_APP", account="app-1")
    response = support_client.get(reverse("search"), {"q": "+91 98000 00005"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mobile: <mark>919800000005</mark>" in html
    assert "in MOBILE_APP (app-1)" in html
    assert f"/customers/{in_app}/?source=MOBILE_APP&amp;account_id=app-1" in html


def test_pages_go_forward_and_back_by_what_capillary_answers(support_client):
    ids = [add("Priya", f"Number{n}", f"9198000001{n:02d}") for n in range(12)]
    first = support_client.get(reverse("search"), {"q": "priya"})
    page = first.context["paging"]
    assert page["summary"] == "Members 1\N{EN DASH}10 of 12"
    assert page["previous"] is None
    second = support_client.get(page["next"])
    assert [hit["id"] for hit in second.context["hits"]] == ids[10:]
    assert second.context["paging"]["summary"] == "Members 11\N{EN DASH}12 of 12"
    assert second.context["paging"]["next"] is None
    assert "offset=0" in second.context["paging"]["previous"]


def test_a_search_that_finds_nobody_says_so_and_offers_registration(store_client):
    response = store_client.get(reverse("search"), {"q": "zed"})
    html = response.content.decode()
    miss = html[html.index("data-search-miss") :]
    assert "name or identifier starts with “zed”, in any source." in miss
    assert reverse("register") in html


def test_each_search_is_one_read_with_the_query_and_the_keyword(support_client):
    priya = add("Priya", "Johnson", "919800000002")
    support_client.get(reverse("search"), {"q": "PRI"})
    read = AuditEntry.objects.get(action="search")
    assert read.identifier_value == "PRI"
    assert read.request["keyword"] == "pri"
    assert read.customer_id == str(priya)


def test_suggestions_while_typing_are_a_listbox_of_options(support_client):
    priya = add("Priya", "Johnson", "919800000002")
    response = support_client.get(reverse("search_suggest"), {"q": "pri"}, headers=HTMX)
    html = response.content.decode()
    assert 'role="listbox"' in html
    assert f'<li role="option" id="suggestion-{priya}" aria-selected="false"' in html
    assert f'data-href="/customers/{priya}/?source=INSTORE"' in html
    read = AuditEntry.objects.get(action="search")
    assert read.request["suggestions"] is True


def test_one_letter_asks_capillary_nothing(support_client):
    response = support_client.get(reverse("search_suggest"), {"q": "p"}, headers=HTMX)
    assert 'role="option"' not in response.content.decode()
    assert not AuditEntry.objects.filter(action="search").exists()


def test_suggestions_without_javascript_are_the_search_page(support_client):
    add("Priya", "Johnson", "919800000002")
    response = support_client.get(reverse("search_suggest"), {"q": "pri"})
    assert "<h1>Find a member</h1>" in response.content.decode()
    assert len(response.context["hits"]) == 1


def test_suggestions_say_when_capillary_does_not_answer(support_client, emulator):
    emulator.set_faults({"error_5xx": {"rate": 1.0}})
    response = support_client.get(reverse("search_suggest"), {"q": "pri"}, headers=HTMX)
    assert response.status_code == 200
    assert "Capillary did not answer: press Enter to search." in response.content.decode()


def test_home_lists_the_members_this_person_opened_last_each_once(support_client):
    asha = add("Asha", "Rao", "919800000005")
    priya = add("Priya", "Johnson", "919800000002")
    for opened in (asha, priya, asha):
        support_client.get(reverse("member", args=[opened]) + "?source=INSTORE")
    html = support_client.get(reverse("home")).content.decode()
    recent = html[html.index("data-recent-members") :]
    assert recent.index("Asha Rao") < recent.index("Priya Johnson")
    assert recent.count("Asha Rao") == 1
    assert f'href="/customers/{priya}/?source=INSTORE"' in recent


def test_home_lists_only_what_this_person_opened(support_client, staff_client):
    asha = add("Asha", "Rao", "919800000005")
    from customers.console.roles import AUDITOR

    staff_client(AUDITOR).get(reverse("member", args=[asha]) + "?source=INSTORE")
    html = support_client.get(reverse("home")).content.decode()
    assert "data-recent-members" not in html


def test_a_full_page_of_hits_is_recorded_with_every_id_in_the_request(support_client):
    ids = [add("Priya", f"Number{n}", f"9198000001{n:02d}") for n in range(10)]
    support_client.get(reverse("search"), {"q": "priya"})
    read = AuditEntry.objects.get(action="search")
    # Ten ids and their commas outgrow the customer id column (64 characters, PostgreSQL).
    assert len(read.customer_id) <= AuditEntry._meta.get_field("customer_id").max_length
    assert read.request["found"] == ids


@pytest.mark.parametrize(
    ("typed", "kind"),
    [("919900012345", "mobile"), ("+91 99000 12345", "mobile"), ("nobody@example.com", "email")],
)
def test_a_complete_identifier_with_no_suggestion_says_enter_opens_its_member(
    support_client, typed, kind
):
    html = support_client.get(reverse("search_suggest"), {"q": typed}, headers=HTMX).content
    text = html.decode()
    assert f"Press Enter to open the member with this {kind}." in text
    assert "Press Enter to search anyway" not in text


def test_a_name_with_no_suggestion_still_offers_the_search(support_client):
    html = support_client.get(reverse("search_suggest"), {"q": "zzqx"}, headers=HTMX).content
    assert "Press Enter to search anyway." in html.decode()
