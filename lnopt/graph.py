"""The public channel graph, built from gossip in Core Lightning's ``listchannels`` shape.

Reads both the modern shape (every ``*_msat`` an integer) and the legacy one (``"50000000msat"``
strings and ``satoshis``). Lookups by node (degree, capacity, peers, edges) are constant time.
Topology metrics (betweenness, closeness, PageRank, clustering) are expensive:
:meth:`NetworkGraph.metrics` computes them once per topology, keyed by a fingerprint of the
channels (fees do not enter it), and says when and how they were computed; the computation
lives in :mod:`lnopt.graph_metrics`, whose names are re-exported here.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix

from lnopt.errors import GraphError, InvalidRequest
from lnopt.graph_metrics import (
    DEFAULT_METRICS_CACHE,
    GraphMetrics,
    Metric,
    MetricsCache,
    MetricsKey,
    compute_metrics,
    path_centrality,
)
from lnopt.model import ChannelPolicy, parse_short_channel_id

__all__ = [
    "DEFAULT_METRICS_CACHE",
    "GraphEdge",
    "GraphMetrics",
    "Metric",
    "MetricsCache",
    "MetricsKey",
    "NetworkGraph",
    "parse_msat",
    "path_centrality",
]


def parse_msat(value: Any, *, field_name: str) -> int:
    """A non-negative amount in msat from an integer or a legacy ``"1234msat"`` string."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        digits = value.removesuffix("msat")
        if digits.isascii() and digits.isdigit():
            with contextlib.suppress(ValueError):  # over Python's limit of 4300 digits
                return int(digits)
    raise GraphError(
        f"{field_name}: expected a non-negative integer or a string like '1000msat', got {value!r}"
    )


def _integer(item: Mapping[str, Any], key: str, default: int | None = None) -> int:
    """A non-negative integer field; decimal strings (as LND's JSON writes them) are accepted."""
    value = item.get(key, default)
    if value is None:
        raise GraphError(f"lacks the field {key!r}")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GraphError(f"{key}: expected a non-negative integer, got {value!r}")
    return value


def _node(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        raise GraphError(f"lacks the field {key!r}")
    if not isinstance(value, str) or not value:
        raise GraphError(f"{key}: expected a node id, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """One direction of a public channel: ``source`` forwards to ``destination``."""

    short_channel_id: str
    source: str
    destination: str
    capacity_msat: int
    policy: ChannelPolicy
    active: bool
    last_update: int

    @classmethod
    def from_listchannels(cls, item: Mapping[str, Any]) -> GraphEdge:
        """Read one ``listchannels`` item; :class:`GraphError` names the field at fault."""
        if not isinstance(item, Mapping):
            raise GraphError(f"expected a JSON object, got {type(item).__name__}")
        scid = item.get("short_channel_id")
        if scid is None:
            raise GraphError("lacks the field 'short_channel_id'")
        if not isinstance(scid, str):
            raise GraphError(f"short_channel_id: expected a string BLOCKxTXxOUT, got {scid!r}")
        try:
            parse_short_channel_id(scid)
        except ValueError as exc:
            raise GraphError(f"short_channel_id: {exc}") from exc
        source, destination = _node(item, "source"), _node(item, "destination")
        if source == destination:
            raise GraphError(f"channel {scid} joins node {source} to itself")
        if "amount_msat" in item:
            capacity_msat = parse_msat(item["amount_msat"], field_name="amount_msat")
        else:
            capacity_msat = _integer(item, "satoshis") * 1000
        active = item.get("active", True)
        if not isinstance(active, bool):
            raise GraphError(f"active: expected true or false, got {active!r}")
        htlc_max = item.get("htlc_maximum_msat")
        policy = ChannelPolicy(
            base_fee_msat=_integer(item, "base_fee_millisatoshi"),
            fee_ppm=_integer(item, "fee_per_millionth"),
            htlc_min_msat=parse_msat(
                item.get("htlc_minimum_msat", 0), field_name="htlc_minimum_msat"
            ),
            htlc_max_msat=None
            if htlc_max is None
            else parse_msat(htlc_max, field_name="htlc_maximum_msat"),
            cltv_delta=_integer(item, "delay", 0),
        )
        return cls(
            short_channel_id=scid,
            source=source,
            destination=destination,
            capacity_msat=capacity_msat,
            policy=policy,
            active=active,
            last_update=_integer(item, "last_update", 0),
        )


def _replaced(
    edges: tuple[GraphEdge, ...], replacing: Mapping[tuple[str, str], GraphEdge]
) -> tuple[GraphEdge, ...]:
    """``edges`` with those of ``replacing`` in place of the directions with their keys, and
    the rest after them."""
    unplaced = dict(replacing)
    kept = tuple(unplaced.pop((e.short_channel_id, e.source), e) for e in edges)
    return kept + tuple(unplaced.values())


def _fee_rate(edge: GraphEdge) -> int:
    """The direction's fee rate, or -1 when it is not active."""
    return edge.policy.fee_ppm if edge.active else -1


class NetworkGraph:
    """The channel graph: directed edges with policies, and topology metrics on demand.

    Of two directions with the same short channel id and source, the later ``last_update``
    wins. The two directions of a channel must agree on its endpoints and capacity.
    """

    def __init__(self, edges: Iterable[GraphEdge]) -> None:
        latest: dict[tuple[str, str], GraphEdge] = {}
        for edge in edges:
            key = (edge.short_channel_id, edge.source)
            kept = latest.get(key)
            if kept is None or edge.last_update >= kept.last_update:
                latest[key] = edge
        self._edges: tuple[GraphEdge, ...] = tuple(latest.values())
        out: dict[str, list[GraphEdge]] = {}
        into: dict[str, list[GraphEdge]] = {}
        self._channels: dict[str, tuple[str, str, int]] = {}
        for edge in self._edges:
            out.setdefault(edge.source, []).append(edge)
            into.setdefault(edge.destination, []).append(edge)
            a, b = sorted((edge.source, edge.destination))
            known = self._channels.setdefault(edge.short_channel_id, (a, b, edge.capacity_msat))
            if known != (a, b, edge.capacity_msat):
                raise GraphError(
                    f"the directions of channel {edge.short_channel_id} disagree on its "
                    "endpoints or capacity"
                )
        self._out = {node: tuple(found) for node, found in out.items()}
        self._in = {node: tuple(found) for node, found in into.items()}
        self._degree: dict[str, int] = {}
        self._capacity_msat: dict[str, int] = {}
        self._peers: dict[str, set[str]] = {}
        for a, b, capacity_msat in self._channels.values():
            for node, peer in ((a, b), (b, a)):
                self._degree[node] = self._degree.get(node, 0) + 1
                self._capacity_msat[node] = self._capacity_msat.get(node, 0) + capacity_msat
                self._peers.setdefault(node, set()).add(peer)
        self._fingerprint: str | None = None
        self._adjacency: csr_matrix | None = None
        self._sorted_capacities_msat = sorted(self._capacity_msat.values())
        self._sorted_degrees = sorted(self._degree.values())
        self._positions_of: dict[tuple[str, str], int] | None = None
        self._fee_rates: np.ndarray | None = None  # per direction of _edges, -1 when inactive

    @classmethod
    def from_listchannels(cls, items: Iterable[Mapping[str, Any]]) -> NetworkGraph:
        """Graph of ``listchannels`` items; a bad item is a :class:`GraphError` naming it."""
        edges = []
        for position, item in enumerate(items):
            try:
                edges.append(GraphEdge.from_listchannels(item))
            except GraphError as exc:
                raise GraphError(f"listchannels item {position}: {exc}") from exc
        return cls(edges)

    @classmethod
    def load(cls, path: str | Path) -> NetworkGraph:
        """Read a ``listchannels`` answer (``{"channels": [...]}`` or a bare list), gzip or not."""
        path = Path(path)
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, EOFError) as exc:
            raise GraphError(f"cannot read graph file {path}: {exc}") from exc
        except ValueError as exc:
            raise GraphError(f"graph file {path} is not valid JSON: {exc}") from exc
        items = document.get("channels") if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise GraphError(
                f"graph file {path} must hold a listchannels answer: "
                '{"channels": [...]} or a list of channel directions'
            )
        try:
            return cls.from_listchannels(items)
        except GraphError as exc:
            raise GraphError(f"graph file {path}: {exc}") from exc

    # --- structure -------------------------------------------------------------------------

    @property
    def edges(self) -> tuple[GraphEdge, ...]:
        return self._edges

    @property
    def nodes(self) -> set[str]:
        """A new set of every node with a channel (use :meth:`has_node` to test one)."""
        return set(self._degree)

    @property
    def node_count(self) -> int:
        return len(self._degree)

    @property
    def channel_count(self) -> int:
        return len(self._channels)

    def has_node(self, node_id: str) -> bool:
        return node_id in self._degree

    def degree(self, node_id: str) -> int:
        """Number of channels of the node (parallel channels counted each)."""
        return self._degree.get(node_id, 0)

    def node_capacity_msat(self, node_id: str) -> int:
        """Total capacity of the node's channels."""
        return self._capacity_msat.get(node_id, 0)

    def peers(self, node_id: str) -> set[str]:
        """A new set of the nodes the node has a channel with."""
        return set(self._peers.get(node_id, ()))

    def edges_from(self, node_id: str) -> Sequence[GraphEdge]:
        return self._out.get(node_id, ())

    def edges_to(self, node_id: str) -> Sequence[GraphEdge]:
        return self._in.get(node_id, ())

    def policies_toward(
        self, node_id: str, *, exclude_source: str | None = None
    ) -> list[ChannelPolicy]:
        """Policies of the active channel directions that lead into ``node_id``.

        These are what a sender could use instead of us to reach that node.
        """
        return [
            edge.policy
            for edge in self._in.get(node_id, ())
            if edge.active and edge.source != exclude_source
        ]

    def with_edges(self, extra: Iterable[GraphEdge]) -> NetworkGraph:
        """A new graph with ``extra`` directions added (replacing any with the same key).

        When every direction in ``extra`` belongs to a channel this graph already has, with the
        same endpoints and capacity (a fee or an ``active`` flag moved), the topology is this
        graph's: it is shared, metrics and node order included, and only the directions are
        replaced in place.
        """
        added = {(edge.short_channel_id, edge.source): edge for edge in extra}
        if all(self._same_channel(edge) for edge in added.values()):
            return self._replacing(added)
        kept = [e for e in self._edges if (e.short_channel_id, e.source) not in added]
        return NetworkGraph([*kept, *added.values()])

    def _same_channel(self, edge: GraphEdge) -> bool:
        a, b = sorted((edge.source, edge.destination))
        return self._channels.get(edge.short_channel_id) == (a, b, edge.capacity_msat)

    def _replacing(self, added: Mapping[tuple[str, str], GraphEdge]) -> NetworkGraph:
        """This graph with the directions of ``added`` in place of those with their keys."""
        positions = self._positions()
        edges = list(self._edges)
        rates = None if self._fee_rates is None else self._fee_rates.copy()
        into_out: dict[str, dict[tuple[str, str], GraphEdge]] = {}
        into_in: dict[str, dict[tuple[str, str], GraphEdge]] = {}
        grown = False
        for key, edge in added.items():
            at = positions.get(key)
            if at is None:
                edges.append(edge)
                grown = True
            else:
                edges[at] = edge
                if rates is not None:
                    rates[at] = _fee_rate(edge)
            into_out.setdefault(edge.source, {})[key] = edge
            into_in.setdefault(edge.destination, {})[key] = edge
        graph = copy.copy(self)
        graph._edges = tuple(edges)
        graph._positions_of = None if grown else positions
        graph._fee_rates = None if grown else rates
        graph._out, graph._in = dict(self._out), dict(self._in)
        for node, replacing in into_out.items():
            graph._out[node] = _replaced(self._out.get(node, ()), replacing)
        for node, replacing in into_in.items():
            graph._in[node] = _replaced(self._in.get(node, ()), replacing)
        return graph

    def _positions(self) -> dict[tuple[str, str], int]:
        if self._positions_of is None:
            self._positions_of = {
                (e.short_channel_id, e.source): at for at, e in enumerate(self._edges)
            }
        return self._positions_of

    def active_fee_rates_ppm(self) -> np.ndarray:
        """The fee rate of every active direction (read-only; order not meaningful)."""
        if self._fee_rates is None:
            self._fee_rates = np.fromiter(
                (_fee_rate(e) for e in self._edges), dtype=np.int64, count=len(self._edges)
            )
        active: np.ndarray = self._fee_rates[self._fee_rates >= 0]
        return active

    def sorted_node_capacities_msat(self) -> list[int]:
        """Total channel capacity of every node, ascending."""
        return self._sorted_capacities_msat

    def sorted_degrees(self) -> list[int]:
        """Channel count of every node, ascending."""
        return self._sorted_degrees

    @property
    def fingerprint(self) -> str:
        """Digest of the topology (channels, endpoints, capacities), independent of fees."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for scid in sorted(self._channels):
                a, b, capacity = self._channels[scid]
                digest.update(f"{scid}:{a}:{b}:{capacity};".encode())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def to_networkx(self) -> nx.Graph:
        """Undirected simple graph of the channels (parallel channels merged)."""
        graph = nx.Graph()
        graph.add_nodes_from(self._degree)
        graph.add_edges_from((a, b) for a, b, _ in self._channels.values())
        return graph

    @property
    def node_order(self) -> tuple[str, ...]:
        """Every node, in the order of the rows of :meth:`adjacency` and of :meth:`to_networkx`."""
        return tuple(self._degree)

    def adjacency(self) -> csr_matrix:
        """Symmetric 0/1 adjacency matrix of :meth:`to_networkx`, rows in :attr:`node_order`."""
        if self._adjacency is None:
            index = {node: i for i, node in enumerate(self._degree)}
            pairs = {(index[a], index[b]) for a, b, _ in self._channels.values()}
            first = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
            second = np.fromiter((j for _, j in pairs), dtype=np.int64, count=len(pairs))
            n = len(index)
            self._adjacency = csr_matrix(
                (np.ones(2 * len(pairs)), (np.r_[first, second], np.r_[second, first])),
                shape=(n, n),
            )
        return self._adjacency

    # --- metrics ---------------------------------------------------------------------------

    def metrics(
        self,
        *,
        betweenness_samples: int | None = 1024,
        seed: int = 7,
        cache: MetricsCache = DEFAULT_METRICS_CACHE,
    ) -> GraphMetrics:
        """Topology metrics, computed once per fingerprint and parameters.

        ``betweenness_samples`` source nodes (chosen with ``seed``) estimate betweenness and
        closeness; ``None``, 0 or a number at least the node count computes them exactly.
        """
        if betweenness_samples is not None and betweenness_samples < 0:
            raise InvalidRequest(
                f"betweenness_samples must be a positive number of nodes, or 0 or None for "
                f"exact metrics; got {betweenness_samples}"
            )
        exact = not betweenness_samples or betweenness_samples >= self.node_count
        samples = None if exact else betweenness_samples
        key = (self.fingerprint, samples, 0 if samples is None else seed)
        return cache.get_or_compute(
            key,
            lambda: compute_metrics(
                self.adjacency(),
                self.node_order,
                fingerprint=self.fingerprint,
                samples=samples,
                seed=seed,
            ),
        )
