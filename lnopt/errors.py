"""The lnopt error tree.

::

    LnoptError                      anything lnopt raises on purpose
    ├── ConfigError                 a configuration value is refused (names key and accepted values)
    ├── InvalidRequest              a caller's parameter is refused (unknown channel, malformed id)
    ├── GraphError                  gossip data cannot be read into a network graph
    ├── BackendError                the node could not do what was asked
    │   ├── BackendUnavailable      the node cannot be reached (socket, HTTP transport)
    │   └── BackendRefused          the node answered with an error (RpcError, HTTP 4xx/5xx)
    ├── StoreError                  the SQLite store cannot be read or written
    ├── CredentialError             the credential vault cannot be used (missing record, wrong
    │                               passphrase, altered file); names the record, never a secret
    └── ExecutionError              a fee change failed; the old policy was restored where possible

Backends map their library's errors into this tree (``raise BackendUnavailable(...) from exc``);
the plugin maps it to a JSON-RPC error with :attr:`LnoptError.rpc_code`.
"""

from __future__ import annotations


class LnoptError(Exception):
    """Base of every error lnopt raises on purpose."""

    rpc_code = -32600


class ConfigError(LnoptError):
    """A configuration value is refused; the message names the key and what is accepted."""

    rpc_code = -32602


class InvalidRequest(LnoptError):
    """A request parameter is refused; the message says what is accepted."""

    rpc_code = -32602


class GraphError(LnoptError):
    """Gossip data cannot be turned into a network graph."""


class BackendError(LnoptError):
    """The node could not do what was asked."""

    rpc_code = -1


class BackendUnavailable(BackendError):
    """The node cannot be reached."""


class BackendRefused(BackendError):
    """The node answered with an error."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class StoreError(LnoptError):
    """The store cannot be read or written."""


class CredentialError(LnoptError):
    """A credential vault cannot be opened, read or written; names the record, never its secret."""


class ExecutionError(LnoptError):
    """A fee change failed; the old policy was restored where possible."""

    rpc_code = -1
