"""Completions get their own signed chain (customers.history.chain), and ids are signed.

Entries written before this migration were signed without their id and carried
their completion's signature in a column. They are signed again here in the new
form, once, by the key holder running the migration, and each completed write
gets its completion record; from then on verify_history checks the new form.
"""

import django.db.models.deletion
from django.db import migrations, models

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION customers_auditentry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kept customers_auditentry;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'The change history is append-only: entry % cannot be deleted.', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.outcome <> 'pending' OR NEW.outcome = 'pending' THEN
        RAISE EXCEPTION 'The change history is append-only: entry % may only be completed once, from pending.', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.customer_id <> '' AND NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
        RAISE EXCEPTION 'The change history is append-only: entry % keeps its customer id.', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    kept := NEW;
    kept.outcome := OLD.outcome;
    kept.customer_id := OLD.customer_id;
    kept.http_status := OLD.http_status;
    kept.request_id := OLD.request_id;
    kept.response := OLD.response;
    kept.side_effects := OLD.side_effects;
    kept.error_codes := OLD.error_codes;
    kept.warning_codes := OLD.warning_codes;
    kept.duration_ms := OLD.duration_ms;
    kept."after" := OLD."after";
    IF kept IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'The change history is append-only: completing entry % may change only its completion.', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER customers_auditentry_append_only
    BEFORE UPDATE OR DELETE ON customers_auditentry
    FOR EACH ROW EXECUTE FUNCTION customers_auditentry_append_only();

CREATE OR REPLACE FUNCTION customers_auditcompletion_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The change history is append-only: completions cannot be changed.'
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER customers_auditcompletion_append_only
    BEFORE UPDATE OR DELETE ON customers_auditcompletion
    FOR EACH ROW EXECUTE FUNCTION customers_auditcompletion_append_only();
"""


def _execute(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        # A plain cursor: schema_editor.execute() would read RAISE's % as placeholders.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def drop_entry_trigger(apps, schema_editor):
    _execute(
        schema_editor,
        "DROP TRIGGER IF EXISTS customers_auditentry_append_only ON customers_auditentry",
    )


def install_triggers(apps, schema_editor):
    _execute(schema_editor, APPEND_ONLY_SQL)


def sign_again(apps, schema_editor):
    from customers.history.chain import (
        GENESIS,
        HASHED_FIELDS,
        PENDING_STATE,
        is_completed_write,
        sign_completion,
        sign_entry,
    )

    entry_model = apps.get_model("customers", "AuditEntry")
    completion_model = apps.get_model("customers", "AuditCompletion")
    previous, completion_previous, completion_id = GENESIS, GENESIS, 0
    fields = ("id", *HASHED_FIELDS)
    for row in entry_model.objects.order_by("id").values(*fields).iterator(chunk_size=2000):
        completed = is_completed_write(row)
        entry_hash = sign_entry({**row, **PENDING_STATE} if completed else row, previous)
        entry_model.objects.filter(pk=row["id"]).update(
            previous_hash=previous, entry_hash=entry_hash
        )
        previous = entry_hash
        if completed:
            completion_id += 1
            record = {"id": completion_id, "entry_id": row["id"], "created_at": row["created_at"]}
            record_hash = sign_completion(
                record, {**row, "entry_hash": entry_hash}, completion_previous
            )
            completion_model.objects.create(
                **record, previous_hash=completion_previous, record_hash=record_hash
            )
            completion_previous = record_hash


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_audit_action_bulk_upsert"),
    ]

    operations = [
        migrations.RunPython(drop_entry_trigger, migrations.RunPython.noop),
        migrations.CreateModel(
            name="AuditCompletion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("previous_hash", models.CharField(editable=False, max_length=64)),
                ("record_hash", models.CharField(editable=False, max_length=64)),
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="completion",
                        to="customers.auditentry",
                    ),
                ),
            ],
            options={"default_permissions": ()},
        ),
        migrations.RunPython(sign_again, migrations.RunPython.noop),
        migrations.RemoveField(model_name="auditentry", name="completion_hash"),
        migrations.RunPython(install_triggers, migrations.RunPython.noop),
    ]
