"""A spike of failed forwards: ``failed_forwards`` or more forwards out of one channel failed
(downstream or here) within ``failed_window_minutes``.

:func:`failure_spikes` judges the counts the store holds (on every run);
:class:`FailureSpikeWatcher` notices a spike as the forwards arrive, with constant work and
bounded memory per forward (it keeps at most ``failed_forwards`` times for each of at most
:data:`MAX_CHANNELS` channels).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from lnopt.config import AlertsConfig
from lnopt.model import Alert, AlertKind, Forward, ForwardStatus

MINUTE_S = 60
MAX_CHANNELS = 4096
_FAILED = frozenset({ForwardStatus.FAILED, ForwardStatus.LOCAL_FAILED})


def failure_spike(
    short_channel_id: str, failures: int, config: AlertsConfig, *, now_s: float
) -> Alert | None:
    """The alert for ``failures`` failed forwards out of the channel within the window, if
    they are a spike."""
    if config.failed_window_minutes == 0 or config.failed_forwards == 0:
        return None
    if failures < config.failed_forwards:
        return None
    return Alert(
        kind=AlertKind.FAILED_FORWARDS,
        subject=short_channel_id,
        short_channel_id=short_channel_id,
        raised_s=now_s,
        message=(
            f"channel {short_channel_id}: {failures} forwards out failed within "
            f"{config.failed_window_minutes} min (alerts.failed_forwards = "
            f"{config.failed_forwards})"
        ),
        details={"failures": failures, "window_minutes": config.failed_window_minutes},
    )


def failure_spikes(
    failed_out: Mapping[str, int], config: AlertsConfig, *, now_s: float
) -> list[Alert]:
    """An alert per channel whose failed forwards out (counted over the window) are a spike."""
    found = (failure_spike(scid, n, config, now_s=now_s) for scid, n in sorted(failed_out.items()))
    return [alert for alert in found if alert is not None]


class FailureSpikeWatcher:
    """Notices a spike of failed forwards as they are recorded."""

    def __init__(self, config: Callable[[], AlertsConfig], *, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._times: dict[str, deque[float]] = {}

    def observe(self, forward: Forward) -> Alert | None:
        """Count a failed forward out of one of our channels; the alert once the last
        ``failed_forwards`` of them fit in the window and the newest is recent."""
        config = self._config()
        scid = forward.out_channel
        if forward.status not in _FAILED or scid is None or config.failed_forwards == 0:
            return None
        window_s = config.failed_window_minutes * MINUTE_S
        if window_s == 0:
            return None
        when = forward.resolved_s if forward.resolved_s is not None else forward.received_s
        now_s = self._clock()
        if now_s - when > window_s:
            return None
        times = self._times.get(scid)
        if times is None or times.maxlen != config.failed_forwards:
            if len(self._times) >= MAX_CHANNELS:
                self._times.clear()
            times = self._times[scid] = deque(maxlen=config.failed_forwards)
        times.append(when)
        if len(times) < config.failed_forwards or max(times) - min(times) > window_s:
            return None
        return failure_spike(scid, len(times), config, now_s=now_s)
