"""lnopt on a real Core Lightning node: three regtest nodes l1 - l2 - l3, lnopt on l2.

Payments from l1 to l3 route through l2; lnopt on l2 counts them, changes the fee of l2's
channel to l3 (l1 sees the new fee in its gossip) and rolls the change back. The plugin is
started both with the node and while it runs. Needs ``lightningd`` and ``bitcoind`` on PATH;
without them the module is skipped before pyln-testing's fixtures are imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import SKIP_REASON, missing_binaries

if missing_binaries():
    pytest.skip(SKIP_REASON, allow_module_level=True)

from pyln.testing.fixtures import *  # noqa: F403
from pyln.testing.utils import wait_for

PAYMENT_MSAT = 50_000_000


def plugin_options(
    plugin: Path, *, mode: str = "shadow", config: Path | None = None
) -> dict[str, Any]:
    """No scheduled runs: only the test's calls act. Shadow mode refuses real applies."""
    options: dict[str, Any] = {"plugin": str(plugin), "lnopt-mode": mode}
    options["lnopt-interval"] = 0
    if config is not None:
        options["lnopt-config"] = str(config)
    return options


def pay_through(l1: Any, l3: Any, count: int, *, label: str) -> None:
    """``count`` payments from l1 to l3, each found by l1's own route search (through l2)."""
    for n in range(count):
        invoice = l3.rpc.invoice(PAYMENT_MSAT + n, f"{label}-{n}", "lnopt test")["bolt11"]
        assert l1.rpc.pay(invoice)["status"] == "complete"


def settled_forwards(node: Any) -> int:
    return len(node.rpc.listforwards(status="settled")["forwards"])


def scid_between(node: Any, peer: Any) -> str:
    channels = node.rpc.listpeerchannels(peer.info["id"])["channels"]
    return str(channels[0]["short_channel_id"])


def fees_seen_by(observer: Any, scid: str, source: Any) -> tuple[int, int] | None:
    """(base fee msat, fee ppm) of ``source``'s direction of ``scid`` in ``observer``'s gossip."""
    for item in observer.rpc.listchannels(scid)["channels"]:
        if item["source"] == source.info["id"]:
            return int(item["base_fee_millisatoshi"]), int(item["fee_per_millionth"])
    return None


def test_status_counts_forwards_through_the_node(node_factory: Any, lnopt_plugin: Path) -> None:
    l1, l2, l3 = node_factory.line_graph(
        3, opts=[{}, plugin_options(lnopt_plugin), {}], wait_for_announce=True
    )

    pay_through(l1, l3, 3, label="counted")

    wait_for(lambda: l2.rpc.call("lnopt-status")["counts"]["settled"] == 3)
    counts = l2.rpc.call("lnopt-status")["counts"]
    assert counts["settled"] == settled_forwards(l2) == 3
    assert counts["forwards"] >= counts["settled"]


def test_started_while_the_node_runs_it_backfills_then_follows(
    node_factory: Any, lnopt_plugin: Path
) -> None:
    l1, l2, l3 = node_factory.line_graph(3, wait_for_announce=True)
    pay_through(l1, l3, 2, label="before")

    options = plugin_options(lnopt_plugin)
    started = l2.rpc.plugin_start(options.pop("plugin"), **options)

    assert any(p["name"].endswith("lnopt-plugin") and p["active"] for p in started["plugins"])
    wait_for(lambda: l2.rpc.call("lnopt-status")["counts"]["settled"] == 2)
    pay_through(l1, l3, 1, label="after")
    wait_for(lambda: l2.rpc.call("lnopt-status")["counts"]["settled"] == 3)


def test_apply_changes_the_fee_the_network_sees_and_rollback_restores_it(
    node_factory: Any, lnopt_plugin: Path, lnopt_config: Path
) -> None:
    l1, l2, l3 = node_factory.line_graph(
        3,
        opts=[{}, plugin_options(lnopt_plugin, mode="advise", config=lnopt_config), {}],
        wait_for_announce=True,
    )
    scid = scid_between(l2, l3)
    before = fees_seen_by(l1, scid, l2)
    assert before is not None

    dry = l2.rpc.call("lnopt-apply", {"channel": scid})
    assert dry["dryrun"] is True and dry["batch_id"] is None
    assert fees_seen_by(l1, scid, l2) == before

    applied = l2.rpc.call("lnopt-apply", {"channel": scid, "dryrun": False})

    assert applied["dryrun"] is False and applied["batch_id"]
    [change] = [c for c in applied["changes"] if c["short_channel_id"] == scid]
    assert change["status"] == "done" and change["error"] is None
    old = (change["old"]["fee_base_msat"], change["old"]["fee_ppm"])
    new = (change["new"]["fee_base_msat"], change["new"]["fee_ppm"])
    assert old == before != new
    ours = l2.rpc.listpeerchannels(l3.info["id"])["channels"][0]
    assert (ours["fee_base_msat"], ours["fee_proportional_millionths"]) == new
    wait_for(lambda: fees_seen_by(l1, scid, l2) == new)

    undone = l2.rpc.call("lnopt-rollback", {"target": str(change["change_id"]), "dryrun": False})

    [restore] = undone["changes"]
    assert restore["status"] == "done" and restore["short_channel_id"] == scid
    assert (restore["new"]["fee_base_msat"], restore["new"]["fee_ppm"]) == old
    wait_for(lambda: fees_seen_by(l1, scid, l2) == old)


def test_a_fee_set_by_hand_is_left_alone_and_its_alert_reaches_a_subscribed_plugin(
    node_factory: Any, lnopt_plugin: Path, lnopt_config: Path, alert_subscriber: Path
) -> None:
    _l1, l2, l3 = node_factory.line_graph(
        3,
        opts=[{}, plugin_options(lnopt_plugin, mode="advise", config=lnopt_config), {}],
        wait_for_announce=True,
    )
    l2.rpc.plugin_start(str(alert_subscriber))
    scid = scid_between(l2, l3)
    applied = l2.rpc.call("lnopt-apply", {"channel": scid, "dryrun": False})
    [change] = [c for c in applied["changes"] if c["short_channel_id"] == scid]
    assert change["status"] == "done"

    # When the operator sets the fee by hand, and lnopt plans again
    l2.rpc.setchannel(scid, 0, 777)
    recommendations = l2.rpc.call("lnopt-recommend")

    # Then lnopt leaves the channel alone and says why
    [mark] = recommendations["hands_off"]
    assert mark["short_channel_id"] == scid and mark["node"]["fee_ppm"] == 777
    assert l2.rpc.call("lnopt-status")["hands_off"] == [mark]
    # and lightningd delivered the lnopt_alert notification to the subscribed plugin
    wait_for(lambda: l2.rpc.call("alerts-received")["received"])
    [got] = l2.rpc.call("alerts-received")["received"]
    assert got["origin"] == lnopt_plugin.name
    assert got["alert"]["kind"] == "fee_changed_outside"
    assert got["alert"]["short_channel_id"] == scid

    # When the operator releases it, lnopt may change it again
    l2.rpc.call("lnopt-release", {"channel": scid})
    assert l2.rpc.call("lnopt-status")["hands_off"] == []
