"""Shared pieces of the real-node tests: the binaries they need and lnopt as a node plugin.

These tests start regtest ``bitcoind`` and ``lightningd`` with pyln-testing's ``node_factory``;
where either binary is missing, each test module skips itself (see :func:`missing_binaries`)
before importing pyln-testing's fixtures.
"""

from __future__ import annotations

import shutil
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

REQUIRED_BINARIES = ("lightningd", "bitcoind")
SKIP_REASON = "lightningd/bitcoind not on PATH"


def missing_binaries() -> list[str]:
    """The required binaries that are not on PATH."""
    return [name for name in REQUIRED_BINARIES if shutil.which(name) is None]


@pytest.fixture
def lnopt_plugin(tmp_path: Path) -> Path:
    """An executable that runs the repository's ``lnopt_plugin.py`` with this interpreter."""
    launcher = tmp_path / "lnopt-plugin"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{REPO / "lnopt_plugin.py"}" "$@"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return launcher


@pytest.fixture
def lnopt_config(tmp_path: Path) -> Path:
    """A configuration that acts on what a fresh regtest channel shows: full and idle."""
    path = tmp_path / "lnopt.yaml"
    path.write_text(
        "decisions:\n"
        "  min_confidence: 0.0\n"
        "  lower_above_local_ratio: 0.5\n"
        "  lower_max_forwards_7d: 0\n"
    )
    return path


@pytest.fixture
def alert_subscriber(tmp_path: Path) -> Path:
    """An executable that runs ``tests/alert_subscriber.py`` (a plugin subscribed to
    ``lnopt_alert``) with this interpreter."""
    launcher = tmp_path / "alert-subscriber"
    script = REPO / "tests" / "alert_subscriber.py"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return launcher
