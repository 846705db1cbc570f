"""Private files on disk: owner-only modes, atomic replacement, a writer's lock.

A vault file is created 0600 in a directory created 0700, and is always replaced whole: the new
content goes to a temporary file in the same directory (created 0600 with ``os.open``, so the
umask cannot widen it), is flushed with ``fsync``, renamed over the old file with ``os.replace``
and the directory is synced, so a reader sees the old file or the new one and never a mix.
Writers take an exclusive ``flock`` on a lock file beside the vault, so two processes (the runner
and ``lnopt credentials rotate``, say) cannot lose each other's changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from lnopt.errors import CredentialError

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def ensure_private_directory(directory: Path) -> None:
    """Create ``directory`` (and its parents) if absent; the directory itself gets mode 0700."""
    if directory.is_dir():
        return
    try:
        directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        os.chmod(directory, DIRECTORY_MODE)
    except OSError as exc:
        raise CredentialError(f"cannot create the directory {directory}: {exc.strerror}") from exc


def check_private(path: Path) -> None:
    """Refuse a file that anyone but its owner may read or write, saying the chmod to run."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise CredentialError(f"cannot read {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(mode):
        raise CredentialError(f"{path} is not a regular file")
    if mode & 0o077:
        raise CredentialError(
            f"{path} is open to its group or others (mode {stat.S_IMODE(mode):04o}); "
            f"a vault must be private to its owner: run `chmod 600 {path}`"
        )


def read_private(path: Path) -> bytes:
    """The content of an owner-only file."""
    check_private(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CredentialError(f"cannot read {path}: {exc.strerror}") from exc


def replace_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` (mode 0600) so that readers never see a partial file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_directory(path.parent)
    except OSError as exc:
        raise CredentialError(f"cannot write {path}: {exc.strerror}") from exc


@contextlib.contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (created 0600) for one change to ``path``."""
    lock_path = path.with_name(f"{path.name}.lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise CredentialError(f"cannot lock {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
