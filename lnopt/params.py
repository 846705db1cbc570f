"""Readers for every value an operator hands lnopt: RPC parameters, plugin options, YAML keys.

Each reader takes the parameter's name and the value as it arrived (a JSON value, or an option's
text) and returns it checked, or raises :class:`~lnopt.errors.InvalidRequest` with one message
shape: ``<name> must be <what is accepted>; got <what was given>``. What was given is shown as
JSON (``null``, ``true``), clipped to :data:`SHOWN_CHARS` characters, so a long or binary input
is never echoed whole into a reply or a log line.

Whole numbers are JSON integers (never booleans, never floats such as ``5.0`` or ``1e400``) or
their text in ASCII digits (``"42"``, ``"-3"``: lightningd passes option values as text); other
digits (``"²"``, ``"٣"``), signs (``"--5"``) and spaces are refused. Every whole number has a
range: at most :data:`INTEGER_MAX` (SQLite's largest integer), and fee amounts at most
:data:`U32_MAX`, the field size of ``fee_base_msat`` and ``fee_proportional_millionths`` in
BOLT 7's ``channel_update``. Ids are taken exactly as given (no spaces stripped); keywords
(modes, booleans) ignore case and surrounding spaces.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lnopt.errors import InvalidRequest

SHOWN_CHARS = 80
INTEGER_MAX = 2**63 - 1
U32_MAX = 2**32 - 1
UNIX_TIME_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z
TEXT_MAX_CHARS = 100  # an id, a short channel id, a mode, a keyword

_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_DECIMAL_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_SHORT_CHANNEL_ID = re.compile(r"([0-9]{1,8})x([0-9]{1,8})x([0-9]{1,5})")
_NODE_ID = re.compile(r"0[23][0-9a-f]{64}")
_DIGITS_PAST_ANY_RANGE = 40  # more digits than any accepted whole number has
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})

SHORT_CHANNEL_ID = "a short channel id BLOCKxTXxOUT (e.g. 812345x1020x1)"
NODE_ID = "a node id (66 hex characters, starting 02 or 03)"
BOOLEAN = 'true or false (or 1/0, "true"/"false")'
UNIX_TIME = f"a unix time in seconds from 0 to {UNIX_TIME_MAX}"


@dataclass(frozen=True)
class OversizedInteger:
    """A JSON integer too long to convert (Python refuses more than a few thousand digits); the
    plugin's decoder puts this in its place so that the readers refuse it by its size."""

    digits: int


def shown(value: Any) -> str:
    """``value`` as JSON text for a message: ``null``/``true``, escapes for control characters
    and lone surrogates, at most :data:`SHOWN_CHARS` characters (an ellipsis marks a cut)."""
    if isinstance(value, OversizedInteger):
        return f"a number of {value.digits} digits"
    try:
        return clipped(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError):
        return clipped(repr(value))


def clipped(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` with lone surrogates escaped, cut to ``limit`` characters (with an ellipsis)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refusal(name: str, accepted: str, value: Any) -> InvalidRequest:
    """The error for ``value`` given as ``name``, which accepts ``accepted``."""
    return InvalidRequest(f"{name} must be {accepted}; got {shown(value)}")


def whole_numbers(minimum: int, maximum: int) -> str:
    return f"a whole number from {minimum} to {maximum}"


def largest_whole_number(key: str) -> int:
    """The largest value of the setting ``key``: a fee amount (``*_ppm``, ``*_msat``) fits in
    32 bits, anything else in SQLite's integer."""
    return U32_MAX if key.endswith(("_ppm", "_msat")) else INTEGER_MAX


def read_int(
    name: str, value: Any, *, minimum: int = 0, maximum: int = INTEGER_MAX, text: bool = True
) -> int:
    """A whole number in ``[minimum, maximum]``; ``text``: its ASCII-digit text form too."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif text and isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        if len(value.lstrip("-")) <= _DIGITS_PAST_ANY_RANGE:
            number = int(value)
    if number is None or not minimum <= number <= maximum:
        raise refusal(name, whole_numbers(minimum, maximum), value)
    return number


def read_bool(name: str, value: Any) -> bool:
    """``true``/``false``, the JSON numbers 1/0, or the text forms true/false, yes/no, 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise refusal(name, BOOLEAN, value)


def read_time(name: str, value: Any) -> float | None:
    """A unix time in seconds (whole or decimal, or its text), or None when absent."""
    if value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) if -1 <= value <= UNIX_TIME_MAX + 1 else None
    elif isinstance(value, str) and len(value) <= _DIGITS_PAST_ANY_RANGE:
        seconds = float(value) if _DECIMAL_TEXT.fullmatch(value) else None
    if seconds is None or not 0 <= seconds <= UNIX_TIME_MAX:
        raise refusal(name, UNIX_TIME, value)
    return seconds


def read_text(name: str, value: Any, accepted: str) -> str:
    """A short piece of printable ASCII text (an id, a keyword), as it was given."""
    if isinstance(value, str) and 0 < len(value) <= TEXT_MAX_CHARS:
        if value.isascii() and value.isprintable():
            return value
    raise refusal(name, accepted, value)


def read_short_channel_id(name: str, value: Any) -> str:
    """A short channel id ``BLOCKxTXxOUT`` in ASCII digits, each part within BOLT 7's field
    sizes (3, 3 and 2 bytes)."""
    if isinstance(value, str) and is_short_channel_id(value):
        return value
    raise refusal(name, SHORT_CHANNEL_ID, value)


def is_short_channel_id(text: str) -> bool:
    match = _SHORT_CHANNEL_ID.fullmatch(text)
    if match is None:
        return False
    block, tx, out = (int(part) for part in match.groups())
    return block < 2**24 and tx < 2**24 and out < 2**16


def read_node_id(name: str, value: Any) -> str:
    """A node id: a compressed public key, 66 hex characters (either case; answered lower)."""
    if isinstance(value, str) and _NODE_ID.fullmatch(value.lower()):
        return value.lower()
    raise refusal(name, NODE_ID, value)


def read_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (case and surrounding spaces ignored)."""
    if isinstance(value, str) and len(value) <= TEXT_MAX_CHARS:
        chosen = value.strip().lower()
        if chosen in choices:
            return chosen
    raise refusal(name, "one of " + ", ".join(choices), value)


def read_path(name: str, value: Any) -> Path | None:
    """A file path (no NUL byte), or None when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and "\x00" not in value and len(value) <= 4096:
        return Path(value)
    raise refusal(name, "a file path (text without NUL bytes, at most 4096 characters)", value)
