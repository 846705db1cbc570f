"""Installing as an operator does: contrib/install.sh puts lnopt into a virtual environment of
its own, and lightningd starts the installed ``lnopt-plugin`` executable directly.

pip installs from this checkout into a fresh folder (dependencies come from the package index,
through pip's cache); then the executable is started as a ``plugin=`` line would start it and
driven through the real plugin protocol against a stand-in node.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugin_harness import REPO, RPC_FILE, PluginProcess
from tests.standin_node import StandinNode, build_node

INSTALL_SCRIPT = REPO / "contrib" / "install.sh"


@pytest.fixture
def installed(tmp_path: Path) -> tuple[Path, str]:
    """lnopt installed by the script into a fresh folder; (folder, the script's output)."""
    target = tmp_path / "opt" / "lnopt"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["PYTHON"] = sys.executable
    done = subprocess.run(
        [str(INSTALL_SCRIPT), str(target)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return target, done.stdout


def test_the_installed_plugin_starts_from_its_own_environment_and_answers(
    installed: tuple[Path, str], ldir: Path
) -> None:
    target, output = installed
    plugin = target / "venv" / "bin" / "lnopt-plugin"
    # the script names the line for lightningd's config, and the executable is there
    assert output.strip().splitlines()[-1] == f"plugin={plugin}"
    assert plugin.is_file() and os.access(plugin, os.X_OK)
    assert plugin.read_text(encoding="utf-8").startswith(f"#!{target / 'venv' / 'bin'}/python")
    # lnopt is imported from the installed copy, not from this checkout
    where = subprocess.run(
        [str(target / "venv" / "bin" / "python"), "-c", "import lnopt; print(lnopt.__file__)"],
        capture_output=True,
        text=True,
        cwd=ldir,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(target / "venv")

    # lightningd starts the executable itself and speaks the plugin protocol to it
    with StandinNode(build_node(3), ldir / RPC_FILE):
        process = PluginProcess(ldir, command=[str(plugin)], env={"PYTHONPATH": ""}).start()
        try:
            manifest = process.getmanifest()
            assert "lnopt-status" in {method["name"] for method in manifest["rpcmethods"]}
            assert "forward_event" in manifest["subscriptions"]
            assert process.init({"lnopt-interval": 0}) is None
            status = process.call("lnopt-status")
        finally:
            process.close()
    assert status["mode"] == "shadow"
    assert status["store"]["path"] == str(ldir / "lnopt.sqlite3")
    assert (ldir / "lnopt.sqlite3").is_file()
