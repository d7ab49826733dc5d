"""A verifiable export of the change history: the CSV and a signed manifest, zipped.

The manifest names the export's range and, for each row, its entry id, its entry
hash (the chain's), a digest of the row as written and the checkpoint it falls
under, with those checkpoints (each signed) and the whole manifest signed with
the audit key. `manage.py verify_export FILE` checks a downloaded file offline:
nothing in it can be changed, added or removed without a signature failing. Rows
whose entry fails its own signature at export time are named as broken in the
manifest, so an export never vouches for a tampered row.
"""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from customers.history.chain import GENESIS, canonical, sign_parts
from customers.history.checkpoints import STATE_FIELDS, sign_checkpoint
from customers.history.queries import HistoryFilters, export_rows
from customers.history.verification import broken_among
from customers.models import AuditCheckpoint

FORMAT = "membercare-history-export/1"
CSV_NAME = "history.csv"
MANIFEST_NAME = "manifest.json"


class ExportInvalid(Exception):
    """What is wrong with an export file, in words."""


def row_digest(cells: Sequence[str]) -> str:
    return hashlib.sha256(canonical(list(cells))).hexdigest()


def sign_manifest(manifest: dict[str, Any]) -> str:
    content = {key: value for key, value in manifest.items() if key != "signature"}
    return sign_parts(b"export", canonical(content))


def write_export(
    target: IO[bytes], *, filters: HistoryFilters, by: str, described: dict[str, str]
) -> None:
    """Write the zip (CSV and manifest) for `filters` into `target`."""
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL)
    rows: list[dict[str, Any]] = []
    lines = export_rows(filters)
    writer.writerow(next(lines))
    for cells in lines:
        writer.writerow(cells)
        rows.append({"id": int(cells[0]), "entry_hash": cells[-1], "row": row_digest(cells)})
    data = text.getvalue().encode()
    checkpoints = list(AuditCheckpoint.objects.order_by("entry_id"))
    broken = broken_among(row["id"] for row in rows)
    for row in rows:
        row["checkpoint"] = next((c.pk for c in checkpoints if c.entry_id >= row["id"]), None)
        if row["id"] in broken:
            row["broken"] = broken[row["id"]]
    used = {row["checkpoint"] for row in rows}
    ids = [row["id"] for row in rows]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "exported_by": by,
        "filters": described,
        "range": {
            "count": len(rows),
            "first_entry": min(ids) if ids else None,
            "last_entry": max(ids) if ids else None,
        },
        "csv_sha256": hashlib.sha256(data).hexdigest(),
        "rows": rows,
        "checkpoints": [_checkpoint(c) for c in checkpoints if c.pk in used],
    }
    manifest["signature"] = sign_manifest(manifest)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CSV_NAME, data)
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=1, ensure_ascii=False))


def _checkpoint(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    values = {name: getattr(checkpoint, name) for name in STATE_FIELDS}
    return {
        "id": checkpoint.pk,
        "created_at": checkpoint.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        **values,
        "previous_signature": checkpoint.previous_signature,
        "signature": checkpoint.signature,
    }


def verify_export(source: IO[bytes]) -> dict[str, Any]:
    """Check an export file; its manifest when intact, else ExportInvalid saying what broke."""
    try:
        with zipfile.ZipFile(source) as archive:
            data = archive.read(CSV_NAME)
            manifest = json.loads(archive.read(MANIFEST_NAME))
    except (zipfile.BadZipFile, KeyError, ValueError) as unreadable:
        raise ExportInvalid(
            f"This is not a history export with its manifest ({unreadable})."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ExportInvalid("The manifest is not one this console writes.")
    if manifest.get("signature") != sign_manifest(manifest):
        raise ExportInvalid(
            "The manifest's signature does not match: the manifest was changed, or it was "
            "signed with another key."
        )
    if hashlib.sha256(data).hexdigest() != manifest["csv_sha256"]:
        raise ExportInvalid("The CSV is not the one the manifest was signed for: it was changed.")
    _check_rows(_data_rows(data), manifest["rows"])
    for checkpoint in manifest["checkpoints"]:
        _check_checkpoint(checkpoint)
    return manifest


def _data_rows(data: bytes) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(data.decode()))
    next(reader, None)
    yield from reader


def _check_rows(cells: Iterable[list[str]], rows: list[dict[str, Any]]) -> None:
    listed = iter(rows)
    for number, row_cells in enumerate(cells, start=1):
        row = next(listed, None)
        if row is None or row_digest(row_cells) != row["row"] or row_cells[-1] != row["entry_hash"]:
            raise ExportInvalid(f"Row {number} of the CSV does not match its manifest line.")
    if next(listed, None) is not None:
        raise ExportInvalid("The manifest lists more rows than the CSV holds: rows were removed.")


def _check_checkpoint(checkpoint: dict[str, Any]) -> None:
    values = {name: checkpoint[name] for name in STATE_FIELDS}
    values["created_at"] = datetime.strptime(
        checkpoint["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ"
    ).replace(tzinfo=UTC)
    if (
        sign_checkpoint(values, checkpoint["previous_signature"] or GENESIS)
        != checkpoint["signature"]
    ):
        raise ExportInvalid(f"Checkpoint #{checkpoint['id']} in the manifest fails its signature.")
