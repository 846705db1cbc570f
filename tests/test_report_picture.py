"""The report's picture: fee income per day with lnopt's fee changes marked, and each channel's
local share over time, drawn from the store of a two-week test run (an Optimizer in auto mode
over an in-memory node, forwards recorded every hour), without asking the node anything.

``docs/report-example.png`` is this picture: ``python -m tests.test_report_picture`` writes it.
"""

from __future__ import annotations

import random
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib.image
import pytest

from lnopt.backends.base import Backend, ForwardPage, NodeInfo
from lnopt.config import default_config
from lnopt.errors import InvalidRequest
from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelPolicy, Forward, ForwardStatus, Mode
from lnopt.service import Optimizer
from lnopt.store import Store
from tests.factories import channel
from tests.memory_backend import MemoryBackend
from tests.test_service import competitors

T0 = 1_760_000_000.0
HOUR = 3600.0
DAYS = 14
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "report-example.png"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Untouchable(Backend):
    """A node that must not be asked anything: every call fails the test."""

    name = "untouchable"

    def _touched(self, what: str) -> AssertionError:
        return AssertionError(f"the picture asked the node: {what}")

    def node_info(self) -> NodeInfo:
        raise self._touched("node_info")

    def channels(self) -> Sequence[Channel]:
        raise self._touched("channels")

    def gossip(self) -> NetworkGraph:
        raise self._touched("gossip")

    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage:
        raise self._touched("forwards")

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy:
        raise self._touched("set_policy")

    def get_policy(self, short_channel_id: str) -> ChannelPolicy:
        raise self._touched("get_policy")


def two_weeks(store: Store) -> Clock:
    """Six channels, forwards every hour (draining two of them), an auto run every 6 hours."""
    rng = random.Random(13)
    channels = [channel(n, local_ratio=0.92, fee_ppm=400) for n in (1, 2, 3)]
    channels += [channel(n, local_ratio=0.5, fee_ppm=100) for n in (4, 5, 6)]
    backend = MemoryBackend(channels, extra_gossip=competitors(channels))
    clock = Clock()
    optimizer = Optimizer(backend, store, default_config(), mode=Mode.AUTO, clock=clock)
    local = {ch.short_channel_id: ch.local_msat for ch in channels}
    htlc = 0
    for hour in range(DAYS * 24):
        clock.now = T0 + hour * HOUR
        forwards = []
        for _ in range(rng.randint(0, 4)):
            source, out = rng.sample(channels, 2)
            if out.short_channel_id in (channels[3].short_channel_id, channels[4].short_channel_id):
                out = rng.choice([out, out, source])
            amount = rng.randint(50_000, 400_000) * 1000
            if local[out.short_channel_id] < amount:
                continue
            fee = backend.policies[out.short_channel_id].fee_msat(amount)
            htlc += 1
            forwards.append(
                Forward(
                    in_channel=source.short_channel_id,
                    in_htlc_id=htlc,
                    out_channel=out.short_channel_id,
                    in_msat=amount + fee,
                    out_msat=amount,
                    fee_msat=fee,
                    status=ForwardStatus.SETTLED,
                    received_s=clock.now - 2,
                    resolved_s=clock.now - 1,
                )
            )
            local[out.short_channel_id] -= amount
            local[source.short_channel_id] = min(
                source.capacity_msat, local[source.short_channel_id] + amount
            )
        store.record_forwards(forwards)
        for scid, msat in local.items():
            capacity = channels[0].capacity_msat
            backend.update_channel(scid, local_msat=msat, remote_msat=capacity - msat)
        if hour % 6 == 0:
            optimizer.run_once()
    return clock


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Clock]:
    store = Store(tmp_path_factory.mktemp("report") / "lnopt.sqlite3")
    return store, two_weeks(store)


def png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_picture_is_a_png_of_sensible_size_drawn_without_the_node(
    history: tuple[Store, Clock], tmp_path: Path
) -> None:
    store, clock = history
    # Given lnopt changed fees during the two weeks
    assert store.journal()
    optimizer = Optimizer(Untouchable(), store, default_config(), clock=clock)

    # When the report is drawn (the node would fail the test if asked anything)
    written = optimizer.report_picture(tmp_path / "report.png", days=DAYS)

    # Then it is a PNG of 1100 x 880 pixels, neither empty nor huge, with something drawn
    data = written.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"
    assert png_size(data) == (1100, 880)
    assert 20_000 < len(data) < 2_000_000
    pixels = matplotlib.image.imread(written)
    assert pixels.shape[:2] == (880, 1100)
    assert pixels[..., :3].std() > 0.05


def test_the_store_holds_what_the_picture_draws(history: tuple[Store, Clock]) -> None:
    store, clock = history
    days = store.daily_income(since_s=clock.now - DAYS * 86_400, until_s=clock.now)
    assert 10 <= len(days) <= DAYS + 1
    assert all(day.fees_msat > 0 for day in days)
    observed = store.observations(since_s=T0)
    assert len(observed) == 6
    assert all(len(seen) == DAYS * 4 for seen in observed.values())


def test_a_picture_path_that_is_not_a_png_or_cannot_be_written_is_refused(
    history: tuple[Store, Clock], tmp_path: Path
) -> None:
    store, clock = history
    optimizer = Optimizer(Untouchable(), store, default_config(), clock=clock)
    with pytest.raises(InvalidRequest, match=r"png: .* does not end in \.png"):
        optimizer.report_picture(tmp_path / "report.txt")
    with pytest.raises(InvalidRequest, match="png: cannot write"):
        optimizer.report_picture(tmp_path / "missing" / "report.png")
    assert not (tmp_path / "report.txt").exists()


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        example_store = Store(Path(folder) / "lnopt.sqlite3")
        example_clock = two_weeks(example_store)
        shown = Optimizer(Untouchable(), example_store, default_config(), clock=example_clock)
        sys.stdout.write(f"{shown.report_picture(EXAMPLE, days=DAYS)}\n")
        example_store.close()
