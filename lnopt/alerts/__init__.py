"""Alerts: what lnopt notices and tells the operator.

Detectors, pure like the engine, one per module: :mod:`~lnopt.alerts.draining` (a channel's
local share falling fast), :mod:`~lnopt.alerts.offline` (a peer offline for long),
:mod:`~lnopt.alerts.failures` (a spike of failed forwards, on every run and as forwards are
recorded), :mod:`~lnopt.alerts.fees` (a fee changed outside lnopt, after which lnopt leaves the
channel alone) and :mod:`~lnopt.alerts.faults` (a backend's open circuit breaker, the store or
a run failing). :mod:`~lnopt.alerts.gate` holds repeats and floods back;
:mod:`~lnopt.alerts.delivery` sends to the log, a Core Lightning custom notification and a
webhook; :mod:`~lnopt.alerts.dispatch` ties gate, store and delivery together, and
:mod:`~lnopt.alerts.watch` runs the detectors when the Optimizer and the recorder see something.
"""

from lnopt.model import Alert, AlertKind

__all__ = ["Alert", "AlertKind"]
