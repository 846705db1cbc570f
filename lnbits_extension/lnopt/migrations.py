"""The extension's own tables in LNbits' database (``ext_lnopt``). lnopt's memory (runs,
decisions, proposals, the fee journal) is lnopt's SQLite file in LNbits' data folder; only the
operator's settings live here."""


async def m001_settings(db):
    """The operator's settings: one JSON document (mode, schedule, guard limits, exclusions)."""
    await db.execute(
        f"""
        CREATE TABLE lnopt.settings (
            id TEXT PRIMARY KEY,
            document TEXT NOT NULL,
            updated_at TIMESTAMP NOT NULL DEFAULT {db.timestamp_now}
        );
        """
    )
