"""The history's JSON columns hold the text that is signed, and the history is re-signed.

Until now each signature covered a re-encoding of the JSON columns' decoded
values, so verifying a row meant decoding and encoding its JSON again (most of
verify_history's time). From here the columns are text holding one canonical
text per value (customers.history.chain.SignedJSONField) and the signatures
("entry/2", "completion/2") cover that text as stored. Existing rows are
rewritten in canonical text and signed again in the new form, in chain order,
once, by the key holder running the migration; so are the checkpoints, whose
heads are the new hashes. Exports downloaded before carry their own signed
manifest and still verify offline.
"""

import importlib

from django.db import migrations

import customers.history.chain

JSON_COLUMNS = ("request", "before", "response", "side_effects", "after")
BATCH = 2000


def _previous_migration():
    return importlib.import_module("customers.migrations.0006_completion_chain")


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER IF EXISTS customers_auditentry_append_only ON customers_auditentry"
        )
        cursor.execute(
            "DROP TRIGGER IF EXISTS customers_auditcompletion_append_only "
            "ON customers_auditcompletion"
        )


def install_triggers(apps, schema_editor):
    _previous_migration().install_triggers(apps, schema_editor)


def sign_again(apps, schema_editor):
    from customers.history.chain import (
        GENESIS,
        PENDING_STATE,
        SIGNED_ENTRY_COLUMNS,
        is_completed_write,
        json_text,
        sign_completion,
        sign_entry,
    )
    from customers.history.checkpoints import sign_checkpoint

    connection = schema_editor.connection
    quote = connection.ops.quote_name
    entry_model = apps.get_model("customers", "AuditEntry")
    completion_model = apps.get_model("customers", "AuditCompletion")
    checkpoint_model = apps.get_model("customers", "AuditCheckpoint")

    set_entry = ", ".join(
        f"{quote(name)} = %s" for name in (*JSON_COLUMNS, "previous_hash", "entry_hash")
    )
    update_entry = f"UPDATE {quote('customers_auditentry')} SET {set_entry} WHERE id = %s"
    previous, last = GENESIS, 0
    while True:
        rows = list(
            entry_model.objects.filter(id__gt=last)
            .order_by("id")
            .values(*SIGNED_ENTRY_COLUMNS)[:BATCH]
        )
        if not rows:
            break
        updates = []
        for row in rows:
            creation = row
            if is_completed_write(row):
                creation = {**row, **PENDING_STATE}
                if row["action"] == "register":
                    # Signed before Capillary assigned the id, as every registration is.
                    creation["customer_id"] = ""
            entry_hash = sign_entry(creation, previous)
            updates.append(
                [*(json_text(row[name]) for name in JSON_COLUMNS), previous, entry_hash, row["id"]]
            )
            previous = entry_hash
        with connection.cursor() as cursor:
            cursor.executemany(update_entry, updates)
        last = rows[-1]["id"]

    update_record = (
        f"UPDATE {quote('customers_auditcompletion')} "
        "SET previous_hash = %s, record_hash = %s WHERE id = %s"
    )
    outcome_fields = ("id", "entry_hash", "outcome", "customer_id", "http_status", "request_id")
    outcome_fields += ("error_codes", "warning_codes", "duration_ms", *JSON_COLUMNS[2:])
    previous, last = GENESIS, 0
    while True:
        records = list(
            completion_model.objects.filter(id__gt=last)
            .order_by("id")
            .values("id", "entry_id", "created_at")[:BATCH]
        )
        if not records:
            break
        entries = {
            row["id"]: row
            for row in entry_model.objects.filter(
                id__in=[record["entry_id"] for record in records]
            ).values(*outcome_fields)
        }
        updates = []
        for record in records:
            record_hash = sign_completion(record, entries[record["entry_id"]], previous)
            updates.append([previous, record_hash, record["id"]])
            previous = record_hash
        with connection.cursor() as cursor:
            cursor.executemany(update_record, updates)
        last = records[-1]["id"]

    update_checkpoint = (
        f"UPDATE {quote('customers_auditcheckpoint')} SET entry_head = %s, "
        "completion_head = %s, previous_signature = %s, signature = %s WHERE id = %s"
    )
    previous = GENESIS
    for checkpoint in checkpoint_model.objects.order_by("id").values():
        entry_head = (
            entry_model.objects.filter(id=checkpoint["entry_id"])
            .values_list("entry_hash", flat=True)
            .first()
        )
        completion_head = (
            completion_model.objects.filter(id=checkpoint["completion_id"])
            .values_list("record_hash", flat=True)
            .first()
        )
        # A record a checkpoint names that is gone keeps its old head, still a break.
        checkpoint["entry_head"] = entry_head or checkpoint["entry_head"]
        checkpoint["completion_head"] = completion_head or checkpoint["completion_head"]
        signature = sign_checkpoint(checkpoint, previous)
        with connection.cursor() as cursor:
            cursor.execute(
                update_checkpoint,
                [
                    checkpoint["entry_head"],
                    checkpoint["completion_head"],
                    previous,
                    signature,
                    checkpoint["id"],
                ],
            )
        previous = signature


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_import_upload_checked_by_a_task"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, migrations.RunPython.noop),
        *(
            migrations.AlterField(
                model_name="auditentry",
                name=name,
                field=customers.history.chain.SignedJSONField(
                    blank=True, **({"default": dict} if name == "request" else {"null": True})
                ),
            )
            for name in JSON_COLUMNS
        ),
        migrations.RunPython(sign_again, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, migrations.RunPython.noop),
    ]
