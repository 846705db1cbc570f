"""Keeping secrets out of log lines.

Code that holds a secret registers it (:func:`register_secret`; :meth:`Vault.get` does so for
every secret it hands out). :class:`RedactionFilter`, attached to logging handlers by
:func:`install_redaction`, then replaces each registered secret in a log record (its message,
arguments, traceback and stack) with ``***``, whether it appears as it is, as hex or as base64
(standard or URL-safe, with or without padding).

Strings shorter than :data:`MIN_SECRET_CHARS` are not registered: they cannot be told apart
from ordinary text, and no credential lnopt keeps is that short.
"""

from __future__ import annotations

import base64
import logging
import threading

REDACTED = "***"
MIN_SECRET_CHARS = 4


def secret_forms(secret: bytes | str) -> frozenset[str]:
    """The spellings under which ``secret`` may turn up in text."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    forms = {raw.hex(), raw.hex().upper()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(raw).decode("ascii")
        forms |= {text, text.rstrip("=")}
    try:
        forms.add(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    return frozenset(form for form in forms if len(form) >= MIN_SECRET_CHARS)


class SecretRegistry:
    """The secrets to hide, in every spelling, longest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()

    def add(self, secret: bytes | str) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            return
        with self._lock:
            forms = set(self._forms) | secret_forms(secret)
            self._forms = tuple(sorted(forms, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text


REGISTRY = SecretRegistry()


def register_secret(secret: bytes | str) -> None:
    """Hide ``secret`` from every log line that passes a :class:`RedactionFilter`."""
    REGISTRY.add(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    return REGISTRY.redact(text)


class RedactionFilter(logging.Filter):
    """Rewrites each record so that no registered secret reaches a handler."""

    def __init__(self, registry: SecretRegistry = REGISTRY) -> None:
        super().__init__()
        self._registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._registry.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._registry.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._registry.redact(record.stack_info)
        return True


def install_redaction(logger: logging.Logger | None = None) -> RedactionFilter:
    """Attach one :class:`RedactionFilter` to every handler of ``logger`` (default: the root
    logger) and to ``logging.lastResort``; call it after the handlers are set up."""
    redaction_filter = RedactionFilter()
    target = logger if logger is not None else logging.getLogger()
    handlers = list(target.handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(existing, RedactionFilter) for existing in handler.filters):
            handler.addFilter(redaction_filter)
    return redaction_filter
