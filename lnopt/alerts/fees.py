"""A fee changed outside lnopt: the node's base fee or fee rate of a channel is not what
lnopt's journal says it left (or what the node had when the operator last released it).

lnopt then leaves that channel alone until the operator releases it (``lnopt-release``): an
operator or another tool is setting that fee, and lnopt will not fight it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lnopt.model import Alert, AlertKind, Channel, ChannelPolicy


def _fees(policy: ChannelPolicy) -> str:
    return f"{policy.base_fee_msat} msat + {policy.fee_ppm} ppm"


def left_alone_reason(channel: Channel, expected: ChannelPolicy) -> str:
    """Why lnopt leaves the channel alone, as status and recommend say it."""
    return (
        f"its fee was changed outside lnopt: the node has {_fees(channel.our_policy)}, lnopt "
        f"left {_fees(expected)}; lnopt leaves channel {channel.short_channel_id} alone until "
        f"released (lightning-cli lnopt-release {channel.short_channel_id})"
    )


def changed_outside(
    channels: Sequence[Channel], expected: Mapping[str, ChannelPolicy]
) -> list[tuple[Channel, ChannelPolicy]]:
    """Each channel whose fees differ from what lnopt expects, with that expectation."""
    found = []
    for channel in channels:
        wanted = expected.get(channel.short_channel_id)
        if wanted is None:
            continue
        policy = channel.our_policy
        if (policy.base_fee_msat, policy.fee_ppm) != (wanted.base_fee_msat, wanted.fee_ppm):
            found.append((channel, wanted))
    return found


def fee_changed_alert(channel: Channel, expected: ChannelPolicy, *, now_s: float) -> Alert:
    policy = channel.our_policy
    return Alert(
        kind=AlertKind.FEE_CHANGED_OUTSIDE,
        subject=channel.short_channel_id,
        short_channel_id=channel.short_channel_id,
        peer_id=channel.peer_id,
        raised_s=now_s,
        message=f"channel {channel.short_channel_id}: {left_alone_reason(channel, expected)}",
        details={
            "node_base_fee_msat": policy.base_fee_msat,
            "node_fee_ppm": policy.fee_ppm,
            "expected_base_fee_msat": expected.base_fee_msat,
            "expected_fee_ppm": expected.fee_ppm,
        },
    )
