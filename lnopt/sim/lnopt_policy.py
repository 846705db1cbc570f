"""lnopt itself, as a policy: the unmodified Optimizer in auto mode on the simulated node.

At the start (as the plugin's scheduler does) and then every ``interval_s`` (6 simulated hours)
it reads the forwards the backend reports into its SQLite store (``backfill``) and runs once:
snapshot, score, decide, guard, and the executor's journal, apply, verify. The store lives in
the simulation's working directory.

lnopt recommends a rebalance but does not make one; here the operator follows the advice at
once: each channel a run decided to ``rebalance`` is refilled toward
``liquidity.target_local_ratio`` from the channel with the most local balance above that
target, by a circular payment (:meth:`~lnopt.backends.sim.SimBackend.rebalance`) paying at most
the refilled channel's own fee rate: liquidity is bought no dearer than it sells.
"""

from __future__ import annotations

from lnopt.backends.sim import SimBackend
from lnopt.config import default_config
from lnopt.model import Action, Mode, Verdict
from lnopt.service import Optimizer
from lnopt.sim.policy import Policy, PolicyContext, register_policy
from lnopt.store import Store

INTERVAL_S = 6 * 3600.0
EXPLAINED = 5


@register_policy("lnopt")
class LnoptPolicy(Policy):
    interval_s = INTERVAL_S

    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        self._config = context.config or default_config()
        self._store: Store | None = None
        self._optimizer: Optimizer | None = None
        self._explained: list[str] = []

    def start(self, backend: SimBackend, now_s: float) -> None:
        path = self.context.workdir / f"lnopt-seed{self.context.seed}.sqlite"
        path.unlink(missing_ok=True)
        self._store = Store(path)
        self._optimizer = Optimizer(
            backend,
            self._store,
            self._config,
            mode=Mode.AUTO,
            interval_s=int(INTERVAL_S),
            clock=backend.clock,
        )
        self.tick(backend, now_s)

    def tick(self, backend: SimBackend, now_s: float) -> None:
        if self._optimizer is None or self._store is None:
            return
        self._optimizer.backfill()
        run = self._optimizer.run_once()
        for record in self._store.decisions(since_s=run.started_s, limit=1000):
            if record.run_id == run.run_id and record.action is Action.REBALANCE:
                self._rebalance(backend, record.short_channel_id)
        if len(self._explained) < EXPLAINED:
            self._explain(run.run_id)

    def _rebalance(self, backend: SimBackend, short_channel_id: str) -> None:
        """Refill ``short_channel_id`` from the channel with the most to spare (docstring)."""
        target = self._config.liquidity.target_local_ratio
        channels = {ch.short_channel_id: ch for ch in backend.channels()}
        depleted = channels[short_channel_id]
        needed = int(depleted.capacity_msat * target) - depleted.local_msat
        spare = {
            scid: ch.local_msat - int(ch.capacity_msat * target)
            for scid, ch in channels.items()
            if scid != short_channel_id
        }
        source = max(spare, key=lambda scid: spare[scid], default=None)
        if source is None or needed <= 0 or spare[source] <= 0:
            return
        amount = min(needed, spare[source])
        backend.rebalance(source, short_channel_id, amount, depleted.our_policy.fee_ppm)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def explanations(self) -> list[str]:
        return list(self._explained)

    def _explain(self, run_id: int) -> None:
        assert self._store is not None  # noqa: S101 - called only after start
        for record in reversed(self._store.decisions(limit=200)):
            if record.run_id != run_id or not record.action.changes_fees:
                continue
            if record.verdict is Verdict.REJECTED or len(self._explained) >= EXPLAINED:
                continue
            new = record.guarded_policy or record.proposed_policy
            change = (
                f"{record.current_policy.fee_ppm} -> {new.fee_ppm} ppm" if new is not None else ""
            )
            reasons = " ".join(record.reasons)
            if record.verdict is Verdict.CLAMPED:
                reasons += " Guard: " + " ".join(record.verdict_reasons)
            self._explained.append(
                f"{record.short_channel_id} {record.action.value} {change}: {reasons}"
            )
