"""What staff may type, and the validation they see at each field."""

import re
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.core.validators import RegexValidator

from customers.gateway import Catalogue, catalogue
from customers.members.search import Dialling, normalise_mobile

IDENTIFIER_KIND_CHOICES = [
    ("", "Detect from what I type"),
    ("mobile", "Mobile"),
    ("email", "Email"),
    ("externalId", "External id"),
    ("cardnumber", "Card number"),
    ("id", "Customer id"),
]
IDENTIFIER_LABELS = {
    "mobile": "Mobile",
    "email": "Email",
    "externalId": "External id",
    "cardnumber": "Card",
}
SUBSCRIPTION_SLOTS = (
    ("sms_trans", "MOBILE", "TRANS", "SMS, transactional"),
    ("sms_bulk", "MOBILE", "BULK", "SMS, promotional"),
    ("email_trans", "EMAIL", "TRANS", "Email, transactional"),
    ("email_bulk", "EMAIL", "BULK", "Email, promotional"),
)
NEW_MEMBER_SUBSCRIPTIONS = {
    "sms_trans": "OPTIN",
    "sms_bulk": "OPTOUT",
    "email_trans": "OPTIN",
    "email_bulk": "OPTOUT",
}
MOBILE_HELP = "With the country code: 919900000001 (+91 99000 00001 and 099000 00001 work too)."
REASON_HELP = "Why you are making this change. It is kept in the change history."
DATETIME_HELP = "Date and time, like 2027-03-31T23:59:59+05:30."
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$"


def _choices(values: Iterable[str], blank: str | None = None) -> list[tuple[str, str]]:
    listed = [(value, value) for value in values]
    return [("", blank), *listed] if blank is not None else listed


def org_dialling() -> Dialling:
    """The org's base country, for reading phone numbers as typed."""
    org = catalogue()
    return Dialling(country_code=org.country_code, national_length=org.national_length)


def typed_mobile(text: str) -> str:
    """A mobile as staff type it, as Capillary holds it (the org's country code first)."""
    return normalise_mobile(text, org_dialling()) if text else text


class MobileField(forms.CharField):
    """A mobile typed with +, spaces, dashes or a trunk 0: the cleaned value is what is sent."""

    def to_python(self, value: Any) -> str:
        return typed_mobile(str(super().to_python(value)))


def mobile_field(required: bool = False) -> forms.CharField:
    return MobileField(
        required=required,
        # Room for the spaces and + people type; the validator counts the digits kept.
        max_length=24,
        help_text=MOBILE_HELP,
        validators=[
            RegexValidator(r"^[1-9][0-9]{7,14}$", "Use 8 to 15 digits, country code first.")
        ],
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )


def email_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=255,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_+.\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$",
                "Email may use letters, digits and - _ + . @ only.",
            )
        ],
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


def name_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=100,
        validators=[
            RegexValidator(
                r"^[\w\s'\-.]*$", "Names may use letters, digits, spaces, hyphens and apostrophes."
            )
        ],
    )


def datetime_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=DATETIME_HELP,
        validators=[RegexValidator(DATETIME_RE, "Use the form 2027-03-31T23:59:59+05:30.")],
    )


def reason_field() -> forms.CharField:
    return forms.CharField(
        min_length=3,
        max_length=500,
        help_text=REASON_HELP,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SourceMixin:
    """Source and account pickers from the org catalogue; accounts only where they apply."""

    fields: dict[str, forms.Field]

    def add_source_fields(self, catalogue: Catalogue, *, allow_all: bool = False) -> None:
        sources = list(catalogue.sources) + (["ALL"] if allow_all else [])
        self.fields["source"] = forms.ChoiceField(choices=_choices(sources), initial="INSTORE")
        accounts = sorted({a for accounts in catalogue.sources.values() for a in accounts})
        self.fields["account_id"] = forms.ChoiceField(
            label="Account",
            required=False,
            choices=_choices(accounts, blank="(none: single-account source)"),
            help_text="Only for multi-account sources such as MOBILE_APP or WECHAT.",
        )

    def identity_problems(
        self, cleaned: dict[str, Any], catalogue: Catalogue
    ) -> list[tuple[str, str]]:
        """What a member's identifiers and source lack, field by field."""
        problems = []
        identifiers = ("mobile", "email", "external_id")
        errors = getattr(self, "errors", {})
        if not any(cleaned.get(k) for k in identifiers) and not any(
            k in errors for k in identifiers
        ):
            problems.append(
                ("mobile", "Give at least one identifier: mobile, email or external id.")
            )
        if problem := self.account_problem(cleaned, catalogue):
            problems.append(("account_id", problem))
        return problems

    @staticmethod
    def account_problem(cleaned: dict[str, Any], catalogue: Catalogue) -> str | None:
        """Why the account does not fit the source, or None when it does."""
        source, account = cleaned.get("source"), cleaned.get("account_id")
        if not source or source == "ALL":
            return None
        accounts = catalogue.accounts_for(source)
        if accounts and account not in accounts:
            return f"{source} needs one of its accounts: {', '.join(accounts)}."
        if not accounts and account:
            return f"{source} has no accounts; leave this empty."
        return None


class SearchForm(SourceMixin, forms.Form):
    q = forms.CharField(
        label="Name, mobile, email, external id, card number or customer id",
        max_length=255,
        widget=forms.TextInput(attrs={"type": "search", "data-search-box": "", "autofocus": True}),
    )
    kind = forms.ChoiceField(label="Look up as", required=False, choices=IDENTIFIER_KIND_CHOICES)

    def __init__(
        self,
        *args: Any,
        catalogue: Catalogue,
        default_source: str = "INSTORE",
        default_account: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue
        self.add_source_fields(catalogue)
        # The home page's box (and any /customers/?q=... link) sends only q: the
        # configured default source is meant, not a missing one.
        self.default_source = default_source
        self.default_account = default_account
        self.fields["source"].required = False
        self.fields["source"].initial = default_source

    def clean_source(self) -> str:
        return str(self.cleaned_data.get("source") or self.default_source)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.data.get("source") and not cleaned.get("account_id"):
            cleaned["account_id"] = self.default_account
        if problem := self.account_problem(cleaned, self.catalogue):
            self.add_error("account_id", problem)
        query = str(cleaned.get("q", "")).strip()
        # isascii: "²" passes isdigit() but is no customer id int() can read.
        if cleaned.get("kind") == "id" and not (query.isascii() and query.isdigit()):
            self.add_error("q", "A customer id is a number.")
        return cleaned


class ExtraFieldsMixin:
    """Custom fields (org catalogue) and extended fields (Capillary's E10 config) as inputs."""

    fields: dict[str, forms.Field]

    def add_extra_fields(
        self,
        custom_fields: list[dict[str, Any]],
        extended_fields: list[dict[str, Any]],
        *,
        editing: bool = False,
    ) -> None:
        for spec in extended_fields:
            name = f"ext_{spec['name']}"
            label = spec.get("label") or spec["name"]
            values = spec.get("values") or []
            if values:
                self.fields[name] = forms.ChoiceField(
                    label=label, required=False, choices=_choices(values, blank="—")
                )
            elif str(spec.get("data_type", "")).upper() in ("DATETIME", "DATE"):
                self.fields[name] = forms.DateField(
                    label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
                )
            else:
                self.fields[name] = forms.CharField(label=label, required=False, max_length=255)
            if editing and spec.get("updatable") is False:
                # Capillary's config says it is set once; shown, not sent.
                self.fields[name].disabled = True
        for spec in custom_fields:
            name = f"field_{spec['name']}"
            label = spec.get("label") or spec["name"]
            if spec.get("type") == "boolean":
                self.fields[name] = forms.ChoiceField(
                    label=label,
                    required=False,
                    choices=[("", "—"), ("true", "Yes"), ("false", "No")],
                )
            elif spec.get("type") == "date":
                self.fields[name] = forms.DateField(
                    label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
                )
            else:
                self.fields[name] = forms.CharField(label=label, required=False, max_length=255)

    def extra_values(self, cleaned: dict[str, Any], prefix: str) -> dict[str, str]:
        values = {}
        for key, value in cleaned.items():
            if key.startswith(prefix) and value not in (None, "") and not self.fields[key].disabled:
                values[key[len(prefix) :]] = (
                    value.isoformat() if hasattr(value, "isoformat") else str(value)
                )
        return values

    @property
    def extended_inputs(self) -> list[forms.BoundField]:
        """The org's extended fields (Capillary's E10), bound, for a template loop."""
        return [self[n] for n in self.fields if n.startswith("ext_")]  # type: ignore[index]

    @property
    def custom_inputs(self) -> list[forms.BoundField]:
        """The org's custom fields, bound; kept apart since names may repeat (gender, city)."""
        return [self[n] for n in self.fields if n.startswith("field_")]  # type: ignore[index]


class EnrollmentMixin:
    """Program, tier and opening balances; the tiers offered are the chosen program's.

    A tier's value names its program ("699:1"), so a tier picked from another
    program's list (a page without JavaScript, where the list cannot follow the
    program) is refused in words instead of enrolling the same number elsewhere.
    """

    fields: dict[str, forms.Field]
    data: Any
    add_prefix: Any
    is_bound: bool

    def add_enrollment_fields(self, catalogue: Catalogue, *, required: bool = False) -> None:
        self.enrollment_catalogue = catalogue
        programs = [(str(p["id"]), p["name"]) for p in catalogue.programs]
        self.fields["program"] = forms.ChoiceField(
            label="Loyalty program",
            required=required,
            choices=programs if required else [("", "— not now —"), *programs],
            initial=programs[0][0] if required and programs else "",
        )
        self.fields["tier"] = forms.ChoiceField(
            label="Tier",
            required=False,
            choices=[("", "Lowest tier"), *self.tier_choices(None)],
            help_text="The tiers of the program chosen above.",
        )
        self.show_tiers_of(self.chosen_program())
        self.fields["points"] = forms.IntegerField(
            label="Opening points", required=False, min_value=0, max_value=10_000_000
        )
        self.fields["tier_expiry"] = datetime_field("Tier expires")
        self.fields["points_expiry"] = datetime_field("Points expire")

    def tier_choices(self, program_id: str | None) -> list[tuple[str, str]]:
        """One program's tiers; every program's (named) when none is chosen yet."""
        return [
            (
                f"{p['id']}:{t['number']}",
                f"{t['number']} · {t['name']}" + ("" if program_id else f" ({p['name']})"),
            )
            for p in self.enrollment_catalogue.programs
            if not program_id or str(p["id"]) == program_id
            for t in p.get("tiers", [])
        ]

    def chosen_program(self) -> str:
        if self.is_bound:
            return str(self.data.get(self.add_prefix("program")) or "")
        initial = getattr(self, "initial", {}) or {}
        return str(initial.get("program") or self.fields["program"].initial or "")

    def show_tiers_of(self, program_id: str) -> None:
        """The tier list shows one program's tiers; every program's stay valid to post."""
        tier = cast(forms.ChoiceField, self.fields["tier"])
        tier.widget.choices = [("", "Lowest tier"), *self.tier_choices(program_id)]

    def check_tier(self, cleaned: dict[str, Any]) -> None:
        tier, program = cleaned.get("tier") or "", cleaned.get("program") or ""
        if not tier:
            return
        tier_program, _, number = tier.partition(":")
        names = {str(p["id"]): p["name"] for p in self.enrollment_catalogue.programs}
        if not program:
            cast(forms.Form, self).add_error("tier", "Choose the program this tier belongs to.")
        elif tier_program != program:
            offered = ", ".join(label for _, label in self.tier_choices(program)) or "none"
            tier_name = dict(self.tier_choices(tier_program)).get(tier, number)
            self.show_tiers_of(program)
            cast(forms.Form, self).add_error(
                "tier",
                f"{tier_name.split(' · ')[-1]} is a tier of {names.get(tier_program, '?')}, "
                f"not of {names.get(program, program)}. Choose one of "
                f"{names.get(program, program)}'s tiers: {offered}.",
            )

    def enrollment(self, cleaned: dict[str, Any]) -> dict[str, Any] | None:
        if not cleaned.get("program"):
            return None
        enrollment: dict[str, Any] = {"programId": int(cleaned["program"])}
        if cleaned.get("tier"):
            enrollment["tierNumber"] = int(str(cleaned["tier"]).partition(":")[2])
        for key, wire in (
            ("points", "loyaltyPoints"),
            ("tier_expiry", "tierExpiryDate"),
            ("points_expiry", "pointsExpiryDate"),
        ):
            if cleaned.get(key) not in (None, ""):
                enrollment[wire] = cleaned[key]
        return enrollment


class SubscriptionMixin:
    fields: dict[str, forms.Field]

    def add_subscription_fields(
        self, *, required: bool, initial: dict[str, str] | None = None
    ) -> None:
        for name, _, _, label in SUBSCRIPTION_SLOTS:
            choices = [("OPTIN", "Opted in"), ("OPTOUT", "Opted out")]
            self.fields[name] = forms.ChoiceField(
                label=label,
                required=required,
                choices=choices if required else [("", "Leave as is"), *choices],
                initial=(initial or {}).get(name, "" if not required else "OPTIN"),
                widget=forms.RadioSelect,
            )

    def subscriptions(
        self, cleaned: dict[str, Any], source: str, account_id: str
    ) -> list[dict[str, Any]]:
        return [
            {
                "channel": channel,
                "priority": priority,
                "type": cleaned[name],
                "sourceName": source,
                "accountId": account_id,
            }
            for name, channel, priority, _ in SUBSCRIPTION_SLOTS
            if cleaned.get(name)
        ]


class RegisterForm(SourceMixin, ExtraFieldsMixin, EnrollmentMixin, SubscriptionMixin, forms.Form):
    form_token = forms.CharField(widget=forms.HiddenInput)
    mobile = mobile_field()
    email = email_field()
    external_id = forms.CharField(label="External id", required=False, max_length=250)
    first_name = name_field("First name")
    last_name = name_field("Last name")
    card_number = forms.CharField(label="Card number", required=False, max_length=100)
    status_label = forms.ChoiceField(label="Status label", required=False)
    loyalty_type = forms.ChoiceField(
        label="Membership",
        choices=[("loyalty", "Loyalty member"), ("non_loyalty", "Not in loyalty (contact only)")],
        initial="loyalty",
    )
    referral_code = forms.CharField(label="Referral code", required=False, max_length=50)

    def __init__(
        self,
        *args: Any,
        catalogue: Catalogue,
        extended_fields: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue
        # The till's next registration starts typing at once.
        self.fields["mobile"].widget.attrs["autofocus"] = True
        self.add_source_fields(catalogue)
        self.fields["card_series"] = forms.ChoiceField(
            label="Card series",
            required=False,
            choices=[(str(s["id"]), s["name"]) for s in catalogue.card_series],
        )
        self.fields["card_status"] = forms.ChoiceField(
            label="Card status",
            required=False,
            choices=_choices(catalogue.card_status_labels),
            initial="ACTIVE",
        )
        cast(forms.ChoiceField, self.fields["status_label"]).choices = _choices(
            catalogue.status_label_names,
            blank=f"Org default ({catalogue.default_status_label or 'none set'})",
        )
        self.add_enrollment_fields(catalogue)
        # Capillary's documentation names no default for a new member's subscriptions
        # (the emulator's OPTIN is its own choice, listed as inferred): "Leave as is"
        # left it to the org and opted every channel in. A new member's choices are
        # always sent, promotional ones out until the member says yes.
        self.add_subscription_fields(required=True, initial=NEW_MEMBER_SUBSCRIPTIONS)
        for name in NEW_MEMBER_SUBSCRIPTIONS:
            # A post without the radio (no browser sends one) gets the shown default.
            self.fields[name].required = False
            self.fields[name].help_text = (
                "Promotional: ask the member first."
                if name.endswith("_bulk")
                else "Receipts, points and account messages."
            )
        self.add_extra_fields(catalogue.custom_fields, extended_fields)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for field_name, problem in self.identity_problems(cleaned, self.catalogue):
            self.add_error(field_name, problem)
        self.check_tier(cleaned)
        for name, default in NEW_MEMBER_SUBSCRIPTIONS.items():
            if name not in self.errors:
                cleaned[name] = cleaned.get(name) or default
        return cleaned

    def to_request(self) -> dict[str, Any]:
        data = self.cleaned_data
        source, account = data["source"], data.get("account_id") or ""
        identifiers: list[dict[str, Any]] = [
            {"type": wire, "value": data[key]}
            for key, wire in (
                ("mobile", "mobile"),
                ("email", "email"),
                ("external_id", "externalId"),
            )
            if data.get(key)
        ]
        if data.get("card_number"):
            identifiers.append(
                {
                    "type": "cardnumber",
                    "value": data["card_number"],
                    "seriesId": int(data["card_series"]) if data.get("card_series") else None,
                    "statusLabel": data.get("card_status") or "ACTIVE",
                }
            )
        channels = [
            {"type": kind, "value": data[kind], "primary": True, "verified": False}
            for kind in ("mobile", "email")
            if data.get(kind)
        ]
        profile: dict[str, Any] = {
            "firstName": data.get("first_name") or None,
            "lastName": data.get("last_name") or None,
            "identifiers": identifiers,
            "commChannels": channels,
            "source": source,
            "accountId": account or None,
            "fields": self.extra_values(data, "field_") or None,
        }
        request: dict[str, Any] = {
            "profiles": [{k: v for k, v in profile.items() if v is not None}],
            "loyaltyInfo": {"loyaltyType": data["loyalty_type"]},
        }
        extended = self.extra_values(data, "ext_")
        if extended:
            request["extendedFields"] = extended
        enrollment = self.enrollment(data)
        if enrollment:
            request["loyaltyProgramEnrollments"] = [enrollment]
        if data.get("referral_code"):
            request["referralCode"] = data["referral_code"]
        if data.get("status_label"):
            request["statusLabel"] = data["status_label"]
        # Only the channels the member can be reached on: SMS with a mobile, email with one.
        reachable = {"MOBILE": bool(data.get("mobile")), "EMAIL": bool(data.get("email"))}
        subscriptions = [
            s for s in self.subscriptions(data, source, account) if reachable[s["channel"]]
        ]
        if subscriptions:
            request["subscriptionInfo"] = {"subscriptions": subscriptions}
        return request


class CommChannelForm(forms.Form):
    type = forms.ChoiceField(
        choices=[
            (c, c) for c in ("mobile", "email", "wechat", "ios", "android", "line", "mobilePush")
        ]
    )
    value = forms.CharField(max_length=255)
    primary = forms.BooleanField(required=False)
    verified = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, value = cleaned.get("type"), cleaned.get("value", "")
        if kind == "mobile" and value:
            value = cleaned["value"] = typed_mobile(value)
        if kind == "mobile" and value and not re.fullmatch(r"[1-9][0-9]{7,14}", value):
            self.add_error("value", MOBILE_HELP)
        if (
            kind == "email"
            and value
            and not re.fullmatch(r"[A-Za-z0-9_+.\-]+@[A-Za-z0-9\-.]+", value)
        ):
            self.add_error("value", "Email may use letters, digits and - _ + . @ only.")
        return cleaned


CommChannelFormSet = forms.formset_factory(CommChannelForm, extra=0, can_delete=True, max_num=20)


class EditProfileForm(ExtraFieldsMixin, forms.Form):
    first_name = name_field("First name")
    last_name = name_field("Last name")
    upgrade_to_loyalty = forms.BooleanField(
        label="Make this member a loyalty member",
        required=False,
        help_text=(
            "Only non-loyalty to loyalty is possible; Capillary never turns a loyalty member back."
        ),
    )
    use_async = forms.BooleanField(
        label="Let Capillary finish loyalty processing in the background",
        required=False,
        help_text="Faster, but points or coupons this change earns are not shown here.",
    )
    reason = reason_field()

    def __init__(
        self,
        *args: Any,
        catalogue: Catalogue,
        extended_fields: list[dict[str, Any]],
        is_loyalty: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if is_loyalty:
            del self.fields["upgrade_to_loyalty"]
        self.add_extra_fields(catalogue.custom_fields, extended_fields)

    def to_request(
        self, channels: list[dict[str, Any]], source: str, account_id: str
    ) -> dict[str, Any]:
        data = self.cleaned_data
        profile: dict[str, Any] = {
            "firstName": data.get("first_name", ""),
            "lastName": data.get("last_name", ""),
            "commChannels": channels,
            "source": source,
        }
        if account_id:
            profile["accountId"] = account_id
        custom = self.extra_values(data, "field_")
        if custom:
            profile["fields"] = custom
        request: dict[str, Any] = {"profiles": [profile]}
        extended = self.extra_values(data, "ext_")
        if extended:
            request["extendedFields"] = extended
        if data.get("upgrade_to_loyalty"):
            request["loyaltyInfo"] = {"loyaltyType": "loyalty"}
        return request


class EnrollForm(EnrollmentMixin, forms.Form):
    reason = reason_field()

    def __init__(
        self,
        *args: Any,
        catalogue: Catalogue,
        enrolled: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.add_enrollment_fields(catalogue, required=True)
        # Start on the first program the member is not in yet: offering one they are
        # in only earns Capillary's refusal.
        held = {str(program_id) for program_id in enrolled}
        program = cast(forms.ChoiceField, self.fields["program"])
        programs = [(str(p["id"]), p["name"]) for p in catalogue.programs]
        program.choices = [("", "Choose a program"), *programs]
        program.initial = next((pid for pid, _ in programs if pid not in held), "")
        names = [name for pid, name in programs if pid in held]
        if names:
            program.help_text = f"Already enrolled in: {', '.join(names)}."
        self.show_tiers_of(self.chosen_program())
        self.order_fields(["program", "tier", "points", "tier_expiry", "points_expiry", "reason"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.check_tier(cleaned)
        return cleaned


class IdentifierForm(forms.Form):
    operation = forms.ChoiceField(
        choices=[("add", "Add or link"), ("remove", "Remove or delink")], widget=forms.RadioSelect
    )
    type = forms.ChoiceField(label="Identifier", choices=list(IDENTIFIER_LABELS.items()))
    value = forms.CharField(max_length=255)
    card_series = forms.ChoiceField(label="Card series", required=False)
    reason = reason_field()
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, catalogue: Catalogue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["card_series"]).choices = [
            (str(s["id"]), s["name"]) for s in catalogue.card_series
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, value = cleaned.get("type"), (cleaned.get("value") or "").strip()
        if kind == "mobile" and value:
            value = typed_mobile(value)
        cleaned["value"] = value
        if kind == "mobile" and value and not re.fullmatch(r"[1-9][0-9]{7,14}", value):
            self.add_error("value", MOBILE_HELP)
        if (
            kind == "email"
            and value
            and not re.fullmatch(r"[A-Za-z0-9_+.\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+", value)
        ):
            self.add_error("value", "Email may use letters, digits and - _ + . @ only.")
        return cleaned

    def to_request(self) -> dict[str, Any]:
        data = self.cleaned_data
        item: dict[str, Any] = {"type": data["type"], "value": data["value"]}
        if data["type"] == "cardnumber":
            if data.get("card_series"):
                item["seriesId"] = int(data["card_series"])
            item["statusLabel"] = "ACTIVE" if data["operation"] == "add" else "NOT_ISSUED"
        return {data["operation"]: [item]}


class SubscriptionsForm(SubscriptionMixin, forms.Form):
    reason = reason_field()

    def __init__(self, *args: Any, current: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_subscription_fields(required=True, initial=current)
        self.order_fields([*(slot[0] for slot in SUBSCRIPTION_SLOTS), "reason"])

    def changed_subscriptions(
        self, current: dict[str, str], source: str, account_id: str
    ) -> list[dict[str, Any]]:
        changed = {
            name: value
            for name, value in self.cleaned_data.items()
            if name in current and value != current.get(name)
        }
        changed.update(
            {
                slot[0]: self.cleaned_data[slot[0]]
                for slot in SUBSCRIPTION_SLOTS
                if slot[0] not in current
            }
        )
        return self.subscriptions(changed, source, account_id)


class StatusForm(forms.Form):
    label = forms.ChoiceField(label="New status label")
    reason = reason_field()

    def __init__(self, *args: Any, catalogue: Catalogue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["label"]).choices = [
            (item["label"], f"{item['label']} ({item.get('status', '').replace('_', ' ').lower()})")
            for item in catalogue.status_labels
        ]
