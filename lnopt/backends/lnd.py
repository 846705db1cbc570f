"""The LND backend: reads a node over LND's REST interface, sets fees with ``/v1/chanpolicy``.

Transport is HTTPS to the node's REST port with its ``tls.cert`` pinned: the TLS context
trusts that one certificate and nothing else, and checks the host name against it (LND's
certificate names ``localhost`` and ``127.0.0.1``). Every request goes through
:class:`~lnopt.backends.http.JsonHttpClient` (timeouts, retries of idempotent requests, a rate
limit, a circuit breaker).

The macaroon lnopt holds is never sent: each request carries, in ``Grpc-Metadata-macaroon``, a
copy attenuated with ``time-before`` (``macaroon_lifetime_s`` ahead), renewed when half its
life is gone. At start the macaroon's identifier is read: without ``info:read``,
``offchain:read`` and ``offchain:write`` the backend refuses to start; with more, it logs a
warning and :meth:`LndBackend.privilege_warnings` gives it, with the ``lncli bakemacaroon`` line
that makes a least-privilege one.

Reads: ``/v1/getinfo``; ``/v1/channels`` (sat → msat) with our fees from ``/v1/fees``; our HTLC
limits and CLTV delta and the peer's policy from one ``/v1/graph?include_unannounced=true``
read, kept ``graph_refresh_s`` and shared with :meth:`LndBackend.gossip` (one graph read costs
one call where ``/v1/graph/edge/{id}`` per channel costs one call per channel: see
``bench/bench_lnd.py``); forwards from ``POST /v1/switch`` from the start of time, paged by
``index_offset``, whose absolute positions are the resumable ``since_index`` and each
forward's ``created_index``. :meth:`LndBackend.get_policy` reads the channel's edge fresh.

:meth:`LndBackend.set_policy` reads the edge, then posts UpdateChannelPolicy for that one
channel point with the new base fee and fee rate and every other field as it was (time lock
delta, min and max HTLC, inbound fee), then reads the edge back.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from lnopt.backends.base import Backend, ForwardPage, NodeInfo
from lnopt.backends.http import BreakerStatus, HttpSettings, JsonHttpClient
from lnopt.backends.lnd_shapes import (
    BAKE_COMMAND,
    REQUIRED_PERMISSIONS,
    LndEdge,
    LndFields,
    RoutingPolicy,
    chan_id_of,
    describe_refusal,
    edge_of,
    forward_of,
    is_macaroon_refusal,
    scid_of,
    split_chan_point,
)
from lnopt.errors import BackendError, BackendRefused, ConfigError, InvalidRequest
from lnopt.graph import GraphEdge, NetworkGraph
from lnopt.model import Channel, ChannelPolicy, ChannelState, Opener
from lnopt.security.macaroons import attenuate, header_value, read_macaroon

__all__ = ["LndBackend", "pinned_tls_context"]

log = logging.getLogger(__name__)

MACAROON_HEADER = "Grpc-Metadata-macaroon"
NETWORKS = {"mainnet": "bitcoin"}  # LND's name → Core Lightning's, which lnopt speaks
MAX_EVENTS_PER_PAGE = 50_000  # what one ForwardingHistory answer carries at most


def pinned_tls_context(tls_cert_pem: bytes) -> ssl.SSLContext:
    """A client TLS context that trusts only ``tls_cert_pem`` and checks the host name."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cadata=tls_cert_pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(
            "the LND TLS certificate is not a PEM certificate; expected the node's tls.cert "
            "(it starts with -----BEGIN CERTIFICATE-----)"
        ) from exc
    return context


class _MacaroonCopies:
    """Short-lived attenuated copies of one macaroon, renewed at half their life."""

    def __init__(
        self, macaroon: bytes, lifetime_s: int, wall_clock: Callable[[], dt.datetime]
    ) -> None:
        if lifetime_s < 10:
            raise ConfigError(f"macaroon_lifetime_s must be at least 10 s, got {lifetime_s}")
        self._macaroon = macaroon
        self._lifetime = dt.timedelta(seconds=lifetime_s)
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._copy: tuple[str, dt.datetime] | None = None

    def header(self) -> Mapping[str, str]:
        with self._lock:
            now = self._wall_clock()
            if self._copy is None or now >= self._copy[1] - self._lifetime / 2:
                expires_at = now + self._lifetime
                copy = attenuate(self._macaroon, expires_at=expires_at)
                self._copy = (header_value(copy), expires_at)
            return {MACAROON_HEADER: self._copy[0]}


class LndBackend(Backend):
    """An LND node reached over its REST interface."""

    name = "lnd"

    def __init__(
        self,
        base_url: str,
        *,
        macaroon: bytes,
        tls_cert_pem: bytes,
        settings: HttpSettings | None = None,
        macaroon_lifetime_s: int = 600,
        transport: httpx.BaseTransport | None = None,
        graph_refresh_s: int = 3600,
        credential_warnings: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        """``credential_warnings``: what the credential's keeper says of it (its age), told
        with the privilege warnings."""
        granted = read_macaroon(macaroon)
        missing = sorted(REQUIRED_PERMISSIONS - granted.permissions)
        if missing:
            raise ConfigError(
                "the LND macaroon lacks "
                + ", ".join(str(p) for p in missing)
                + f" (lnopt needs info:read, offchain:read and offchain:write); bake one with: "
                f"{BAKE_COMMAND}"
            )
        extra = sorted(granted.permissions - REQUIRED_PERMISSIONS)
        self._warnings: tuple[str, ...] = tuple(credential_warnings)
        if extra:
            self._warnings += (
                "the LND macaroon grants more than lnopt needs ("
                + ", ".join(str(p) for p in extra)
                + f"); bake a least-privilege one with: {BAKE_COMMAND}",
            )
            log.warning("event=macaroon_overprivileged extra=%s", ",".join(map(str, extra)))
        self.root_key_id = granted.root_key_id
        self._copies = _MacaroonCopies(macaroon, macaroon_lifetime_s, wall_clock)
        self._client = JsonHttpClient(
            base_url,
            service="LND",
            headers=self._copies.header,
            verify=pinned_tls_context(tls_cert_pem),
            settings=settings,
            describe_refusal=describe_refusal,
            final_refusal=is_macaroon_refusal,
            transport=transport,
        )
        self._graph_refresh_s = graph_refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._info: NodeInfo | None = None
        self._edges: dict[int, LndEdge] | None = None
        self._edges_read_s = 0.0
        self._private: frozenset[int] | None = None

    # --- status ----------------------------------------------------------------------------

    def privilege_warnings(self) -> tuple[str, ...]:
        """Why the macaroon is more than lnopt needs, with the command for one that is not, and
        what was said of the credential's age."""
        return self._warnings

    def health(self) -> BreakerStatus:
        return self._client.breaker()

    @property
    def calls(self) -> int:
        """HTTP requests sent so far (attempts and retries included)."""
        return self._client.calls

    def close(self) -> None:
        self._client.close()

    # --- reading ---------------------------------------------------------------------------

    def node_info(self) -> NodeInfo:
        info = LndFields(self._client.get("/v1/getinfo"), "GET /v1/getinfo")
        chains = info.lnd_array("chains") if info.has("chains") else []
        network = chains[0].opt_text("network") if chains else None
        node = NodeInfo(
            node_id=info.text("identity_pubkey"),
            alias=info.opt_text("alias") or "",
            block_height=info.integer("block_height"),
            network=NETWORKS.get(network or "mainnet", network or "bitcoin"),
            version=info.opt_text("version") or "",
        )
        with self._lock:
            self._info = node
        return node

    def channels(self) -> Sequence[Channel]:
        items = LndFields(self._client.get("/v1/channels"), "GET /v1/channels").lnd_array(
            "channels"
        )
        fees = self._fees()
        edges = self._graph_edges()
        our_id = self._our_node_id()
        found = []
        private = set()
        for item in items:
            chan_id = item.int64("chan_id")
            if item.flag("private"):
                private.add(chan_id)
            found.append(self._channel(item, chan_id, fees, edges.get(chan_id), our_id))
        with self._lock:
            self._private = frozenset(private)
        return tuple(found)

    def gossip(self) -> NetworkGraph:
        """The public graph: every announced channel in ``/v1/graph``, both directions."""
        edges = self._graph_edges()
        if self._private is None:
            self.channels()
        private = self._private or frozenset()
        directions = []
        for edge in edges.values():
            if edge.chan_id in private:
                continue
            for source, routing in (
                (edge.node1, edge.node1_policy),
                (edge.node2, edge.node2_policy),
            ):
                if routing is None or edge.node1 == edge.node2:
                    continue
                directions.append(
                    GraphEdge(
                        short_channel_id=edge.short_channel_id,
                        source=source,
                        destination=edge.other_end(source),
                        capacity_msat=edge.capacity_msat,
                        policy=routing.policy,
                        active=not routing.disabled,
                        last_update=routing.last_update,
                    )
                )
        return NetworkGraph(directions)

    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage:
        """Settled forwards from position ``since_index`` of LND's forwarding log, oldest first."""
        offset = since_index or 0
        if offset < 0 or offset >= 1 << 32:
            raise InvalidRequest(
                f"an LND forwarding log position is an integer in [0, 2^32), got {offset}"
            )
        answer = LndFields(
            self._client.request(
                "POST",
                "/v1/switch",
                json={
                    "start_time": "0",
                    "index_offset": offset,
                    "num_max_events": max(1, min(limit, MAX_EVENTS_PER_PAGE)),
                },
                idempotent=True,
            ),
            "POST /v1/switch",
        )
        events = answer.lnd_array("forwarding_events")
        forwards = tuple(forward_of(event, offset + i) for i, event in enumerate(events))
        last = answer.integer("last_offset_index") if events else offset
        return ForwardPage(forwards=forwards, next_index=max(last, offset))

    def get_policy(self, short_channel_id: str) -> ChannelPolicy:
        return self._our_routing_policy(self._edge(short_channel_id), short_channel_id).policy

    # --- changing --------------------------------------------------------------------------

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy:
        """UpdateChannelPolicy for one channel point: new fees, every other field as it was."""
        if policy.base_fee_msat < 0 or policy.fee_ppm < 0:
            raise BackendRefused(
                f"LND takes no negative fee: base_fee_msat={policy.base_fee_msat} "
                f"fee_ppm={policy.fee_ppm} for {short_channel_id}"
            )
        edge = self._edge(short_channel_id)
        current = self._our_routing_policy(edge, short_channel_id)
        body: dict[str, Any] = {
            "chan_point": split_chan_point(edge.chan_point),
            "base_fee_msat": str(policy.base_fee_msat),
            "fee_rate_ppm": policy.fee_ppm,
            "time_lock_delta": current.policy.cltv_delta,
            "max_htlc_msat": str(current.max_htlc_msat),
            "min_htlc_msat": str(current.policy.htlc_min_msat),
            "min_htlc_msat_specified": True,
            "inbound_fee": {
                "base_fee_msat": current.inbound_base_msat,
                "fee_rate_ppm": current.inbound_rate_ppm,
            },
        }
        answer = LndFields(
            self._client.request("POST", "/v1/chanpolicy", json=body, idempotent=True),
            "POST /v1/chanpolicy",
        )
        failures = answer.lnd_array("failed_updates")
        if failures:
            failure = failures[0]
            reason = failure.opt_text("reason") or "UPDATE_FAILURE_UNKNOWN"
            detail = failure.opt_text("update_error") or ""
            what = "not found" if reason == "UPDATE_FAILURE_NOT_FOUND" else "refused"
            raise BackendRefused(
                f"LND {what}: the policy update of {short_channel_id} ({edge.chan_point}) "
                f"failed: {reason}: {detail}"
            )
        applied = self.get_policy(short_channel_id)
        log.info(
            "event=chanpolicy short_channel_id=%s fee_base_msat=%d fee_ppm=%d",
            short_channel_id,
            applied.base_fee_msat,
            applied.fee_ppm,
        )
        return applied

    # --- internals -------------------------------------------------------------------------

    def _our_node_id(self) -> str:
        info = self._info if self._info is not None else self.node_info()
        return info.node_id

    def _edge(self, short_channel_id: str) -> LndEdge:
        chan_id = chan_id_of(short_channel_id)
        path = f"/v1/graph/edge/{chan_id}"
        return edge_of(self._client.get(path), f"GET {path}")

    def _our_routing_policy(self, edge: LndEdge, short_channel_id: str) -> RoutingPolicy:
        our_id = self._our_node_id()
        if our_id not in (edge.node1, edge.node2):
            raise BackendRefused(f"LND has no channel {short_channel_id} of this node")
        routing = edge.policy_of(our_id)
        if routing is None:
            raise BackendError(f"LND has no policy of ours for channel {short_channel_id} yet")
        return routing

    def _fees(self) -> dict[int, tuple[int, int]]:
        report = LndFields(self._client.get("/v1/fees"), "GET /v1/fees")
        return {
            fee.int64("chan_id"): (fee.int64("base_fee_msat"), fee.int64("fee_per_mil"))
            for fee in report.lnd_array("channel_fees")
        }

    def _graph_edges(self) -> dict[int, LndEdge]:
        with self._lock:
            now = self._clock()
            if self._edges is not None and now - self._edges_read_s < self._graph_refresh_s:
                return self._edges
        graph = LndFields(
            self._client.get("/v1/graph", params={"include_unannounced": "true"}),
            "GET /v1/graph",
        )
        edges = {}
        for position, raw in enumerate(graph.array("edges")):
            edge = edge_of(raw, f"GET /v1/graph edges[{position}]")
            edges[edge.chan_id] = edge
        with self._lock:
            self._edges = edges
            self._edges_read_s = now
        return edges

    def _channel(
        self,
        item: LndFields,
        chan_id: int,
        fees: Mapping[int, tuple[int, int]],
        edge: LndEdge | None,
        our_id: str,
    ) -> Channel:
        scid = scid_of(chan_id)
        peer = item.text("remote_pubkey")
        ours = edge.policy_of(our_id) if edge is not None else None
        theirs = edge.policy_of(peer) if edge is not None else None
        if chan_id not in fees:
            raise BackendError(f"GET /v1/fees has no fees for channel {scid}")
        base_fee_msat, fee_ppm = fees[chan_id]
        our_policy = ChannelPolicy(base_fee_msat=base_fee_msat, fee_ppm=fee_ppm)
        if ours is not None:
            our_policy = ours.policy.with_fees(base_fee_msat=base_fee_msat, fee_ppm=fee_ppm)
        capacity_msat = item.int64("capacity") * 1000
        local_msat = item.int64("local_balance") * 1000
        active = item.flag("active")
        return Channel(
            short_channel_id=scid,
            peer_id=peer,
            capacity_msat=capacity_msat,
            local_msat=local_msat,
            remote_msat=max(0, capacity_msat - local_msat),
            our_policy=our_policy,
            peer_policy=None if theirs is None else theirs.policy,
            state=ChannelState.ACTIVE if active else ChannelState.INACTIVE,
            connected=active,
            private=item.flag("private"),
            opener=Opener.LOCAL if item.flag("initiator") else Opener.REMOTE,
            channel_id=item.text("channel_point"),
        )
