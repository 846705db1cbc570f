"""Backfill: the node's forwarding history the store has not seen, read from a stored cursor.

The cursor is the backend's opaque ``next_index`` (see :mod:`lnopt.backends.base`), stored with
each page in the transaction that records it (:meth:`~lnopt.store.Store.record_backfill_page`),
so a backfill cut short by a crash or a lost node resumes after the last page it recorded. A
backend that cannot page gives its whole history every time (``next_index`` None) and no cursor
is kept; the store counts each forward once, so reading a forward again is harmless.
``forward_event`` notifications never move the cursor: they arrive out of band, and a forward
missed by them is read by the next backfill.
"""

from __future__ import annotations

import logging

from lnopt.backends.base import Backend
from lnopt.store import Store

logger = logging.getLogger(__name__)


def backfill_forwards(backend: Backend, store: Store, *, page_size: int = 1000) -> int:
    """Read ``backend``'s forwards from ``store``'s cursor for it into ``store``, a page at a
    time, until a page is empty; returns the forwards newly counted."""
    source = backend.name
    since = store.forward_cursor(source)
    counted = 0
    while True:
        page = backend.forwards(since_index=since, limit=page_size)
        next_index = page.next_index
        if next_index is None or (since is not None and next_index <= since):
            counted += store.record_forwards(page.forwards)
            break
        counted += store.record_backfill_page(page.forwards, source=source, next_index=next_index)
        if not page.forwards:
            break
        since = next_index
    logger.info("event=backfill source=%s counted=%d", source, counted)
    return counted
