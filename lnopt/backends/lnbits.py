"""The LNbits backend: a node reached through LNbits' node API (``/node/api/v1``, LNbits 1.6).

Reads ``/info``, ``/channels`` and ``/peers``; sets fees with ``PUT /channels/{id}`` sending
both fee fields (LNbits' LND node would otherwise send a fee of zero for the one left out) and
reads the channel back. Every call goes through :class:`~lnopt.backends.http.JsonHttpClient`:
timeouts, retries of the reads and of the fee update (the same body gives the same result),
a rate limit and a circuit breaker; :meth:`LnbitsBackend.health` is that breaker.

What LNbits cannot give, :meth:`LnbitsBackend.limitations` says:

- no forwarding history (``forwards`` answers nothing);
- no gossip: the graph is our own channels, or the ``listchannels`` file ``graph_file``;
- no peer policy, and, behind LNbits' LND node, no fees in the channel list: such channels are
  left out of ``channels`` and a fee change on them is refused, naming why.

Auth is a Bearer token, at best the super user's ACL token with Node read and write only;
:meth:`LnbitsBackend.privilege_warnings` says where it can do more (see
:mod:`lnopt.backends.lnbits_access`). The token is sent in a header and never logged.

The node's logic (what is read, how fees are set and read back, what LNbits cannot give) lives
in :class:`LnbitsNodeBackend`, over a :class:`NodeApi`: the REST API here, or LNbits' ``Node``
object in the LNbits process itself (:mod:`lnopt.backends.lnbits_node`, for the extension).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx

from lnopt.backends.base import Backend, ForwardPage, Limitation, NodeInfo
from lnopt.backends.http import BreakerStatus, HttpSettings, JsonHttpClient
from lnopt.backends.lnbits_access import (
    PROBES,
    claims_warnings,
    describe_refusal,
    probe_warning,
    token_claims,
)
from lnopt.backends.lnbits_shapes import (
    NodeChannels,
    channels_of,
    connected_peers_of,
    node_info_of,
    one_channel_of,
    policy_of,
)
from lnopt.errors import BackendError, BackendRefused, GraphError, InvalidRequest
from lnopt.graph import GraphEdge, NetworkGraph
from lnopt.model import Channel, ChannelPolicy, parse_short_channel_id

__all__ = [
    "API",
    "FORWARD_HEURISTICS",
    "GOSSIP_HEURISTICS",
    "LnbitsBackend",
    "LnbitsNodeBackend",
    "NodeApi",
]

log = logging.getLogger(__name__)

API = "/node/api/v1"
FORWARD_HEURISTICS = ("activity", "reliability")
GOSSIP_HEURISTICS = ("centrality", "competitiveness", "peer_quality", "position")
_UNKNOWN_CHANNEL = 404


class NodeApi(Protocol):
    """LNbits' node API as lnopt uses it; every answer has the JSON shape of ``/node/api/v1``.
    Errors are :mod:`lnopt.errors` errors; a refusal carries LNbits' HTTP status as its code."""

    def info(self) -> Any: ...

    def peers(self) -> Any: ...

    def channels(self) -> Any: ...

    def channel(self, lnbits_id: str) -> Any: ...

    def set_fees(self, lnbits_id: str, *, fee_ppm: int, fee_base_msat: int) -> None: ...


class _RestNodeApi:
    """The node API over HTTP."""

    def __init__(self, client: JsonHttpClient) -> None:
        self._client = client

    def info(self) -> Any:
        return self._client.get(f"{API}/info")

    def peers(self) -> Any:
        return self._client.get(f"{API}/peers")

    def channels(self) -> Any:
        return self._client.get(f"{API}/channels")

    def channel(self, lnbits_id: str) -> Any:
        return self._client.get(f"{API}/channels/{lnbits_id}")

    def set_fees(self, lnbits_id: str, *, fee_ppm: int, fee_base_msat: int) -> None:
        body = {"fee_ppm": fee_ppm, "fee_base_msat": fee_base_msat}
        self._client.request("PUT", f"{API}/channels/{lnbits_id}", json=body, idempotent=True)


class LnbitsNodeBackend(Backend):
    """A node behind LNbits, reached through ``api``."""

    name = "lnbits"

    def __init__(self, api: NodeApi, *, graph_file: Path | None = None) -> None:
        self._api = api
        self._graph_file = graph_file
        self._lock = threading.Lock()
        self._read: NodeChannels | None = None
        self._node_id: str | None = None
        self._file_graph: NetworkGraph | None = None

    # --- reading ---------------------------------------------------------------------------

    def node_info(self) -> NodeInfo:
        info = node_info_of(self._api.info())
        self._node_id = info.node_id
        return info

    def channels(self) -> Sequence[Channel]:
        peers = connected_peers_of(self._api.peers())
        read = channels_of(self._api.channels(), peers)
        with self._lock:
            self._read = read
        if read.unpriced:
            log.warning(
                "event=lnbits_unpriced_channels count=%d channels=%s",
                len(read.unpriced),
                ",".join(read.unpriced),
            )
        return read.channels

    def gossip(self) -> NetworkGraph:
        if self._graph_file is not None:
            return self._graph_from_file(self._graph_file)
        node_id = self._node_id or self.node_info().node_id
        return NetworkGraph(
            GraphEdge(
                short_channel_id=channel.short_channel_id,
                source=node_id,
                destination=channel.peer_id,
                capacity_msat=channel.capacity_msat,
                policy=channel.our_policy,
                active=channel.connected,
                last_update=0,
            )
            for channel in self._channels_read()
            if not channel.private
        )

    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage:
        """LNbits' node API has no forwarding history."""
        return ForwardPage(forwards=(), next_index=None)

    def get_policy(self, short_channel_id: str) -> ChannelPolicy:
        lnbits_id = self._lnbits_id(short_channel_id)
        return self._policy_now(short_channel_id, lnbits_id)

    # --- changing --------------------------------------------------------------------------

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy:
        """``PUT /channels/{id} {"fee_ppm", "fee_base_msat"}``, then the channel read back."""
        if policy.base_fee_msat < 0 or policy.fee_ppm < 0:
            raise BackendRefused(
                f"a fee is never negative: base fee {policy.base_fee_msat} msat, fee rate "
                f"{policy.fee_ppm} ppm for {short_channel_id}; give whole numbers >= 0"
            )
        lnbits_id = self._lnbits_id(short_channel_id)
        try:
            self._api.set_fees(
                lnbits_id, fee_ppm=policy.fee_ppm, fee_base_msat=policy.base_fee_msat
            )
        except BackendRefused as exc:
            if exc.code in (400, 404):
                raise BackendRefused(
                    f"LNbits has no channel {short_channel_id} (LNbits id {lnbits_id}) any "
                    f"more: it was there when lnopt read the channels, and the node now "
                    f"answers: {exc}",
                    code=exc.code,
                ) from exc
            raise
        applied = self._policy_now(short_channel_id, lnbits_id)
        log.info(
            "event=lnbits_set_fees short_channel_id=%s fee_base_msat=%d fee_ppm=%d",
            short_channel_id,
            applied.base_fee_msat,
            applied.fee_ppm,
        )
        return ChannelPolicy(
            base_fee_msat=applied.base_fee_msat,
            fee_ppm=applied.fee_ppm,
            htlc_min_msat=policy.htlc_min_msat,
            htlc_max_msat=policy.htlc_max_msat,
            cltv_delta=policy.cltv_delta,
        )

    # --- what this backend cannot do ---------------------------------------

    def limitations(self) -> tuple[Limitation, ...]:
        found = [
            Limitation(
                what="forwarding history",
                heuristics=FORWARD_HEURISTICS,
                why="LNbits' node API has no forwarding history; lnopt records the node's "
                "fee totals and the balance and fee changes it sees between runs instead",
            ),
            Limitation(
                what="gossip",
                heuristics=GOSSIP_HEURISTICS,
                why=(
                    f"LNbits' node API has no gossip; the graph is read from {self._graph_file}"
                    if self._graph_file is not None
                    else "LNbits' node API has no gossip; the graph holds our own channels "
                    "only (give a listchannels file as graph_file for the public graph)"
                ),
            ),
            Limitation(
                what="peer policies",
                heuristics=("competitiveness",),
                why="LNbits' channel list has no peer policy (fees toward us)",
            ),
        ]
        read = self._read
        if read is not None and read.unpriced:
            found.append(
                Limitation(
                    what=f"fees of {len(read.unpriced)} channel(s): {', '.join(read.unpriced)}",
                    heuristics=(),
                    why="LNbits' node class leaves fee_ppm and fee_base_msat out of its "
                    "channel list (as its LND node does); lnopt neither scores nor changes "
                    "these channels",
                )
            )
        return tuple(found)

    # --- internals -------------------------------------------------------------------------

    def _channels_read(self) -> tuple[Channel, ...]:
        read = self._read
        if read is None:
            self.channels()
            read = self._read
        assert read is not None  # noqa: S101 - channels() just set it
        return read.channels

    def _lnbits_id(self, short_channel_id: str) -> str:
        """LNbits' id of the channel with this short channel id, from the last read of the
        channels, or from a new read if that one does not have it."""
        try:
            parse_short_channel_id(short_channel_id)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        read = self._read
        if read is None or short_channel_id not in read.lnbits_ids:
            self.channels()
            read = self._read
        assert read is not None  # noqa: S101 - channels() just set it
        if short_channel_id in read.unpriced:
            raise BackendRefused(
                f"LNbits reports no fees for channel {short_channel_id} (its node class leaves "
                "fee_ppm and fee_base_msat out, as LNbits' LND node does): lnopt cannot read "
                "the fees back, so it does not change them"
            )
        if short_channel_id not in read.lnbits_ids:
            raise BackendRefused(f"LNbits has no channel {short_channel_id}", code=_UNKNOWN_CHANNEL)
        return read.lnbits_ids[short_channel_id]

    def _policy_now(self, short_channel_id: str, lnbits_id: str) -> ChannelPolicy:
        where = f"LNbits {API}/channels/{lnbits_id}"
        item = one_channel_of(self._api.channel(lnbits_id), where)
        if item is None:
            raise BackendRefused(
                f"LNbits has no channel {short_channel_id} (LNbits id {lnbits_id}) any more: "
                "it was there when lnopt read the channels; it may have closed",
                code=_UNKNOWN_CHANNEL,
            )
        policy = policy_of(item)
        if policy is None:
            raise BackendRefused(
                f"LNbits reports no fees for channel {short_channel_id}: lnopt cannot read "
                "them back, so it does not change them"
            )
        return policy

    def _graph_from_file(self, path: Path) -> NetworkGraph:
        with self._lock:
            if self._file_graph is None:
                try:
                    self._file_graph = NetworkGraph.load(path)
                except (GraphError, OSError) as exc:
                    raise BackendError(f"the graph file {path} cannot be read: {exc}") from exc
            return self._file_graph


class LnbitsBackend(LnbitsNodeBackend):
    """A node behind LNbits' node API, over HTTP."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        settings: HttpSettings | None = None,
        graph_file: Path | None = None,
        credential_warnings: Sequence[str] = (),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``credential_warnings``: what the credential's keeper says of it (its age), told
        with the privilege warnings."""
        if not token:
            raise InvalidRequest("the LNbits token is empty; give the ACL token lnopt should use")
        self._claims = token_claims(token)
        self._client = JsonHttpClient(
            base_url,
            service="LNbits",
            headers=lambda: {"Authorization": f"Bearer {token}"},
            settings=settings or HttpSettings(),
            describe_refusal=describe_refusal,
            transport=transport,
        )
        super().__init__(_RestNodeApi(self._client), graph_file=graph_file)
        self._warnings: tuple[str, ...] | None = None
        self._credential_warnings = tuple(credential_warnings)

    @property
    def calls(self) -> int:
        """HTTP requests sent so far (retries included)."""
        return self._client.calls

    def close(self) -> None:
        self._client.close()

    # --- the HTTP client's health and the token's reach ------------------------------------

    def health(self) -> BreakerStatus:
        return self._client.breaker()

    def privilege_warnings(self) -> tuple[str, ...]:
        """Where the token can do more than Node read and write: its claims (a login token),
        then one GET outside lnopt's ACL each (:data:`PROBES`); worked out once."""
        if self._warnings is not None:
            return self._credential_warnings + self._warnings
        warnings = list(claims_warnings(self._claims))
        for path, can in PROBES:
            try:
                self._client.get(path)
            except BackendRefused:
                continue  # refused, as it should be
            except BackendError as exc:
                log.info("event=lnbits_probe_failed path=%s error=%s", path, exc)
                return self._credential_warnings + tuple(warnings)  # undecided: ask again
            warnings.append(probe_warning(path, can))
        for warning in warnings:
            log.warning("event=lnbits_token_privilege warning=%s", warning)
        self._warnings = tuple(warnings)
        return self._credential_warnings + self._warnings
