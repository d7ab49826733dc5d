"""The single upsert form: one member added or updated, Capillary's answer where staff look."""

import re

import pytest
from django.urls import reverse

from customers.capillary.schemas import AddCustomerRequest
from customers.members import services
from customers.models import AuditEntry
from tests.conftest import make_staff

URL = reverse("upsert")


def form(**fields):
    return {"source": "INSTORE", "reason": "Member called the helpline", **fields}


def register(mobile="", email=""):
    identifiers = [
        {"type": kind, "value": value}
        for kind, value in (("mobile", mobile), ("email", email))
        if value
    ]
    return services.register_member(
        actor=make_staff(None, f"registrar{mobile}{email}"),
        request=AddCustomerRequest.model_validate(
            {"profiles": [{"identifiers": identifiers, "source": "INSTORE"}]}
        ),
    ).customer_id


def test_a_single_upsert_is_listed_in_the_history_as_upsert_not_bulk(support_client):
    support_client.post(URL, form(mobile="919900000001", first_name="Asha"))
    entry = AuditEntry.objects.get()
    assert entry.get_action_display() == "Upsert"
    history = support_client.get(reverse("history")).content.decode()
    assert '<td data-label="Action">Upsert' in history
    assert '<td data-label="Action">Bulk upsert' not in history


def test_every_input_has_a_label_and_skip_change_identifier_is_explained(support_client):
    page = support_client.get(URL).content.decode()
    inputs = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    assert inputs
    for input_id in inputs:
        assert f'for="{input_id}"' in page, input_id
    assert "skipChangeIdentifier" in page
    assert "nothing is merged" in page


def test_a_new_member_is_registered_and_the_answer_shown(support_client):
    response = support_client.post(
        URL, form(mobile="919900000001", mobile_channel="on", first_name="Asha", sms_bulk="OPTOUT")
    )
    page = response.content.decode()
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPSERT)
    assert f"Saved in Capillary (customer {entry.customer_id})" in page
    assert "mobile: 919900000001" in page
    assert entry.reason == "Member called the helpline"
    assert entry.outcome == AuditEntry.Outcome.OK
    sent = entry.request["profiles"][0]
    assert sent["firstName"] == "Asha"
    assert sent["commChannels"] == [
        {"type": "mobile", "value": "919900000001", "primary": True, "verified": False}
    ]
    assert entry.request["subscriptionInfo"]["subscriptions"][0]["type"] == "OPTOUT"


def test_an_existing_member_found_by_identifier_is_updated(support_client):
    customer_id = register(mobile="919900000002")
    page = support_client.post(
        URL, form(mobile="919900000002", last_name="Rao", mobile_verified="on")
    ).content.decode()
    assert f"Saved in Capillary (customer {customer_id})" in page
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPSERT)
    assert entry.customer_id == str(customer_id)
    assert entry.after["profiles"][0]["lastName"] == "Rao"


def test_skip_change_identifier_is_sent_as_ticked(support_client, emulator):
    customer_id = register(mobile="919900000003")
    support_client.post(
        URL,
        form(mobile="919900000003", email="new@example.com", skip_change_identifier="on"),
    )
    member = services.load_member(customer_id=customer_id, source="INSTORE")
    held = {i.type for p in member.profiles for i in p.identifiers}
    assert "email" not in held


def test_capillarys_warnings_are_shown_in_plain_words(support_client):
    register(mobile="919900000004")
    page = support_client.post(
        URL, form(mobile="919900000004", source="ECOMMERCE")
    ).content.decode()
    assert "Saved in Capillary" in page
    assert "Capillary&#x27;s warnings" in page or "Capillary's warnings" in page
    assert "8050" in page


def test_a_refusal_is_shown_on_the_field_it_concerns(support_client):
    register(mobile="919900000005")
    register(email="b@example.com")
    page = support_client.post(
        URL, form(mobile="919900000005", email="b@example.com")
    ).content.decode()
    assert "Saved in Capillary" not in page
    mobile_field = page[page.index('id="id_mobile"') :]
    assert "Conflicting customers" in mobile_field[: mobile_field.index("</div>")]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPSERT)
    assert entry.outcome == AuditEntry.Outcome.REJECTED
    assert entry.error_codes == "8053"


def test_a_form_without_an_identifier_sends_nothing(support_client):
    page = support_client.post(URL, form(first_name="Asha")).content.decode()
    assert "Give at least one identifier" in page
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UPSERT).exists()


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (
            {"timeout": {"next": 1, "endpoint": "E3", "processed": True, "hold_seconds": 0}},
            "the outcome is unknown",
        ),
        ({"rate_limit": {"next": 4, "endpoint": "E3", "retry_after": 0}}, "rate limit"),
    ],
    ids=["timeout", "rate limit"],
)
def test_a_failed_call_is_a_banner_that_says_what_is_known(
    support_client, emulator, client_sleeps, fault, words
):
    emulator.set_faults(fault)
    page = support_client.post(URL, form(mobile="919900000006")).content.decode()
    assert words in page
    assert 'role="alert" data-answer-banner' in page


def test_htmx_gets_the_form_alone(support_client):
    response = support_client.post(
        URL,
        form(mobile="919900000007"),
        headers={"HX-Request": "true", "HX-Target": "upsert-form"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<form id="upsert-form"')
    assert "Saved in Capillary" in body
    assert "<html" not in body


def test_a_deleting_status_label_asks_again_naming_the_member_before_anything_is_sent(
    support_client,
):
    register(mobile="919900000003")
    data = form(mobile="919900000003", status_label="Deleted")
    html = support_client.post(URL, data).content.decode()
    assert "Delete the member with mobile 919900000003?" in html
    assert "cannot be changed again" in html
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UPSERT).exists()
    token = re.search(r'name="delete_member" value="([^"]+)"', html)
    assert token is not None
    # A confirmation given for other identifiers does not count: it asks again.
    other = support_client.post(
        URL, form(mobile="919900000004", status_label="Deleted", delete_member=token.group(1))
    ).content.decode()
    assert "Delete the member with mobile 919900000004?" in other
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UPSERT).exists()
    support_client.post(URL, {**data, "delete_member": token.group(1)})
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPSERT).count() == 1


def test_a_label_that_does_not_delete_is_sent_without_a_second_step(support_client):
    register(mobile="919900000005")
    html = support_client.post(
        URL, form(mobile="919900000005", status_label="On Hold")
    ).content.decode()
    assert "data-confirm-delete" not in html
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPSERT).count() == 1


def test_a_mobile_typed_with_plus_and_spaces_is_upserted_as_capillary_holds_it(support_client):
    html = support_client.post(
        URL, form(mobile="+91 99000 00009", mobile_channel="on")
    ).content.decode()
    assert "mobile: 919900000009" in html
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPSERT)
    identifiers = entry.request["profiles"][0]["identifiers"]
    assert {"type": "mobile", "value": "919900000009"} in identifiers
