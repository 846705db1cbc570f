"""contrib/lnopt.service and contrib/settings.example.yaml: the unit's hardening, its command
line and settings file as the runner reads them, and systemd's own check of the unit."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from lnopt.backends.factory import BackendKind
from lnopt.cli import build_parser
from lnopt.runner.commands import settings_of
from lnopt.runner.settings import SETTING_NAMES, resolve_settings
from tests.conftest import REPO

UNIT = REPO / "contrib" / "lnopt.service"
EXAMPLE = REPO / "contrib" / "settings.example.yaml"


def unit_keys(text: str) -> dict[str, dict[str, list[str]]]:
    """``[Section] Key=value`` lines as systemd reads them (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep and section, f"not a unit line: {line!r}"
        sections[section][key.strip()].append(value.strip())
    return sections


def test_the_unit_runs_lnopt_as_its_own_user_with_the_usual_hardening() -> None:
    service = unit_keys(UNIT.read_text())["Service"]

    def one(key: str) -> str:
        (value,) = service[key]
        return value

    assert one("DynamicUser") == "yes"
    assert one("NoNewPrivileges") == "yes"
    assert one("ProtectSystem") == "strict"
    assert one("ProtectHome") == "yes"
    assert one("PrivateTmp") == "yes"
    assert one("StateDirectory") == "lnopt"
    assert one("LoadCredential") == "lnopt-passphrase:/etc/lnopt/passphrase"
    assert set(one("RestrictAddressFamilies").split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert one("Restart") == "on-failure"
    assert one("CapabilityBoundingSet") == ""
    assert one("KillSignal") == "SIGTERM"


def test_the_units_command_line_is_the_runners_and_its_settings_file_is_read() -> None:
    service = unit_keys(UNIT.read_text())["Service"]
    (exec_start,) = service["ExecStart"]
    program, *args = shlex.split(exec_start)

    parsed = build_parser().parse_args(args)
    with_example = [str(EXAMPLE) if arg == str(parsed.settings) else arg for arg in args]
    settings = settings_of(build_parser().parse_args(with_example))

    assert Path(program).name == "lnopt" and args[0] == "run"
    assert parsed.handler.__name__ == "_run_command"
    assert parsed.settings == Path("/etc/lnopt/settings.yaml")
    assert settings.backend is BackendKind.CLN


def test_the_example_settings_file_names_every_setting_and_is_read_as_it_is() -> None:
    text = EXAMPLE.read_text()

    settings = resolve_settings({}, file=EXAMPLE, environ={"STATE_DIRECTORY": "/var/lib/lnopt"})

    for name in SETTING_NAMES:
        assert f"{name}:" in text, f"{name} is not shown in {EXAMPLE.name}"
    assert settings.backend is BackendKind.CLN
    assert settings.service.db_path == Path("/var/lib/lnopt/lnopt.sqlite3")


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is needed (Debian: apt-get install systemd)"
    lnopt = Path(sys.executable).with_name("lnopt")
    unit = tmp_path / "lnopt.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/lnopt", str(lnopt)))

    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
