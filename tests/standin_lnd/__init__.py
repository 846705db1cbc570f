"""A stand-in for LND's REST interface, for tests (no LND binary can run here).

It follows LND's REST API as ``lnrpc/lightning.proto``, ``lnrpc/lightning.yaml`` and
``rpcserver.go`` define it and as /work/shared/reference/lnd-rest.md records it: HTTPS on
127.0.0.1 with a self-signed certificate shaped like LND's ``tls.cert`` (:mod:`.tls`), the
``Grpc-Metadata-macaroon`` header (hex), protojson bodies (64-bit integers as strings, every
field present), and the grpc-gateway's error body ``{"code", "message", "details"}``.

Served: ``GET /v1/getinfo``, ``/v1/channels``, ``/v1/fees``, ``/v1/graph``
(``include_unannounced``), ``/v1/graph/edge/{chan_id}``; ``POST /v1/chanpolicy`` (one channel
point), ``POST /v1/switch`` (ForwardingHistory paging by ``index_offset``); the macaroon
service ``POST /v1/macaroon``, ``GET /v1/macaroon/ids``, ``DELETE /v1/macaroon/{root_key_id}``,
``POST /v1/macaroon/checkpermissions``. Every request's macaroon is verified against the
stand-in's root keys as LND's bakery does (:mod:`.macaroon_service`), with the permission each
route needs in LND's permission table. :class:`~.server.FaultPlan` injects timeouts, 500s,
garbage bodies and dropped connections at a given rate.

Not implemented: gRPC; every other REST route (they answer 404); ``global`` policy updates,
``create_missing_edge`` and ``funding_txid_bytes``; the ``incoming_chan_ids`` /
``outgoing_chan_ids`` filters of ForwardingHistory; caveats other than ``time-before``
(``ipaddr``, ``ipnet``, ``lnd-custom`` are refused as unknown); ``GET /v1/macaroon/permissions``;
pending channels; streaming (subscribe) routes; the wallet (locked/unlocked states).
"""

from tests.standin_lnd.macaroon_service import MacaroonService
from tests.standin_lnd.node import NodeState, make_node
from tests.standin_lnd.server import Fault, FaultPlan, StandinLnd
from tests.standin_lnd.tls import TlsPair, make_tls_pair

__all__ = [
    "Fault",
    "FaultPlan",
    "MacaroonService",
    "NodeState",
    "StandinLnd",
    "TlsPair",
    "make_node",
    "make_tls_pair",
]
