from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.standin_lnd.fixtures"]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LNOPT_SHARED_DATA", REPO.parent / "shared" / "data"))
GRAPH_2025 = SHARED_DATA / "ln-graph-2025-10-25.listchannels.json.gz"
GRAPH_2021 = SHARED_DATA / "ln-graph-2021-04-16.listchannels.json.gz"
NODES_2025 = SHARED_DATA / "ln-nodes-2025-10-25.listnodes.json.gz"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not GRAPH_2025.exists():
        pytest.fail(f"the shared graph snapshots are expected in {SHARED_DATA}")
    return SHARED_DATA


def short_dir() -> Path:
    """A directory with a short path: unix socket paths are limited to about 100 bytes."""
    return Path(tempfile.mkdtemp(prefix="lnopt-"))


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    directory = short_dir()
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


from tests.lnbits_fixture import lnbits  # noqa: E402, F401 - the session's LNbits server
from tests.plugin_harness import PluginProcess, short_lightning_dir  # noqa: E402

Launch = Callable[..., PluginProcess]


@pytest.fixture
def ldir() -> Iterator[Path]:
    """A lightning-dir with a short path (unix socket paths are limited to about 100 bytes)."""
    with short_lightning_dir() as path:
        yield path


@pytest.fixture
def launch(ldir: Path) -> Iterator[Launch]:
    """Start the plugin and complete the handshake; scheduled runs are off unless asked for."""
    started: list[PluginProcess] = []

    def start(options: Mapping[str, Any] | None = None) -> PluginProcess:
        process = PluginProcess(ldir).start()
        started.append(process)
        result = process.handshake({"lnopt-interval": 0, **(options or {})})
        assert result is None, f"the plugin disabled itself: {result}"
        return process

    yield start
    for process in started:
        process.close()
