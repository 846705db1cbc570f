"""The operator's settings in LNbits' database."""

import json

from lnbits.db import Database

db = Database("ext_lnopt")

SETTINGS_ID = "node"


async def get_settings_document() -> dict:
    """The saved settings; empty before the first save (lnopt's defaults apply)."""
    row = await db.fetchone(
        "SELECT document FROM lnopt.settings WHERE id = :id", {"id": SETTINGS_ID}
    )
    return json.loads(row["document"]) if row else {}


async def save_settings_document(document: dict) -> None:
    await db.execute(
        """
        INSERT INTO lnopt.settings (id, document) VALUES (:id, :document)
        ON CONFLICT (id) DO UPDATE SET document = excluded.document,
            updated_at = excluded.updated_at
        """,
        {"id": SETTINGS_ID, "document": json.dumps(document)},
    )
