"""The ``alerts`` section of the configuration is checked like the others, and the store keeps
alerts and observations only as long as the rest (the marks of channels left alone for ever)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lnopt.config import AlertsConfig, default_config, load_config
from lnopt.errors import ConfigError
from lnopt.model import Alert, AlertKind
from lnopt.store import Store
from tests.factories import channel, policy

DAY_S = 86_400
T0 = 1_760_000_000.0


def test_the_defaults_hold_the_documented_alert_settings() -> None:
    assert default_config().alerts == AlertsConfig()
    assert AlertsConfig().max_per_hour == 10 and AlertsConfig().drain_window_hours == 6


@pytest.mark.parametrize(
    ("yaml", "needle"),
    [
        ("alerts:\n  drain_drop_ratio: 1.5\n", "alerts.drain_drop_ratio: 1.5 is outside [0, 1]"),
        (
            "alerts:\n  offline_hours: -1\n",
            "alerts.offline_hours must be a whole number from 0 to",
        ),
        ("alerts:\n  max_per_hour: 2.5\n", "alerts.max_per_hour must be a whole number"),
        ("alerts:\n  webhook_url: x\n", "unknown configuration key alerts.webhook_url"),
        ("alerts: 3\n", "alerts: expected a mapping"),
    ],
)
def test_bad_alert_settings_are_refused_with_the_key_named(
    tmp_path: Path, yaml: str, needle: str
) -> None:
    path = tmp_path / "lnopt.yaml"
    path.write_text(yaml)
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_config(path)


def test_an_hourly_cap_set_as_an_option_is_checked_like_the_file() -> None:
    assert default_config().with_alerts(max_per_hour=3).alerts.max_per_hour == 3
    with pytest.raises(
        ConfigError, match=r"alerts\.max_per_hour must be a whole number from 0 to .*; got -3"
    ):
        default_config().with_alerts(max_per_hour=-3)


def test_prune_drops_old_alerts_and_observations_but_keeps_marks(tmp_path: Path) -> None:
    store = Store(tmp_path / "lnopt.sqlite3", retention_days=30)
    ours = channel(1)
    for observed_s in (T0 - 31 * DAY_S, T0 - DAY_S):
        store.record_observation(
            run_id=None, observed_s=observed_s, channels=[ours], fee_totals=None
        )
    for at_s in (T0 - 31 * DAY_S, T0 - DAY_S):
        store.record_alert(Alert(AlertKind.SCHEDULER_FAILURE, "run", "m", raised_s=at_s))
    store.mark_hands_off(
        ours.short_channel_id,
        since_s=T0 - 60 * DAY_S,
        reason="r",
        node_policy=policy(0, 1),
        expected_policy=policy(0, 2),
    )

    store.prune(now_s=T0)

    assert [o.observed_s for o in store.observations(since_s=0)[ours.short_channel_id]] == [
        T0 - DAY_S
    ]
    assert [r.alert.raised_s for r in store.alerts()] == [T0 - DAY_S]
    assert list(store.hands_off()) == [ours.short_channel_id]
    store.close()
