"""Domain values as the store's columns hold them, and rows back into records."""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from lnopt.errors import StoreError
from lnopt.model import ChannelPolicy

T = TypeVar("T")

_POLICY_COLUMNS = frozenset(
    {"old_policy", "new_policy", "current_policy", "proposed_policy", "guarded_policy"}
)
_TEXT_LIST_COLUMNS = frozenset({"reasons", "verdict_reasons"})


def sql_value(value: Any) -> Any:
    """A domain value as stored: policies and lists of words as JSON, enums by their value."""
    if isinstance(value, ChannelPolicy):
        return json.dumps(asdict(value), sort_keys=True)
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    if isinstance(value, enum.Enum):
        return value.value
    return value


def named(**values: Any) -> dict[str, Any]:
    """Named SQL parameters from domain values."""
    return {key: sql_value(value) for key, value in values.items()}


def decoded(row: sqlite3.Row) -> dict[str, Any]:
    """A row as a dict, with policies and lists of words decoded (enums are left as text)."""
    values = dict(zip(row.keys(), tuple(row), strict=True))
    for key in values.keys() & _POLICY_COLUMNS:
        if values[key] is not None:
            values[key] = ChannelPolicy(**json.loads(values[key]))
    for key in values.keys() & _TEXT_LIST_COLUMNS:
        values[key] = tuple(json.loads(values[key]))
    return values


def record_of(kind: Callable[..., T], row: sqlite3.Row, **enums: Callable[[Any], Any]) -> T:
    """A record from a row whose columns are its fields; each of ``enums`` reads its column."""
    values = decoded(row)
    return kind(**values | {name: read(values[name]) for name, read in enums.items()})


def rowid(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just wrote."""
    if cursor.lastrowid is None:
        raise StoreError("the store did not return the id of a new row")
    return cursor.lastrowid
