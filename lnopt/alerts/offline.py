"""A peer offline for long: disconnected now, and in every run for ``offline_hours`` or more."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lnopt.config import AlertsConfig
from lnopt.model import Alert, AlertKind, Channel, ChannelState

HOUR_S = 3600


def offline_peers(
    channels: Sequence[Channel],
    disconnected_since: Mapping[str, float],
    config: AlertsConfig,
    *,
    now_s: float,
) -> list[Alert]:
    """An alert per peer (once, whatever its channels) disconnected since at least
    ``offline_hours``; ``disconnected_since`` maps a channel to the start of its current
    disconnected stretch as runs saw it."""
    if config.offline_hours == 0:
        return []
    limit_s = config.offline_hours * HOUR_S
    longest: dict[str, tuple[float, Channel]] = {}
    for channel in channels:
        if channel.connected or channel.state is not ChannelState.ACTIVE:
            continue
        since_s = disconnected_since.get(channel.short_channel_id)
        if since_s is None or now_s - since_s < limit_s:
            continue
        known = longest.get(channel.peer_id)
        if known is None or since_s < known[0]:
            longest[channel.peer_id] = (since_s, channel)
    alerts = []
    for peer_id, (since_s, channel) in sorted(longest.items()):
        hours = (now_s - since_s) / HOUR_S
        alerts.append(
            Alert(
                kind=AlertKind.PEER_OFFLINE,
                subject=peer_id,
                peer_id=peer_id,
                short_channel_id=channel.short_channel_id,
                raised_s=now_s,
                message=(
                    f"peer {peer_id} (channel {channel.short_channel_id}) has been offline for "
                    f"{hours:.1f} h (alerts.offline_hours = {config.offline_hours})"
                ),
                details={"offline_since": since_s, "offline_hours": round(hours, 2)},
            )
        )
    return alerts
