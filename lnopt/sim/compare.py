"""Policies side by side: every policy on every seed's world, optionally with the hindsight
reference, seeds spread over worker processes.

A seed fixes the world (for a generated network, the network itself too) and the demand's
shape; each world carries ``streams`` payment streams: stream ``k`` of world seed ``s`` is
drawn from the stream seed ``s + 1,000,000 k`` (:func:`stream_seed`; stream 0 is the world
seed's own). Every policy of a (world seed, stream) row sees the same payments (common random
numbers) and starts from the same warm-up, simulated once for the row (:mod:`lnopt.sim.warmup`).
Policies run one after another in the seed's process and share the router's cached trees.
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from lnopt.config import Config
from lnopt.graph import NetworkGraph
from lnopt.sim.demand import DemandParams
from lnopt.sim.engine import SimParams, Simulation
from lnopt.sim.hindsight import Hindsight, hindsight
from lnopt.sim.metrics import RunResult
from lnopt.sim.network import OurNode, generate_network, load_network
from lnopt.sim.policies import check_policies, make_policy
from lnopt.sim.policy import PolicyContext
from lnopt.sim.warmup import WarmupParams, warm_up
from lnopt.sim.warmup_state import WarmupState
from lnopt.sim.world import World, WorldParams, build_world, with_stream, world_of

logger = logging.getLogger(__name__)

DEFAULT_POLICIES = ("lnopt", "static", "feeadjuster", "charge-lnd", "lndg", "clboss", "lndmanage")
STREAM_SEED_STEP = 1_000_000


def stream_seed(world_seed: int, stream: int) -> int:
    """The seed of stream ``stream`` of the world of ``world_seed`` (see the module docstring)."""
    return world_seed + STREAM_SEED_STEP * stream


@dataclass(frozen=True)
class CompareParams:
    graph: Path | None = None  # a listchannels file; None: a generated network
    node: OurNode | None = None  # an operator's node as it is; None: one joined to the network
    nodes: int = 3000  # size of a generated network
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    days: float = 30.0
    payments: int = 60_000
    policies: tuple[str, ...] = DEFAULT_POLICIES
    hindsight: bool = False
    workers: int = 1
    demand: DemandParams = field(default_factory=DemandParams)
    sim: SimParams = field(default_factory=SimParams)
    streams: int = 1  # payment streams per world
    warmup: WarmupParams = field(default_factory=WarmupParams)
    # our node's other settings (peers, capacities...); its seeds, days, payments and demand
    # are the fields above
    world: WorldParams = field(default_factory=lambda: WorldParams(seed=0))


@dataclass(frozen=True)
class Comparison:
    params: CompareParams
    results: tuple[RunResult, ...]
    hindsight: tuple[Hindsight, ...] = ()

    def of(self, policy: str) -> list[RunResult]:
        return [r for r in self.results if r.policy == policy]


def network_for(params: CompareParams, seed: int) -> NetworkGraph:
    if params.graph is not None:
        return load_network(params.graph)
    return generate_network(seed=seed, nodes=params.nodes)


def world_for(
    params: CompareParams, seed: int, network: NetworkGraph | None = None, *, stream: int = 0
) -> World:
    world_params = replace(
        params.world,
        seed=seed,
        stream_seed=stream_seed(seed, stream),
        payments=params.payments,
        days=params.days,
        demand=params.demand,
    )
    if params.node is not None:
        return world_of(params.node, world_params)
    return build_world(network or network_for(params, seed), world_params)


def run_seed(
    params: CompareParams,
    seed: int,
    *,
    config: Config | None = None,
    workdir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[RunResult], Hindsight | None]:
    """Every policy on each of one seed's streams; with ``hindsight``, the best constant fees
    searched on stream 0 (in sample) and on a stream no policy runs on, then scored on stream 0
    (out of sample)."""
    first = world_for(params, seed)
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="lnopt-sim-") as scratch:
        context = PolicyContext(
            median_policy=first.median,
            seed=seed,
            workdir=workdir or Path(scratch),
            config=config,
        )
        scored = first, warm_up(first, params.sim, params.warmup)
        for stream in range(params.streams):
            world, warmup = scored if stream == 0 else _stream(params, first, stream)
            for name in params.policies:
                run = Simulation(world, make_policy(name, context), params.sim, warmup=warmup).run()
                results.append(replace(run, stream=stream))
                if progress is not None:
                    progress(
                        f"seed {seed} stream {stream} {name}: {run.net_income_msat // 1000} sat "
                        f"net, {run.forwards} forwards, {run.wall_s:.0f} s"
                    )
        found = _hindsight(params, context, scored, progress) if params.hindsight else None
    return results, found


def _stream(params: CompareParams, world: World, stream: int) -> tuple[World, WarmupState | None]:
    other = with_stream(world, stream_seed(world.seed, stream))
    return other, warm_up(other, params.sim, params.warmup)


def _hindsight(
    params: CompareParams,
    context: PolicyContext,
    scored: tuple[World, WarmupState | None],
    progress: Callable[[str], None] | None,
) -> Hindsight:
    world, warmup = scored
    in_sample = hindsight(world, context, params.sim, warmup=warmup, progress=progress)
    unseen, unseen_warmup = _stream(params, world, params.streams)
    out_of_sample = hindsight(
        unseen, context, params.sim, warmup=unseen_warmup, score_on=scored, progress=progress
    )
    return replace(in_sample, out_of_sample_income_msat=out_of_sample.out_of_sample_income_msat)


def compare(
    params: CompareParams,
    *,
    config: Config | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Run the comparison; with ``workers`` > 1, seeds run in parallel processes."""
    check_policies(params.policies)
    outcomes: list[tuple[list[RunResult], Hindsight | None]]
    if params.workers > 1 and len(params.seeds) > 1:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=params.workers, mp_context=context) as pool:
            futures = [pool.submit(run_seed, params, seed, config=config) for seed in params.seeds]
            outcomes = []
            for future in futures:
                outcome = future.result()
                outcomes.append(outcome)
                if progress is not None:
                    for result in outcome[0]:
                        progress(
                            f"seed {result.seed} stream {result.stream} {result.policy}: "
                            f"{result.net_income_msat // 1000} sat net"
                        )
    else:
        outcomes = [
            run_seed(params, seed, config=config, progress=progress) for seed in params.seeds
        ]
    results = tuple(result for runs, _ in outcomes for result in runs)
    found = tuple(h for _, h in outcomes if h is not None)
    return Comparison(params=params, results=results, hindsight=found)
