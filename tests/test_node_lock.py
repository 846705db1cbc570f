"""NodeLock: reentrant in one thread, exclusive between threads and between processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from lnopt.service.node_lock import NodeLock, lock_path

TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("busy")
else:
    print("free")
"""


def other_process_finds(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_the_lock_file_lies_beside_the_store(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "lnopt.sqlite3") == tmp_path / "lnopt.sqlite3.lock"


def test_a_thread_can_take_it_again_and_another_process_waits_until_the_last_release(
    tmp_path: Path,
) -> None:
    lock = NodeLock(tmp_path / "node.lock")

    with lock:
        with lock:  # a run that recovers first takes it twice
            assert other_process_finds(lock.path) == "busy"
        assert other_process_finds(lock.path) == "busy"

    assert other_process_finds(lock.path) == "free"
    assert (lock.path.stat().st_mode & 0o777) == 0o600


def test_another_thread_waits_for_the_holder(tmp_path: Path) -> None:
    lock = NodeLock(tmp_path / "node.lock")
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with lock:
            holding.set()
            release.wait(10)
            order.append("holder done")

    def waiter() -> None:
        with lock:
            order.append("waiter in")

    first = threading.Thread(target=holder)
    first.start()
    holding.wait(10)
    second = threading.Thread(target=waiter)
    second.start()
    second.join(0.3)
    assert order == []  # the waiter is still waiting
    release.set()
    first.join(10)
    second.join(10)

    assert order == ["holder done", "waiter in"]
