"""A channel draining fast: its local share fell by ``drain_drop_ratio`` or more within
``drain_window_hours``, from the highest share a run saw in that window to the share now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lnopt.config import AlertsConfig
from lnopt.model import Alert, AlertKind, Channel
from lnopt.store.observations import ChannelObservation

HOUR_S = 3600


def draining_channels(
    channels: Sequence[Channel],
    observations: Mapping[str, Sequence[ChannelObservation]],
    config: AlertsConfig,
    *,
    now_s: float,
) -> list[Alert]:
    """An alert per channel whose local share fell fast; ``observations`` may hold older
    ones, only those of the last ``drain_window_hours`` count."""
    if config.drain_window_hours == 0:
        return []
    since_s = now_s - config.drain_window_hours * HOUR_S
    alerts = []
    for channel in channels:
        if not channel.balance_known or channel.capacity_msat <= 0:
            continue
        history = observations.get(channel.short_channel_id, ())
        seen = [o for o in history if o.observed_s >= since_s]
        if not seen:
            continue
        peak = max(seen, key=lambda o: o.local_ratio)
        drop = peak.local_ratio - channel.local_ratio
        if drop < config.drain_drop_ratio or drop <= 0:
            continue
        hours = (now_s - peak.observed_s) / HOUR_S
        alerts.append(
            Alert(
                kind=AlertKind.CHANNEL_DRAINING,
                subject=channel.short_channel_id,
                short_channel_id=channel.short_channel_id,
                peer_id=channel.peer_id,
                raised_s=now_s,
                message=(
                    f"channel {channel.short_channel_id} is draining fast: its local share fell "
                    f"from {peak.local_ratio:.0%} to {channel.local_ratio:.0%} in {hours:.1f} h "
                    f"(alerts.drain_drop_ratio = {config.drain_drop_ratio} within "
                    f"alerts.drain_window_hours = {config.drain_window_hours})"
                ),
                details={
                    "from_local_msat": peak.local_msat,
                    "to_local_msat": channel.local_msat,
                    "capacity_msat": channel.capacity_msat,
                    "from_observed_at": peak.observed_s,
                    "drop_ratio": round(drop, 4),
                },
            )
        )
    return alerts
