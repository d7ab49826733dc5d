"""What staff type to upsert one member, and to upload a CSV of many."""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from customers.gateway import Catalogue
from customers.imports.csv import build_entry
from customers.imports.jobs import MAX_BATCH_SIZE
from customers.members.forms import (
    ExtraFieldsMixin,
    SourceMixin,
    SubscriptionMixin,
    email_field,
    mobile_field,
    name_field,
    reason_field,
)

SKIP_CHANGE_IDENTIFIER_HELP = (
    "Capillary finds the member by any identifier given here. Left unticked, identifiers "
    "the member does not hold yet are added to them, and a mobile or email that belongs "
    "to another member merges that member into this one. Ticked, only the profile is "
    "updated: identifiers stay as they are, and nothing is merged."
)


class UpsertForm(SourceMixin, ExtraFieldsMixin, SubscriptionMixin, forms.Form):
    """One member, added or updated by Capillary's bulk upsert: the CSV row's fields as a form."""

    mobile = mobile_field()
    email = email_field()
    external_id = forms.CharField(label="External id", required=False, max_length=250)
    card_number = forms.CharField(label="Card number", required=False, max_length=100)
    first_name = name_field("First name")
    last_name = name_field("Last name")
    mobile_channel = forms.BooleanField(
        label="Use the mobile as a comm channel",
        required=False,
        initial=True,
        help_text="Capillary sends SMS to it; it becomes the primary mobile channel.",
    )
    mobile_verified = forms.BooleanField(label="The mobile is verified", required=False)
    email_channel = forms.BooleanField(
        label="Use the email as a comm channel",
        required=False,
        initial=True,
        help_text="Capillary sends email to it; it becomes the primary email channel.",
    )
    email_verified = forms.BooleanField(label="The email is verified", required=False)
    status_label = forms.ChoiceField(label="Status label", required=False)
    loyalty_type = forms.ChoiceField(
        label="Membership",
        required=False,
        choices=[
            ("", "Leave as is (new members: the org's default)"),
            ("loyalty", "Loyalty member"),
            ("non_loyalty", "Not in loyalty (contact only)"),
        ],
    )
    skip_change_identifier = forms.BooleanField(
        label="Do not change identifiers (skipChangeIdentifier)",
        required=False,
        help_text=SKIP_CHANGE_IDENTIFIER_HELP,
    )
    reason = reason_field()

    def __init__(
        self,
        *args: Any,
        catalogue: Catalogue,
        extended_fields: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue
        self.add_source_fields(catalogue)
        cast(forms.ChoiceField, self.fields["status_label"]).choices = [
            ("", "Leave as is"),
            *((label, label) for label in catalogue.status_label_names),
        ]
        self.add_subscription_fields(required=False)
        self.add_extra_fields(catalogue.custom_fields, extended_fields)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for field_name, problem in self.identity_problems(cleaned, self.catalogue):
            self.add_error(field_name, problem)
        return cleaned

    def to_entry(self) -> dict[str, Any]:
        """The bulk-upsert element, built as a CSV row of the same values would be."""
        data = self.cleaned_data
        values = {
            column: str(data.get(column) or "")
            for column in (
                "mobile",
                "email",
                "external_id",
                "card_number",
                "first_name",
                "last_name",
                "status_label",
                "loyalty_type",
                "sms_trans",
                "sms_bulk",
                "email_trans",
                "email_bulk",
            )
        }
        values.update({f"field:{k}": v for k, v in self.extra_values(data, "field_").items()})
        values.update({f"ext:{k}": v for k, v in self.extra_values(data, "ext_").items()})
        entry = build_entry(values, data["source"], data.get("account_id") or "")
        profile = entry["profiles"][0]
        channels = [
            {
                "type": kind,
                "value": data[kind],
                "primary": True,
                "verified": data[f"{kind}_verified"],
            }
            for kind in ("mobile", "email")
            if data.get(kind) and data.get(f"{kind}_channel")
        ]
        profile.pop("commChannels", None)
        if channels:
            profile["commChannels"] = channels
        return entry


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    dry_run = forms.BooleanField(
        label="Dry run: check the file only, send nothing to Capillary", required=False
    )
    skip_change_identifier = forms.BooleanField(
        label="Do not change identifiers (skipChangeIdentifier)",
        required=False,
        help_text=SKIP_CHANGE_IDENTIFIER_HELP,
    )
    batch_size = forms.IntegerField(
        label="Rows per request",
        min_value=1,
        max_value=MAX_BATCH_SIZE,
        help_text=f"Capillary takes at most {MAX_BATCH_SIZE} members per bulk upsert request.",
    )
    reason = reason_field()
    replaces = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, too_large: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        self.fields["batch_size"].initial = min(settings.IMPORT_BATCH_SIZE, MAX_BATCH_SIZE)
        self.fields["file"].help_text = (
            "UTF-8 (with or without BOM), comma or semicolon separated, at most "
            f"{filesizeformat(settings.IMPORT_MAX_UPLOAD_BYTES)}."
        )

    def clean_file(self) -> UploadedFile[bytes]:
        upload = cast("UploadedFile[bytes]", self.cleaned_data["file"])
        if (upload.size or 0) > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(size_message(upload.size or 0))
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.too_large:
            # The upload was stopped at the limit, so there is no file to look at.
            self.errors.pop("file", None)
            self.add_error("file", size_message(None))
        return cleaned


def size_message(size: int | None) -> str:
    limit = filesizeformat(settings.IMPORT_MAX_UPLOAD_BYTES)
    what = f"The file is {filesizeformat(size)}" if size else "The file is too large"
    return f"{what}; the limit is {limit}. Split it into smaller files and upload each."
