"""The readers of every value an operator gives: what each takes, and how each refuses."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lnopt.errors import InvalidRequest
from lnopt.params import (
    INTEGER_MAX,
    U32_MAX,
    OversizedInteger,
    largest_whole_number,
    read_bool,
    read_choice,
    read_int,
    read_node_id,
    read_path,
    read_short_channel_id,
    read_text,
    read_time,
    shown,
)
from tests.factories import node_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        ([1, None], "[1, null]"),
        ("²", '"²"'),
        ("a\x00b", '"a\\u0000b"'),
        ("\ud800", '"\\ud800"'),
        (math.inf, "Infinity"),
        (OversizedInteger(10_000), "a number of 10000 digits"),
        ("x" * 10_000, '"' + "x" * 78 + "…"),
    ],
)
def test_a_value_is_shown_as_json_and_clipped(value: Any, expected: str) -> None:
    assert shown(value) == expected
    assert len(shown(value)) <= 80


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (7, 7), ("42", 42), (INTEGER_MAX, INTEGER_MAX), (str(INTEGER_MAX), INTEGER_MAX)],
)
def test_whole_numbers_are_read_from_json_integers_and_ascii_digits(
    value: Any, expected: int
) -> None:
    assert read_int("limit", value) == expected


@pytest.mark.parametrize(
    "value",
    [
        -1,
        INTEGER_MAX + 1,
        2**64,
        "1" + "0" * 400,
        True,
        5.0,
        math.inf,
        "--5",
        "+5",
        " 5",
        "²",
        "٣",
        "5\x00",
        "",
        None,
        [5],
        OversizedInteger(5000),
    ],
)
def test_anything_else_is_refused_naming_the_range(value: Any) -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_int("limit", value)

    assert str(refused.value) == (
        f"limit must be a whole number from 0 to {INTEGER_MAX}; got {shown(value)}"
    )


def test_a_range_of_its_own_and_no_text_form_where_none_is_wanted() -> None:
    assert read_int("days", 3650, minimum=1, maximum=3650) == 3650
    with pytest.raises(
        InvalidRequest, match=r"^days must be a whole number from 1 to 3650; got 0$"
    ):
        read_int("days", 0, minimum=1, maximum=3650)
    with pytest.raises(InvalidRequest, match=r'got "5"$'):
        read_int("guard.cooldown_s", "5", text=False)


def test_fee_amounts_are_bounded_to_32_bits_and_other_settings_to_sqlite() -> None:
    assert [largest_whole_number(k) for k in ("max_fee_ppm", "min_base_fee_msat")] == [U32_MAX] * 2
    assert largest_whole_number("cooldown_s") == INTEGER_MAX


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (1, True), (0, False), ("true", True), (" No ", False)],
)
def test_booleans_take_json_booleans_the_numbers_1_0_and_their_words(
    value: Any, expected: bool
) -> None:
    assert read_bool("dryrun", value) is expected


@pytest.mark.parametrize("value", [None, 2, -1, 1.0, "maybe", "", [True]])
def test_anything_else_is_not_a_boolean(value: Any) -> None:
    with pytest.raises(InvalidRequest, match=r'^dryrun must be true or false \(or 1/0, "true"'):
        read_bool("dryrun", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (0, 0.0), (1_700_000_000.5, 1_700_000_000.5), ("1700000000", 1.7e9)],
)
def test_times_are_unix_seconds(value: Any, expected: float | None) -> None:
    assert read_time("since", value) == expected


@pytest.mark.parametrize(
    "value", [-1, 1e400, math.nan, 2**64, 253_402_300_800, "NaN", "1e400", "-5", "٣", True, []]
)
def test_anything_else_is_not_a_time(value: Any) -> None:
    with pytest.raises(InvalidRequest, match=r"^since must be a unix time in seconds from 0 to "):
        read_time("since", value)


@pytest.mark.parametrize("value", ["812345x1020x1", "0x0x0", "16777215x16777215x65535"])
def test_short_channel_ids_within_bolt_7s_field_sizes(value: str) -> None:
    assert read_short_channel_id("channel", value) == value


@pytest.mark.parametrize(
    "value", ["16777216x1x1", "1x16777216x1", "1x1x65536", "٣x1x1", "1x²x1", " 1x1x1", "1x1", 5]
)
def test_anything_else_is_not_a_short_channel_id(value: Any) -> None:
    with pytest.raises(InvalidRequest, match=r"^channel must be a short channel id BLOCKxTXxOUT"):
        read_short_channel_id("channel", value)


def test_node_ids_are_compressed_keys_in_hex() -> None:
    assert read_node_id("peer", node_id(7).upper()) == node_id(7)
    for bad in ("04" + "a" * 64, "03" + "a" * 63, "03" + "٣" * 64):
        with pytest.raises(InvalidRequest, match=r"^peer must be a node id"):
            read_node_id("peer", bad)


def test_ids_are_printable_ascii_and_short() -> None:
    assert read_text("target", "b7", "an id") == "b7"
    for bad in ("", "٣", "a\x00", "x" * 101, 7):
        with pytest.raises(InvalidRequest, match=r"^target must be an id; got "):
            read_text("target", bad, "an id")


def test_choices_ignore_case_and_spaces() -> None:
    assert read_choice("lnopt-mode", " Advise ", ("shadow", "advise")) == "advise"
    with pytest.raises(InvalidRequest, match=r"^lnopt-mode must be one of shadow, advise; got 1$"):
        read_choice("lnopt-mode", 1, ("shadow", "advise"))


def test_paths_refuse_a_nul_byte() -> None:
    assert read_path("lnopt-db", None) is None and read_path("lnopt-db", "") is None
    assert str(read_path("lnopt-db", "/var/lib/lnopt.sqlite3")) == "/var/lib/lnopt.sqlite3"
    with pytest.raises(InvalidRequest) as refused:
        read_path("lnopt-db", "a\x00b")
    assert str(refused.value).endswith('; got "a\\u0000b"')
