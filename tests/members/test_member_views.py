"""The member screens through Django's test client: plain posts and htmx swaps."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from customers.capillary.schemas import AddCustomerRequest
from customers.members import services
from customers.models import AuditEntry, FormToken

HTMX = {"HX-Request": "true"}


def token_of(response) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]+)"', response.content.decode()).group(1)


def registration(client, **overrides):
    data = {
        "form_token": token_of(client.get(reverse("register"))),
        "mobile": "919900000001",
        "email": "asha@example.com",
        "first_name": "Asha",
        "last_name": "Rao",
        "source": "INSTORE",
        "loyalty_type": "loyalty",
        "program": "469",
        "sms_trans": "OPTIN",
    }
    data.update(overrides)
    return data


@pytest.fixture
def member_id(store_client):
    response = store_client.post(reverse("register"), registration(store_client))
    assert response.status_code == 302
    return int(AuditEntry.objects.get(action="register").customer_id)


def test_registering_shows_a_receipt_with_the_id_and_what_it_earned(store_client):
    response = store_client.post(reverse("register"), registration(store_client), follow=True)
    html = response.content.decode()
    entry = AuditEntry.objects.get(action="register")
    assert f"data-customer-id>{entry.customer_id}<" in html
    assert "<dt>Points for this registration</dt><dd>100 points</dd>" in html
    assert re.search(
        r"<dt>Coupon</dt><dd>\w+: Welcome Offer - 10% flat discount, valid until \d{4}-\d\d-\d\d",
        html,
    )
    # The alternate currency by the org's name for it, not Capillary's code "ac1".
    assert "<dt>Alternate currency</dt><dd>110 MemberCare Coins</dd>" in html
    assert "ac1" not in html


def test_the_receipt_names_the_member_card_program_tier_referrer_and_staff(store_client):
    User.objects.filter(username="maya").update(last_name="Menon")
    referrer = store_client.post(
        reverse("register"),
        registration(store_client, mobile="919900000050", email="", first_name="Ravi"),
    )
    assert referrer.status_code == 302
    referrer_id = AuditEntry.objects.get(action="register").customer_id
    data = registration(
        store_client,
        mobile="919900000051",
        email="",
        first_name="Meera",
        last_name="Iyer",
        card_number="MCPRM0000051",
        card_series="73",
        program="699",
        tier="699:2",
        referral_code=f"REF{referrer_id}",
    )
    html = store_client.post(reverse("register"), data, follow=True).content.decode()
    assert "<dd data-receipt-name>Meera Iyer</dd>" in html
    assert "<dd data-receipt-mobile>919900000051</dd>" in html
    assert "<dd data-receipt-card>MCPRM0000051 (MemberCare Premier)</dd>" in html
    assert "<dd data-receipt-program>Partner Club</dd>" in html
    assert "<dd data-receipt-tier>Elite</dd>" in html
    assert (
        "<dt>Referral points to the referrer</dt>"
        f"<dd>100 points to Ravi Rao (member {referrer_id}) for the referral</dd>" in html
    )
    assert "<dt>Points for this registration</dt><dd>100 points</dd>" in html
    assert "<dt>Referral points to this member</dt><dd>100 points</dd>" in html
    # The staff member's name, not the username; a heading that takes focus; a print button.
    assert "Registered by <span data-receipt-staff>Maya Menon</span>" in html
    assert 'id="receipt-title" tabindex="-1" data-focus-on-load' in html
    assert "data-print" in html


def test_a_double_submit_registers_once_and_shows_the_same_receipt(store_client):
    data = registration(store_client)
    first = store_client.post(reverse("register"), data)
    second = store_client.post(reverse("register"), data)
    assert AuditEntry.objects.filter(action="register").count() == 1
    assert second["Location"] == first["Location"]


def test_an_htmx_registration_redirects_the_whole_page_to_the_receipt(store_client):
    response = store_client.post(reverse("register"), registration(store_client), headers=HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/customers/register/receipt/")


def test_bad_input_is_shown_at_the_field_and_nothing_is_sent(store_client):
    data = registration(store_client, mobile="99-00", email="not an email", first_name="x" * 101)
    response = store_client.post(reverse("register"), data, headers=HTMX)
    form = response.context["form"]
    assert response.status_code == 200
    assert "country code" in form.errors["mobile"][0]
    assert "email" in form.errors
    assert "first_name" in form.errors
    assert not AuditEntry.objects.exists()
    html = response.content.decode()
    assert 'id="register-form"' in html
    assert form.errors["mobile"][0] in html
    assert 'aria-invalid="true"' in html
    assert "<html" not in response.content.decode()


def test_a_register_without_any_identifier_is_refused_at_the_mobile(store_client):
    data = registration(store_client, mobile="", email="")
    response = store_client.post(reverse("register"), data)
    assert "at least one identifier" in response.context["form"].errors["mobile"][0]


def test_capillarys_8014_lands_on_the_mobile_field(store_client):
    response = store_client.post(
        reverse("register"), registration(store_client, mobile="911234567890")
    )
    errors = response.context["form"].errors["mobile"]
    assert any("8014" in error for error in errors)
    assert AuditEntry.objects.get(action="register").outcome == "rejected"
    # A refused form may be corrected and sent again with the same token.
    assert not FormToken.objects.exists()


def test_registering_an_existing_mobile_links_to_the_member(store_client, member_id):
    response = store_client.post(reverse("register"), registration(store_client))
    html = response.content.decode()
    assert any("8006" in e for e in response.context["form"].errors["mobile"])
    assert f'href="/customers/{member_id}/"' in html
    assert (
        "A member already holds this mobile: "
        f'<a href="/customers/{member_id}/">open member {member_id}</a>' in html
    )


def test_the_duplicate_check_while_typing_links_to_the_member(store_client, member_id):
    response = store_client.get(
        reverse("register_check") + "?mobile=919900000001&source=INSTORE", headers=HTMX
    )
    html = response.content.decode()
    assert f"/customers/{member_id}/" in html
    assert "<html" not in html
    empty = store_client.get(reverse("register_check") + "?mobile=919900000999&source=INSTORE")
    assert "/customers/" not in empty.content.decode()


def test_an_outage_shows_the_banner_and_leaves_a_failed_entry(store_client, emulator):
    emulator.set_faults({"error_5xx": {"rate": 1.0, "endpoint": "E1"}})
    response = store_client.post(reverse("register"), registration(store_client))
    assert "Capillary did not answer. Nothing was changed." in response.content.decode()
    assert AuditEntry.objects.get(action="register").outcome == "failed"


def test_a_timeout_on_registration_says_the_outcome_is_unknown(store_client, emulator):
    emulator.set_faults({"timeout": {"next": 1, "endpoint": "E1", "processed": True}})
    data = registration(store_client)
    response = store_client.post(reverse("register"), data)
    assert "the outcome is unknown" in response.content.decode()
    # The same form sent again must not register a second member blindly.
    again = store_client.post(reverse("register"), data, follow=True)
    assert "Search for the member before registering again" in again.content.decode()
    assert AuditEntry.objects.filter(action="register").count() == 1


def test_search_with_one_match_opens_the_profile(support_client, member_id):
    response = support_client.get(reverse("search") + "?q=919900000001&source=INSTORE")
    assert response["Location"] == f"/customers/{member_id}/?source=INSTORE"


def test_search_by_htmx_lists_matches_in_the_results_partial(support_client, member_id):
    response = support_client.get(
        reverse("search") + "?q=asha@example.com&source=INSTORE", headers=HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert f"/customers/{member_id}/" in html


def test_search_with_no_match_offers_registration(store_client):
    response = store_client.get(reverse("search") + "?q=919900000077&source=INSTORE")
    assert "Nobody in INSTORE has 919900000077 as their" in response.content.decode()
    assert reverse("register") in response.content.decode()


def test_a_multi_account_source_needs_its_account(support_client):
    response = support_client.get(reverse("search") + "?q=919900000077&source=MOBILE_APP")
    assert "needs one of its accounts" in response.context["form"].errors["account_id"][0]


def test_the_profile_shows_the_360_view(support_client, member_id):
    html = support_client.get(
        reverse("member", args=[member_id]) + "?source=INSTORE"
    ).content.decode()
    for expected in (
        "Asha",
        "919900000001",
        "MemberCare Rewards",
        "Silver",
        "Active",
        "SMS, transactional",
        "Register",
    ):
        assert expected in html
    assert AuditEntry.objects.filter(action="view_profile", customer_id=str(member_id)).exists()


def test_an_unknown_member_gets_a_clear_page(support_client):
    response = support_client.get(reverse("member", args=[999999]) + "?source=INSTORE")
    assert response.status_code == 404
    assert "Capillary has no such member" in response.content.decode()
    assert "Nothing was changed" not in response.content.decode()


def test_editing_names_and_channels_saves_and_shows_the_answer(support_client, member_id):
    url = reverse("member_edit", args=[member_id]) + "?source=INSTORE"
    data = {
        "first_name": "Asha",
        "last_name": "Iyer",
        "reason": "Name change at the desk",
        "channels-TOTAL_FORMS": "2",
        "channels-INITIAL_FORMS": "0",
        "channels-0-type": "mobile",
        "channels-0-value": "919900000001",
        "channels-0-primary": "on",
        "channels-1-type": "email",
        "channels-1-value": "asha.iyer@example.com",
    }
    response = support_client.post(url, data, headers=HTMX)
    # htmx: only the answer comes back, into the slot above the form the user still sees.
    assert "Saved in Capillary" in response.content.decode()
    assert response["HX-Retarget"] == "#edit-answer"
    assert "<form" not in response.content.decode()
    entry = AuditEntry.objects.get(action="update_profile")
    assert entry.reason == "Name change at the desk"
    assert entry.after["profiles"][0]["lastName"] == "Iyer"
    # Without JavaScript the whole page comes back with the answer on top of the form.
    plain = support_client.post(url, {**data, "last_name": "Iyer-Rao"})
    assert "Saved in Capillary" in plain.content.decode()
    assert 'id="edit-form"' in plain.content.decode()


def test_editing_needs_a_reason(support_client, member_id):
    url = reverse("member_edit", args=[member_id]) + "?source=INSTORE"
    response = support_client.post(
        url, {"first_name": "A", "channels-TOTAL_FORMS": "0", "channels-INITIAL_FORMS": "0"}
    )
    assert "reason" in response.context["form"].errors
    assert not AuditEntry.objects.filter(action="update_profile").exists()


def test_a_bad_mobile_in_a_channel_is_shown_on_its_row(support_client, member_id):
    url = reverse("member_edit", args=[member_id]) + "?source=INSTORE"
    data = {
        "reason": "fix",
        "channels-TOTAL_FORMS": "1",
        "channels-INITIAL_FORMS": "0",
        "channels-0-type": "mobile",
        "channels-0-value": "12ab",
    }
    response = support_client.post(url, data)
    assert "country code" in response.context["channels"].forms[0].errors["value"][0]


def test_loyalty_members_are_never_offered_the_way_back(support_client, member_id):
    html = support_client.get(
        reverse("member_edit", args=[member_id]) + "?source=INSTORE"
    ).content.decode()
    assert "upgrade_to_loyalty" not in html
    assert "cannot be undone" in html


def test_a_channel_row_is_served_for_htmx(support_client, member_id):
    html = support_client.get(
        reverse("member_channel_row", args=[member_id]) + "?index=3"
    ).content.decode()
    assert 'name="channels-3-value"' in html


def test_changing_an_identifier_asks_for_confirmation_first(support_client, member_id):
    url = reverse("member_identifiers", args=[member_id]) + "?source=INSTORE"
    data = {
        "operation": "add",
        "type": "email",
        "value": "second@example.com",
        "reason": "second address",
    }
    review = support_client.post(url, data)
    assert "This replaces email asha@example.com with second@example.com" in review.content.decode()
    assert not AuditEntry.objects.filter(action="change_identifier").exists()
    done = support_client.post(url, {**data, "confirmed": "on"})
    assert "Saved in Capillary" in done.content.decode()
    assert AuditEntry.objects.filter(action="change_identifier").count() == 1


def test_the_confirmation_warns_when_another_member_holds_it_in_this_source(
    support_client, store_client, member_id
):
    other = registration(store_client, mobile="919900000002", email="b@example.com")
    assert store_client.post(reverse("register"), other).status_code == 302
    url = reverse("member_identifiers", args=[member_id]) + "?source=INSTORE"
    data = {"operation": "add", "type": "mobile", "value": "919900000002", "reason": "merge"}
    review = support_client.post(url, data).content.decode()
    assert "Capillary will refuse this change (code 8008)" in review
    # No "Yes" for a change that cannot be made; the holder is one click away.
    assert "Yes, make this change" not in review
    holder = services.existing_member_id(
        identifier_name="mobile", value="919900000002", source="INSTORE"
    )
    assert f'href="/customers/{holder}/?source=INSTORE">Open member {holder}</a>' in review
    done = support_client.post(url, {**data, "confirmed": "on"})
    assert "8008" in done.content.decode()


def test_changing_the_mobile_says_which_number_it_replaces(support_client, member_id):
    url = reverse("member_identifiers", args=[member_id]) + "?source=INSTORE"
    data = {"operation": "add", "type": "mobile", "value": "919900000077", "reason": "new phone"}
    review = support_client.post(url, data).content.decode()
    assert "This replaces mobile 919900000001 with 919900000077 on member" in review
    assert "will be added" not in review


def test_a_cross_source_merge_is_spelled_out_and_the_victim_points_to_the_survivor(
    support_client, member_id
):
    survivor = services.register_member(
        actor=User.objects.get(username="sam"),
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "identifiers": [{"type": "mobile", "value": "919900000002"}],
                        "source": "MOBILE_APP",
                        "accountId": "app-1",
                    }
                ]
            }
        ),
    ).customer_id
    url = reverse("member_identifiers", args=[member_id]) + "?source=INSTORE"
    data = {"operation": "add", "type": "mobile", "value": "919900000002", "reason": "same person"}
    review = support_client.post(url, data).content.decode()
    assert f"MERGES member {member_id} into member {survivor}" in review
    done = support_client.post(url, {**data, "confirmed": "on"}).content.decode()
    assert "8051" in done
    assert f"/customers/{survivor}/" in done
    profile = support_client.get(reverse("member", args=[member_id]) + "?source=INSTORE")
    assert "data-merged" in profile.content.decode()
    assert f"/customers/{survivor}/" in profile.content.decode()


def test_subscriptions_can_be_toggled(support_client, member_id):
    url = reverse("member_subscriptions", args=[member_id]) + "?source=INSTORE"
    data = {
        "sms_trans": "OPTIN",
        "sms_bulk": "OPTOUT",
        "email_trans": "OPTIN",
        "email_bulk": "OPTIN",
        "reason": "asked",
    }
    response = support_client.post(url, data)
    assert "Saved in Capillary" in response.content.decode()
    states = {
        (s.channel, s.priority): s.type
        for s in services.get_client().get_subscriptions(member_id).subscriptions
    }
    assert states[("SMS", "BULK")] == "OPTOUT"
    unchanged = support_client.post(url, data)
    assert "Nothing to change" in unchanged.content.decode()


def test_the_status_label_changes_and_a_bad_one_is_refused_at_the_field(support_client, member_id):
    url = reverse("member_status", args=[member_id]) + "?source=INSTORE"
    assert (
        "Saved in Capillary"
        in support_client.post(url, {"label": "On Hold", "reason": "check"}).content.decode()
    )
    refused = support_client.post(url, {"label": "Ghost", "reason": "check"})
    assert "label" in refused.context["form"].errors


def test_the_status_form_starts_at_the_members_current_label(support_client, member_id):
    url = reverse("member_status", args=[member_id]) + "?source=INSTORE"
    assert support_client.get(url).context["form"]["label"].value() == "Active"
    saved = support_client.post(url, {"label": "On Hold", "reason": "check"})
    # After the change, and on a fresh load, it shows the new label, not the first one.
    assert saved.context["form"]["label"].value() == "On Hold"
    html = support_client.get(url).content.decode()
    assert '<option value="On Hold" selected>' in html


def test_enrolling_twice_in_a_program_shows_capillarys_refusal(store_client, member_id):
    url = reverse("member_enroll", args=[member_id]) + "?source=INSTORE"
    response = store_client.post(url, {"program": "469", "reason": "join"})
    html = response.content.decode()
    assert "Capillary refused the change" in html or "program" in response.context["form"].errors
    assert AuditEntry.objects.get(action="enroll").outcome == "rejected"


def test_auditors_see_no_write_controls_on_a_profile(auditor_client, member_id):
    html = auditor_client.get(
        reverse("member", args=[member_id]) + "?source=INSTORE"
    ).content.decode()
    for control in ("edit", "identifiers", "subscriptions", "status", "enroll"):
        assert f"/customers/{member_id}/{control}/" not in html


def test_registration_offers_the_orgs_extended_fields_from_capillary(store_client):
    html = store_client.get(reverse("register")).content.decode()
    assert 'name="ext_gender"' in html
    assert 'name="ext_dob"' in html
    data = registration(store_client, ext_gender="Female", ext_dob="1990-04-01", ext_city="Pune")
    assert store_client.post(reverse("register"), data).status_code == 302
    entry = AuditEntry.objects.get(action="register")
    assert entry.request["extendedFields"]["gender"] == "Female"
    assert entry.after["extendedFields"]["city"] == "Pune"


def test_the_profile_lists_cards_with_their_status(support_client):
    data = registration(
        support_client, card_number="MCPRM0000000042", card_series="73", card_status="ACTIVE"
    )
    assert support_client.post(reverse("register"), data).status_code == 302
    member = AuditEntry.objects.get(action="register").customer_id
    html = support_client.get(reverse("member", args=[member]) + "?source=INSTORE").content.decode()
    assert "MCPRM0000000042" in html
    assert "MemberCare Premier" in html


def test_seeded_members_of_every_shape_render(support_client, emulator):
    from customers.capillary_emulator import seed_members

    seed_members(emulator, 40, rng_seed=7)
    for member in range(100000001, 100000041):
        response = support_client.get(reverse("member", args=[member]) + "?source=INSTORE")
        assert response.status_code in (200, 404), (member, response.status_code)


def test_capillarys_own_audit_log_shows_beside_the_profile(support_client, member_id):
    url = reverse("member_edit", args=[member_id]) + "?source=INSTORE"
    data = {
        "last_name": "Iyer",
        "reason": "name",
        "channels-TOTAL_FORMS": "0",
        "channels-INITIAL_FORMS": "0",
    }
    support_client.post(url, data)
    profile = support_client.get(reverse("member", args=[member_id]) + "?source=INSTORE")
    log_url = reverse("member_capillary_audit", args=[member_id])
    assert log_url in profile.content.decode()
    fragment = support_client.get(log_url + "?source=INSTORE", headers=HTMX).content.decode()
    assert "from Capillary" in fragment
    assert "Sam" in fragment  # the staff member reached Capillary through USER-CONTEXT headers
    assert "<html" not in fragment


def test_store_managers_do_not_get_capillarys_audit_log(store_client, member_id):
    profile = store_client.get(reverse("member", args=[member_id]) + "?source=INSTORE")
    assert "capillary-audit" not in profile.content.decode()


def test_one_time_tokens_older_than_a_day_are_pruned(store_client):
    from datetime import timedelta

    from django.utils import timezone

    stale = FormToken.objects.create(token="stale")
    FormToken.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert store_client.post(reverse("register"), registration(store_client)).status_code == 302
    assert not FormToken.objects.filter(token="stale").exists()
    assert FormToken.objects.count() == 1


def test_an_unreadable_answer_to_a_registration_keeps_the_form_from_registering_twice(
    store_client, emulator
):
    emulator.set_faults({"malformed": {"next": 1, "endpoint": "E1"}})
    data = registration(store_client)
    response = store_client.post(reverse("register"), data)
    assert "the outcome is unknown" in response.content.decode()
    entry = AuditEntry.objects.get(action="register")
    assert entry.outcome == "unknown"
    again = store_client.post(reverse("register"), data, follow=True)
    assert "Search for the member before registering again" in again.content.decode()
    assert AuditEntry.objects.filter(action="register").count() == 1


@pytest.mark.parametrize("typed", ["+91 99000 00007", "099000 00007", "9900000007"])
def test_a_mobile_typed_with_plus_spaces_or_a_trunk_zero_registers_as_capillary_holds_it(
    store_client, typed
):
    response = store_client.post(
        reverse("register"), registration(store_client, mobile=typed, email="")
    )
    assert response.status_code == 302
    sent = AuditEntry.objects.get(action="register").request["profiles"][0]["identifiers"]
    assert {"type": "mobile", "value": "919900000007"} in sent


def test_the_duplicate_check_reads_a_mobile_typed_with_plus_and_spaces(store_client, member_id):
    html = store_client.get(
        reverse("register_check") + "?mobile=%2B91+99000+00001&source=INSTORE", headers=HTMX
    ).content.decode()
    assert f"/customers/{member_id}/" in html


def test_a_channel_mobile_typed_with_plus_and_spaces_is_sent_as_digits(support_client, member_id):
    url = reverse("member_edit", args=[member_id]) + "?source=INSTORE"
    data = {
        "reason": "fix",
        "channels-TOTAL_FORMS": "1",
        "channels-INITIAL_FORMS": "0",
        "channels-0-type": "mobile",
        "channels-0-value": "+91 99000 00001",
        "channels-0-primary": "on",
    }
    response = support_client.post(url, data)
    assert "Saved in Capillary" in response.content.decode()
    entry = AuditEntry.objects.get(action="update_profile")
    channels = entry.request["profiles"][0]["commChannels"]
    assert channels[0]["value"] == "919900000001"


def test_the_duplicate_check_row_disables_nothing_it_does_not_contain(store_client):
    # The form's hx-disabled-elt ("find button[type=submit]") is inherited by the row,
    # which has no button: htmx logged an error on every keystroke.
    html = store_client.get(reverse("register")).content.decode()
    row = html[: html.index('id="id_mobile"')]
    row = row[row.rindex('<div class="row"') :]
    assert 'hx-disabled-elt="unset"' in row


def test_a_customer_id_outside_capillarys_range_is_the_consoles_404_without_asking(
    support_client, monkeypatch
):
    asked = []
    monkeypatch.setattr(services, "load_member", lambda **kwargs: asked.append(kwargs))
    for customer_id in ("99999999999999999999", "9223372036854775808", "0"):
        response = support_client.get(f"/customers/{customer_id}/?source=INSTORE")
        assert response.status_code == 404, customer_id
        assert "Internal error" not in response.content.decode()
    assert asked == []


def test_a_reads_failure_is_worded_as_a_read_not_as_a_refused_change(support_client, member_id):
    html = support_client.get(
        reverse("member", args=[member_id]) + "?source=INSTORE&source=WECHAT"
    ).content.decode()
    assert "Capillary did not return what was asked for." in html
    assert "refused the change" not in html
    assert "Nothing was changed" not in html
