"""A real LNbits 1.6.2 server for the tests: started once per session, set up as an operator
would set it up, and a handle on the node behind it.

The server runs in its own venv (``make lnbits-venv``, ``.venv-lnbits``) with FakeWallet, SQLite
in a temporary data folder and the in-memory node of ``tests/lnbits_server/memory_node.py``.
The set-up goes through LNbits' own API: the first install (the super user), an admin user,
an ACL with Node read and write and its token (lnopt's least privilege), an ACL with Node read
only, the admin user's node token, the super user's login token and a wallet's invoice and
admin keys.

lnopt's LNbits extension (``lnbits_extension/lnopt``) is installed by folder, as an operator
drops it in: copied into LNbits' default extensions path (``lnbits/extensions/lnopt``, here
the installed package the working folder links to) before the server starts; LNbits finds,
registers and migrates it, and the set-up enables it for the super user and the admin user
through LNbits' own route (``PUT /api/v1/extension/lnopt/enable``). The engine it imports is
the ``lnopt`` package installed into the LNbits venv (``make lnbits-venv``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import BLOCK_HEIGHT, OUR_NODE, both_directions, node_id
from tests.lnbits_server import node_state

REPO = Path(__file__).resolve().parents[1]
LNBITS_PYTHON = REPO / ".venv-lnbits" / "bin" / "python"
LAUNCHER = REPO / "tests" / "lnbits_server" / "launcher.py"
EXTENSION = REPO / "lnbits_extension" / "lnopt"
EXTENSION_ID = "lnopt"
NODE_ACL = "/node/api/v1"
MARKET_PPM = 100
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LnbitsServer:
    """One LNbits process on 127.0.0.1; its data folder outlives restarts."""

    def __init__(self, root: Path) -> None:
        if not LNBITS_PYTHON.exists():
            pytest.fail(
                f"LNbits is not installed in {LNBITS_PYTHON.parent.parent}: make lnbits-venv"
            )
        self.root = root
        self.data_folder = root / "data"
        self.data_folder.mkdir(parents=True, exist_ok=True)
        self.log_path = root / "lnbits.log"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        package = subprocess.run(
            [
                str(LNBITS_PYTHON),
                "-c",
                "import lnbits, os; print(os.path.dirname(lnbits.__file__))",
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=root,  # importing lnbits makes ./data
            env={**os.environ, "LNBITS_DATA_FOLDER": str(self.data_folder)},
        ).stdout.strip()
        link = root / "lnbits"
        if not link.exists():
            link.symlink_to(package)
        self.extension_dir = link / "extensions" / EXTENSION_ID

    def install_extension(self) -> None:
        """Copy the extension folder into LNbits' extensions path, replacing an older copy."""
        shutil.rmtree(self.extension_dir, ignore_errors=True)
        shutil.copytree(EXTENSION, self.extension_dir, ignore=shutil.ignore_patterns("__pycache__"))

    def remove_extension(self) -> None:
        shutil.rmtree(self.extension_dir, ignore_errors=True)

    def start(self) -> float:
        """Start and wait until it answers HTTP at all; returns the seconds that took."""
        environment = {
            **os.environ,
            "LNBITS_DATA_FOLDER": str(self.data_folder),
            "LNBITS_BACKEND_WALLET_CLASS": "FakeWallet",
            "LNBITS_ADMIN_UI": "true",
            "LNBITS_NODE_UI": "true",
            "LNBITS_EXTENSIONS_PATH": "lnbits",  # LNbits' default: ./lnbits/extensions
            "LNBITS_EXTENSIONS_MANIFESTS": "[]",
            "AUTH_HTTPS_ONLY": "false",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
        }
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [str(LNBITS_PYTHON), str(LAUNCHER), str(self.port)],
                cwd=self.root,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while time.monotonic() - started < START_TIMEOUT_S:
            if self._process.poll() is not None:
                pytest.fail(f"LNbits exited at start; see {self.log_path}")
            try:
                httpx.get(f"{self.base_url}/api/v1/health", timeout=2.0)
                return time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.2)
        pytest.fail(f"LNbits did not answer within {START_TIMEOUT_S:.0f} s; see {self.log_path}")

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait_exit(self, timeout_s: float = 30.0) -> int:
        assert self._process is not None
        return self._process.wait(timeout=timeout_s)

    def kill(self) -> None:
        if self.running():
            assert self._process is not None
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)

    def stop(self) -> None:
        if self.running():
            assert self._process is not None
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def ensure_running(self) -> None:
        if not self.running():
            self.start()


@dataclasses.dataclass(frozen=True)
class Accounts:
    super_user: str
    super_password: str
    admin_password: str
    login_token: str  # the super user's login JWT: everything
    node_token: str  # the super user's ACL token, Node read and write: lnopt's least privilege
    read_token: str  # the super user's ACL token, Node read only
    admin_node_token: str  # an admin user's ACL token, Node read and write
    invoice_key: str  # a wallet's invoice key
    admin_key: str  # the same wallet's admin key
    admin_login: str  # the admin user's login JWT

    def secrets(self) -> tuple[str, ...]:
        return tuple(
            getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name != "super_user"
        )


def _json(response: httpx.Response) -> Any:
    assert response.status_code < 400, f"{response.request.url.path}: {response.status_code}"
    return response.json()


def _acl_token(client: httpx.Client, login: str, password: str, name: str, *, write: bool) -> str:
    """An ACL with Node read (and write), and a token of it, as LNbits' ACL page makes them."""
    auth = {"Authorization": f"Bearer {login}"}
    created = _json(
        client.put(
            "/api/v1/auth/acl", headers=auth, json={"id": "", "name": name, "password": password}
        )
    )
    acl = next(item for item in created["access_control_list"] if item["name"] == name)
    endpoints = [
        {
            **endpoint,
            "read": endpoint["path"] == NODE_ACL,
            "write": write and endpoint["path"] == NODE_ACL,
        }
        for endpoint in acl["endpoints"]
    ]
    _json(
        client.put(
            "/api/v1/auth/acl",
            headers=auth,
            json={"id": acl["id"], "name": name, "password": password, "endpoints": endpoints},
        )
    )
    token = _json(
        client.post(
            "/api/v1/auth/acl/token",
            headers=auth,
            json={
                "acl_id": acl["id"],
                "token_name": name,
                "password": password,
                "expiration_time_minutes": 24 * 60,
            },
        )
    )
    return str(token["api_token"])


def set_up_accounts(base_url: str) -> Accounts:
    super_user, super_password, admin_password = "operator", "pw-super-7f3a9c", "pw-admin-2b8e1d"
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        login = _json(
            client.put(
                "/api/v1/auth/first_install",
                json={
                    "username": super_user,
                    "password": super_password,
                    "password_repeat": super_password,
                },
            )
        )["access_token"]
        auth = {"Authorization": f"Bearer {login}"}
        admin = _json(
            client.post(
                "/users/api/v1/user",
                headers=auth,
                json={
                    "username": "helpdesk",
                    "password": admin_password,
                    "password_repeat": admin_password,
                },
            )
        )
        _json(client.put(f"/users/api/v1/user/{admin['id']}/admin", headers=auth))
        admin_login = _json(
            client.post("/api/v1/auth", json={"username": "helpdesk", "password": admin_password})
        )["access_token"]
        wallets = _json(client.get("/api/v1/wallets", headers=auth))
        return Accounts(
            super_user=super_user,
            super_password=super_password,
            admin_password=admin_password,
            login_token=login,
            node_token=_acl_token(client, login, super_password, "lnopt", write=True),
            read_token=_acl_token(client, login, super_password, "lnopt-read", write=False),
            admin_node_token=_acl_token(
                client, admin_login, admin_password, "lnopt-admin", write=True
            ),
            invoice_key=str(wallets[0]["inkey"]),
            admin_key=str(wallets[0]["adminkey"]),
            admin_login=admin_login,
        )


def enable_extension(base_url: str, login_token: str) -> None:
    """Enable lnopt's extension for the account of ``login_token``, as LNbits' page does."""
    response = httpx.put(
        f"{base_url}/api/v1/extension/{EXTENSION_ID}/enable",
        headers={"Authorization": f"Bearer {login_token}"},
        timeout=30.0,
    )
    assert response.status_code == 200, response.text


def set_node_ui(base_url: str, accounts: Accounts, enabled: bool) -> None:
    """The super user's switch of LNbits' node UI (the Admin UI's Server settings)."""
    response = httpx.patch(
        f"{base_url}/admin/api/v1/settings",
        headers={"Authorization": f"Bearer {accounts.login_token}"},
        json={"lnbits_node_ui": enabled},
        timeout=30.0,
    )
    assert response.status_code == 200, response.text


@dataclasses.dataclass
class LnbitsEnv:
    server: LnbitsServer
    accounts: Accounts
    first_start_s: float

    @property
    def folder(self) -> Path:
        return self.server.data_folder

    def restart(self) -> float:
        self.server.kill()
        return self.server.start()


@pytest.fixture(scope="session")
def lnbits() -> Iterator[LnbitsEnv]:
    root = Path(tempfile.mkdtemp(prefix="lnopt-lnbits-"))
    server = LnbitsServer(root)
    seed_node(server.data_folder, channels=6)
    server.install_extension()
    first_start_s = server.start()
    try:
        accounts = set_up_accounts(server.base_url)
        for login in (accounts.login_token, accounts.admin_login):
            enable_extension(server.base_url, login)
        yield LnbitsEnv(server, accounts, first_start_s)
    finally:
        server.stop()
        server.remove_extension()


# --- the node behind LNbits ------------------------------------------------------------------


def scid(n: int) -> str:
    return f"{BLOCK_HEIGHT - 20_000}x{n}x0"


def seed_node(folder: Path, *, channels: int, capacity_msat: int = 5_000_000_000) -> None:
    """``channels`` channels to peers ``node_id(n)``; two in three hold 92% of their capacity
    and charge 400 ppm (lnopt lowers them toward the market), the rest are balanced and charge
    the market's 100 ppm (kept)."""
    items = []
    for n in range(1, channels + 1):
        idle = n % 3 != 0
        items.append(
            node_state.channel(
                short_channel_id=scid(n),
                peer_id=node_id(n),
                total_msat=capacity_msat,
                to_us_msat=capacity_msat * (92 if idle else 50) // 100,
                fee_base_msat=1000,
                fee_ppm=400 if idle else MARKET_PPM,
                alias=f"peer-{n}",
            )
        )
    node_state.seed_node(
        folder,
        node_id=OUR_NODE,
        alias="lnbits-node",
        blockheight=BLOCK_HEIGHT,
        channels=items,
        fees_collected_msat=12_345,
    )


def write_graph_file(path: Path, folder: Path) -> Path:
    """A ``listchannels`` file: our channels as the node has them, and three cheaper channels
    from other nodes toward each of our peers."""
    items: list[dict[str, object]] = []
    for n, item in enumerate(node_state.read_state(folder)["channels"], 1):
        items += both_directions(
            item["short_channel_id"],
            OUR_NODE,
            item["peer_id"],
            capacity_msat=item["total_msat"],
            fee_ppm=item["fee_proportional_millionths"],
        )
        for k in range(3):
            items += both_directions(
                f"700000x{n * 10 + k}x0", node_id(1000 + k), item["peer_id"], fee_ppm=MARKET_PPM
            )
    path.write_text(json.dumps({"channels": items}))
    return path


def node_fees(folder: Path) -> dict[str, tuple[int, int]]:
    """Per short channel id, (base fee msat, fee ppm) as the node applies them now."""
    return {
        item["short_channel_id"]: (item["fee_base_msat"], item["fee_proportional_millionths"])
        for item in node_state.read_state(folder)["channels"]
    }


def die_on_set(folder: Path, *, at: int, when: str) -> None:
    """The server exits at the ``at``-th fee change from now, ``before`` or ``after`` it."""
    with node_state.locked_state(folder) as state:
        state["sets"] = 0
        state["die_on_set"] = {"at": at, "when": when}


def forget_die_on_set(folder: Path) -> None:
    with node_state.locked_state(folder) as state:
        state["die_on_set"] = None
