#!/usr/bin/env python3
"""A small Core Lightning plugin that subscribes to lnopt's ``lnopt_alert`` notifications, as
an operator's own plugin would, and answers ``alerts-received`` with what it got: each
notification's ``origin`` and the alert it carried."""

from __future__ import annotations

import threading
from typing import Any

from pyln.client import Plugin

plugin = Plugin()
received: list[dict[str, Any]] = []
lock = threading.Lock()


@plugin.subscribe("lnopt_alert")
def on_alert(origin: Any = None, payload: Any = None, **kwargs: Any) -> None:
    # lightningd relays {"origin": ..., "payload": <lnopt's params>}; lnopt's params hold the
    # alert under the topic's name
    carried = payload if isinstance(payload, dict) else kwargs
    with lock:
        received.append({"origin": origin, "alert": carried.get("lnopt_alert")})


@plugin.method("alerts-received")
def alerts_received(plugin: Plugin) -> Any:
    """The lnopt alerts this plugin received, oldest first."""
    with lock:
        return {"received": list(received)}


if __name__ == "__main__":
    plugin.run()
