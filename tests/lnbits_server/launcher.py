"""Start LNbits 1.6.2 (FakeWallet, SQLite) on 127.0.0.1 with the in-memory node of memory_node.py.

Run with the LNbits venv's Python, from a working folder that holds a link named ``lnbits`` to
the installed package (LNbits mounts its static files relative to the working folder)::

    .venv-lnbits/bin/python tests/lnbits_server/launcher.py PORT

The environment (``LNBITS_DATA_FOLDER`` and the rest) is set by the caller; see
``tests/lnbits_fixture.py``. One process: uvicorn serves the app in it, so one PID stops it.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(port: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import uvicorn
    from lnbits.wallets.base import Feature
    from lnbits.wallets.fake import FakeWallet
    from memory_node import MemoryNode

    FakeWallet.features = [Feature.nodemanager]
    FakeWallet.__node_cls__ = MemoryNode
    uvicorn.run("lnbits.__main__:app", host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
