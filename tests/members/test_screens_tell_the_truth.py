"""Every member screen shows the member as Capillary holds it, in words staff use (issue 11)."""

import re
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse

from customers.models import AuditEntry
from tests.members.test_member_views import HTMX, registration

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "console.css"


@pytest.fixture
def member_id(store_client):
    response = store_client.post(reverse("register"), registration(store_client))
    assert response.status_code == 302
    return int(AuditEntry.objects.get(action="register").customer_id)


def url(name, customer_id):
    return reverse(name, args=[customer_id]) + "?source=INSTORE"


# --- 3: after a write, the screen shows the member as Capillary now holds it -------------


def test_the_identifier_list_shows_a_linked_card_and_forgets_a_delinked_one(
    support_client, member_id
):
    link = {
        "operation": "add",
        "type": "cardnumber",
        "value": "MCPRM0000777",
        "card_series": "73",
        "reason": "new card at the desk",
        "confirmed": "on",
    }
    html = support_client.post(url("member_identifiers", member_id), link).content.decode()
    listed = re.search(r"<ul data-current-identifiers>(.*?)</ul>", html, re.S)
    assert listed is not None
    assert "Card MCPRM0000777" in listed.group(1)
    delink = {**link, "operation": "remove", "reason": "card lost"}
    html = support_client.post(url("member_identifiers", member_id), delink).content.decode()
    listed = re.search(r"<ul data-current-identifiers>(.*?)</ul>", html, re.S)
    assert listed is not None
    assert "MCPRM0000777" not in listed.group(1)
    # The form is empty again for the next change.
    assert 'value="MCPRM0000777"' not in html


def test_the_identifier_list_shows_the_new_mobile_after_the_change(support_client, member_id):
    change = {
        "operation": "add",
        "type": "mobile",
        "value": "919900000088",
        "reason": "new phone",
        "confirmed": "on",
    }
    html = support_client.post(url("member_identifiers", member_id), change).content.decode()
    listed = re.search(r"<ul data-current-identifiers>(.*?)</ul>", html, re.S)
    assert listed is not None
    assert "Mobile 919900000088" in listed.group(1)
    assert "919900000001" not in listed.group(1)


def test_a_rename_saved_with_htmx_updates_the_name_in_the_header(support_client, member_id):
    edit = url("member_edit", member_id)
    data = {
        "first_name": "Asha",
        "last_name": "Kapoor",
        "channels-TOTAL_FORMS": "0",
        "channels-INITIAL_FORMS": "0",
        "reason": "married",
    }
    html = support_client.post(edit, data, headers=HTMX).content.decode()
    assert "Saved in Capillary" in html
    assert '<p class="muted" id="member-subtitle" hx-swap-oob="true">Asha Kapoor · editing' in html


# --- 5: status guard rails ----------------------------------------------------------------


def test_the_status_page_shows_the_current_label_and_the_log(support_client, member_id):
    page = url("member_status", member_id)
    support_client.post(page, {"label": "On Hold", "reason": "payment dispute"})
    html = support_client.get(page).content.decode()
    assert "Current status: <strong>On Hold</strong> (suspended)." in html
    log = re.search(
        r"<section aria-labelledby=\"status-log-title\" data-status-log>(.*?)</section>", html, re.S
    )
    assert log is not None
    assert "On Hold" in log.group(1)
    assert "payment dispute" in log.group(1)


def test_a_deleted_label_asks_again_naming_the_member_before_anything_is_sent(
    support_client, member_id
):
    page = url("member_status", member_id)
    first = support_client.post(page, {"label": "Deleted", "reason": "member asked"})
    html = first.content.decode()
    assert f"Delete member {member_id} · Asha Rao?" in html
    assert f"Yes, delete member {member_id}" in html
    assert not AuditEntry.objects.filter(action="change_status").exists()
    support_client.post(
        page, {"label": "Deleted", "reason": "member asked", "delete_member": str(member_id)}
    )
    assert AuditEntry.objects.filter(action="change_status").count() == 1


def test_a_member_not_active_carries_a_banner_on_every_member_screen(support_client, member_id):
    support_client.post(
        url("member_status", member_id), {"label": "On Hold", "reason": "payment dispute"}
    )
    for name in ("member", "member_edit", "member_identifiers", "member_subscriptions"):
        html = support_client.get(url(name, member_id)).content.decode()
        assert "This member&#x27;s status is On Hold (suspended)." in html, name


def test_an_active_member_carries_no_banner(support_client, member_id):
    html = support_client.get(url("member", member_id)).content.decode()
    assert "data-standing" not in html


# --- 6: enrollment pickers ------------------------------------------------------------------


def test_the_tier_list_follows_the_program(support_client, member_id):
    tiers = support_client.get(
        url("member_enroll", member_id) + "&program=699",
        headers={**HTMX, "HX-Target": "tier-field"},
    ).content.decode()
    assert tiers.lstrip().startswith('<div id="tier-field"')
    assert "1 · Member" in tiers
    assert "2 · Elite" in tiers
    assert "Silver" not in tiers


def test_a_tier_of_another_program_is_refused_by_name(support_client, member_id):
    html = support_client.post(
        url("member_enroll", member_id),
        {"program": "699", "tier": "469:1", "reason": "partner sign-up"},
    ).content.decode()
    assert (
        "Silver is a tier of MemberCare Rewards, not of Partner Club. "
        "Choose one of Partner Club&#x27;s tiers: 1 · Member, 2 · Elite." in html
    )
    assert not AuditEntry.objects.filter(action="enroll").exists()


def test_enrolling_twice_names_the_program(support_client, member_id):
    data = {"program": "699", "tier": "699:2", "reason": "partner sign-up"}
    support_client.post(url("member_enroll", member_id), data)
    html = support_client.post(url("member_enroll", member_id), data).content.decode()
    assert "already enrolled in Partner Club" in html
    assert "program 699" not in html


def test_enrolling_with_a_tier_enrolls_that_tier_of_that_program(support_client, member_id):
    support_client.post(
        url("member_enroll", member_id), {"program": "699", "tier": "699:2", "reason": "vip"}
    )
    profile = support_client.get(url("member", member_id)).content.decode()
    partner = profile[profile.index("<h3>Partner Club</h3>") :]
    assert re.search(r"<dt>Tier</dt><dd>Elite", partner)


# --- 8: the profile in words ----------------------------------------------------------------


def test_the_profile_says_membership_status_fields_and_registration_in_words(
    support_client, member_id
):
    html = support_client.get(url("member", member_id)).content.decode()
    assert '<dd data-fact="membership">Loyalty member</dd>' in html
    assert '<dd data-fact="status"><span class="pill">Active</span></dd>' in html
    assert f'<dd data-fact="registered">{date.today().isoformat()}</dd>' in html
    assert "Registered at" not in html
    assert "<dt>External id</dt>" in html or "<dt>Mobile</dt>" in html
    assert "<dt>mobile</dt>" not in html


def test_extended_fields_are_shown_by_their_configured_names(support_client, store_client):
    data = registration(store_client, ext_preferred_language="English", ext_dob="1990-01-02")
    store_client.post(reverse("register"), data)
    customer_id = int(AuditEntry.objects.get(action="register").customer_id)
    html = support_client.get(url("member", customer_id)).content.decode()
    facts = re.search(r"<dl class=\"facts\" data-extended>(.*?)</dl>", html, re.S)
    assert facts is not None
    assert "<dt>Date of birth</dt><dd>1990-01-02</dd>" in facts.group(1)
    assert "preferred_language" not in facts.group(1)
    assert "_" not in re.sub(r"<dd>.*?</dd>", "", facts.group(1))


def test_a_card_past_its_expiry_is_not_shown_as_active(support_client, store_client, monkeypatch):
    store_client.post(
        reverse("register"),
        registration(store_client, card_number="MCPRM0000999", card_series="73"),
    )
    customer_id = int(AuditEntry.objects.get(action="register").customer_id)
    fresh = support_client.get(url("member", customer_id)).content.decode()
    assert 'class="pill pill-ok">ACTIVE</span>' in fresh

    class TwoYearsOn(date):
        @classmethod
        def today(cls):
            return date(date.today().year + 2, 1, 1)

    monkeypatch.setattr("customers.members.display.date", TwoYearsOn)
    later = support_client.get(url("member", customer_id)).content.decode()
    assert re.search(r"data-card-expired>Expired on \d{4}-\d\d-\d\d</span>", later)
    assert 'class="pill pill-ok">ACTIVE</span>' not in later


def test_cards_have_no_blank_band_above_their_first_heading():
    assert ".card > :first-child { margin-top: 0; }" in CSS.read_text()


# --- 9: subscriptions of a new member -------------------------------------------------------


def test_a_new_members_promotional_messages_are_off_unless_chosen(store_client):
    data = registration(store_client)
    for name in ("sms_trans", "sms_bulk", "email_trans", "email_bulk"):
        data.pop(name, None)
    store_client.post(reverse("register"), data)
    entry = AuditEntry.objects.get(action="register")
    sent = {
        (s["channel"], s["priority"]): s["type"]
        for s in entry.request["subscriptionInfo"]["subscriptions"]
    }
    assert sent == {
        ("MOBILE", "TRANS"): "OPTIN",
        ("MOBILE", "BULK"): "OPTOUT",
        ("EMAIL", "TRANS"): "OPTIN",
        ("EMAIL", "BULK"): "OPTOUT",
    }
    from customers.gateway import get_client

    held = {
        (s.channel, s.priority): s.type
        for s in get_client().get_subscriptions(int(entry.customer_id)).subscriptions
    }
    assert held[("SMS", "BULK")] == "OPTOUT"
    assert held[("EMAIL", "BULK")] == "OPTOUT"


def test_the_register_form_says_why_subscriptions_are_always_sent(store_client):
    html = store_client.get(reverse("register")).content.decode()
    assert "names no default for a new member" in html
    assert "Leave as is" not in html


# --- 10: keyboard, no JavaScript, sizes, contrast -------------------------------------------


def test_add_a_channel_without_javascript_adds_a_row_and_keeps_what_was_typed(
    support_client, member_id
):
    edit = url("member_edit", member_id)
    page = support_client.get(edit).content.decode()
    total = int(re.search(r'name="channels-TOTAL_FORMS" value="(\d+)"', page).group(1))
    assert re.search(r'<button type="submit" name="add_channel"[^>]*>Add a channel</button>', page)
    data = {
        "first_name": "Asha-Typed",
        "last_name": "Rao",
        "channels-TOTAL_FORMS": str(total),
        "channels-INITIAL_FORMS": str(total),
        "reason": "",
        "add_channel": "1",
    }
    for index in range(total):
        data[f"channels-{index}-type"] = re.search(
            rf'<select name="channels-{index}-type"[^>]*>.*?<option value="(\w+)"[^>]*selected',
            page,
            re.S,
        ).group(1)
        data[f"channels-{index}-value"] = re.search(
            rf'name="channels-{index}-value" value="([^"]+)"', page
        ).group(1)
    html = support_client.post(edit, data).content.decode()
    assert f'name="channels-TOTAL_FORMS" value="{total + 1}"' in html
    assert f'name="channels-{total}-value"' in html
    assert 'value="Asha-Typed"' in html
    assert "This field is required" not in html
    assert not AuditEntry.objects.filter(action="update_profile").exists()


def test_the_current_member_tab_is_marked(support_client, member_id):
    html = support_client.get(url("member_status", member_id)).content.decode()
    assert re.search(r'href="[^"]*/status/\?source=INSTORE" aria-current="page">Status label', html)
    assert html.count('aria-current="page"') == 1


def test_the_register_page_puts_the_cursor_in_its_first_field(store_client):
    html = store_client.get(reverse("register")).content.decode()
    assert re.search(r'<input type="text" name="mobile"[^>]*autofocus', html)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize(
    ("ink", "paper"), [("ok", "ok-bg"), ("warn", "warn-bg"), ("bad", "bad-bg")]
)
def test_badges_have_at_least_4_5_to_1_contrast(ink, paper):
    colours = dict(re.findall(r"--([\w-]+): (#[0-9a-fA-F]{6})", CSS.read_text()))
    light, dark = sorted([_luminance(colours[ink]), _luminance(colours[paper])], reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5


def test_the_enroll_form_starts_on_a_program_the_member_is_not_in_and_names_those_they_are(
    support_client, member_id
):
    html = support_client.get(url("member_enroll", member_id)).content.decode()
    assert '<option value="699" selected>Partner Club</option>' in html
    assert "Already enrolled in: MemberCare Rewards." in html
    after = support_client.post(
        url("member_enroll", member_id), {"program": "699", "reason": "partner sign-up"}
    ).content.decode()
    assert "Saved in Capillary" in after
    # Enrolled in every program now: nothing is chosen for them.
    assert '<option value="" selected>Choose a program</option>' in after
    assert "Already enrolled in: MemberCare Rewards, Partner Club." in after


def test_a_status_set_with_htmx_sends_the_standing_banner_out_of_band(support_client, member_id):
    response = support_client.post(
        url("member_status", member_id),
        {"label": "On Hold", "reason": "payment dispute"},
        headers={"HX-Request": "true", "HX-Target": "status-form"},
    )
    html = response.content.decode()
    assert '<div id="member-standing" hx-swap-oob="true">' in html
    assert "This member&#x27;s status is On Hold (suspended)." in html
