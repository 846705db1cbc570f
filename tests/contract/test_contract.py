"""The table of behaviours every backend owes, run over each backend of ``HARNESS_FIXTURES``."""

from __future__ import annotations

import re

import pytest

from lnopt.errors import BackendError, BackendRefused, BackendUnavailable
from lnopt.model import ChannelPolicy, Forward, ForwardStatus, Opener
from tests.contract.harness import Capability, Harness, TransportHarness

UNKNOWN_SCID = "700000x9999x9"


class TestBackendContract:
    def test_node_info_names_the_node(self, harness: Harness) -> None:
        info = harness.backend.node_info()
        assert (info.node_id, info.alias, info.block_height) == harness.node_identity()

    def test_channels_carry_the_nodes_amounts_and_policies(self, harness: Harness) -> None:
        expected = harness.node_channels()
        channels = {c.short_channel_id: c for c in harness.backend.channels()}
        assert channels.keys() == expected.keys()
        for scid, truth in expected.items():
            channel = channels[scid]
            assert channel.capacity_msat == truth["capacity_msat"]
            assert channel.local_msat == truth["local_msat"]
            assert channel.remote_msat == truth["capacity_msat"] - truth["local_msat"]
            assert isinstance(channel.local_msat, int)
            assert (channel.our_policy.base_fee_msat, channel.our_policy.fee_ppm) == truth[
                "our_fees"
            ]
            if Capability.PEER_POLICY in harness.capabilities:
                assert channel.peer_policy is not None
                assert (channel.peer_policy.base_fee_msat, channel.peer_policy.fee_ppm) == truth[
                    "peer_fees"
                ]
            else:
                assert channel.peer_policy is None
            if Capability.OPENER in harness.capabilities:
                assert channel.opener is Opener(truth["opener"])
            assert channel.peer_id == truth["peer_id"]

    def test_what_a_backend_cannot_give_it_says(self, harness: Harness) -> None:
        said = " ".join(item.what for item in harness.backend.limitations())
        for capability in (Capability.FORWARDS, Capability.PEER_POLICY):
            assert (capability.value in said) is (capability not in harness.capabilities)

    def test_forwards_are_read_whole_and_each_page_oldest_first(self, harness: Harness) -> None:
        harness.add_settled_forwards(23)
        if Capability.FORWARDS not in harness.capabilities:
            page = harness.backend.forwards(None, limit=10)
            assert (page.forwards, page.next_index) == ((), None)
            limitation = next(
                item
                for item in harness.backend.limitations()
                if item.what == Capability.FORWARDS.value
            )
            assert "activity" in limitation.heuristics
            return
        forwards: list[Forward] = []
        since: int | None = None
        for _ in range(10):
            page = harness.backend.forwards(since, limit=10)
            assert len(page.forwards) <= 10 or page.next_index is None
            received = [f.received_s for f in page.forwards]
            assert received == sorted(received)
            forwards += page.forwards
            if page.next_index is None or not page.forwards:
                break
            since = page.next_index
        distinct = {(f.in_channel, f.in_htlc_id) for f in forwards}
        assert len(distinct) == harness.forward_count() == 23
        assert all(f.status is ForwardStatus.SETTLED for f in forwards)
        assert all(f.in_msat - f.out_msat == f.fee_msat for f in forwards if f.out_msat)

    def test_set_policy_changes_the_fees_and_nothing_else(self, harness: Harness) -> None:
        scid = next(iter(harness.node_channels()))
        _, _, htlc_min, htlc_max = harness.node_fees(scid)
        wanted = ChannelPolicy(base_fee_msat=0, fee_ppm=777, htlc_min_msat=5, htlc_max_msat=6)

        applied = harness.backend.set_policy(scid, wanted)

        assert harness.node_fees(scid) == (0, 777, htlc_min, htlc_max)
        assert (applied.base_fee_msat, applied.fee_ppm) == (0, 777)
        read_back = harness.backend.get_policy(scid)
        assert (read_back.base_fee_msat, read_back.fee_ppm) == (0, 777)
        if Capability.HTLC_LIMITS in harness.capabilities:
            assert (read_back.htlc_min_msat, read_back.htlc_max_msat) == (htlc_min, htlc_max)

    def test_an_unknown_channel_is_refused(self, harness: Harness) -> None:
        with pytest.raises(BackendRefused, match=r"not found|no channel"):
            harness.backend.set_policy(UNKNOWN_SCID, ChannelPolicy(1000, 100))
        with pytest.raises(BackendRefused, match="no channel"):
            harness.backend.get_policy(UNKNOWN_SCID)

    def test_a_negative_fee_is_refused_and_changes_nothing(self, harness: Harness) -> None:
        scid = next(iter(harness.node_channels()))
        before = harness.node_fees(scid)
        with pytest.raises(BackendRefused, match=r"(?i)fee"):
            harness.backend.set_policy(scid, ChannelPolicy(base_fee_msat=1000, fee_ppm=-5))
        assert harness.node_fees(scid) == before

    def test_a_node_that_is_gone_is_unavailable(self, transport_harness: TransportHarness) -> None:
        transport_harness.take_node_away()
        with pytest.raises(BackendUnavailable, match="cannot be reached"):
            transport_harness.backend.node_info()

    def test_an_answer_of_the_wrong_shape_is_a_backend_error(
        self, transport_harness: TransportHarness
    ) -> None:
        transport_harness.garble(transport_harness.channels_call)
        with pytest.raises(BackendError, match=re.escape(transport_harness.channels_call)):
            transport_harness.backend.channels()
