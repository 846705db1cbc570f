"""Where the vault's passphrase comes from.

In this order, the first that is there wins:

1. a file named on the command line (``--passphrase-file F``);
2. ``$CREDENTIALS_DIRECTORY/lnopt-passphrase``: systemd's ``LoadCredential=lnopt-passphrase:...``
   puts the file there for the service alone;
3. the file named by ``$LNOPT_PASSPHRASE_FILE``;
4. a prompt that does not echo, only when standard input is a terminal.

A file's trailing line break is dropped; the passphrase is otherwise taken as it is (the vault
compares it in Unicode normal form NFC).
"""

from __future__ import annotations

import getpass
import logging
import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from lnopt.errors import ConfigError

log = logging.getLogger(__name__)

SYSTEMD_CREDENTIAL_NAME = "lnopt-passphrase"
FILE_VARIABLE = "LNOPT_PASSPHRASE_FILE"
SOURCES = (
    "--passphrase-file F",
    f"$CREDENTIALS_DIRECTORY/{SYSTEMD_CREDENTIAL_NAME} (systemd LoadCredential=)",
    f"${FILE_VARIABLE}",
    "a prompt on a terminal",
)


def read_passphrase(
    *,
    passphrase_file: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    prompt: Callable[[str], str] | None = getpass.getpass,
    interactive: bool | None = None,
    confirm: bool = False,
) -> str:
    """The vault passphrase from the first source that has one (see the module's docstring).

    ``interactive`` says whether standard input is a terminal (default: ask ``sys.stdin``);
    ``confirm`` makes the prompt ask twice, for a vault about to be created.
    """
    if passphrase_file is not None:
        return _from_file(passphrase_file, "--passphrase-file")
    credentials_directory = environ.get("CREDENTIALS_DIRECTORY")
    if credentials_directory:
        systemd_file = Path(credentials_directory) / SYSTEMD_CREDENTIAL_NAME
        if systemd_file.is_file():
            return _from_file(systemd_file, "$CREDENTIALS_DIRECTORY")
    named_file = environ.get(FILE_VARIABLE)
    if named_file:
        return _from_file(Path(named_file), f"${FILE_VARIABLE}")
    if interactive is None:
        interactive = sys.stdin.isatty()
    if prompt is not None and interactive:
        return _from_prompt(prompt, confirm=confirm)
    raise ConfigError("no vault passphrase was given; lnopt reads it from " + "; ".join(SOURCES))


def _from_file(path: Path, source: str) -> str:
    try:
        mode = os.stat(path).st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the passphrase file {path} ({source}): {exc.strerror}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the passphrase file {path} ({source}) is not UTF-8 text") from exc
    if mode & 0o077:
        log.warning(
            "passphrase file %s is open to its group or others (mode %04o); run `chmod 600 %s`",
            path,
            stat.S_IMODE(mode),
            path,
        )
    return _checked(
        text.removesuffix("\n").removesuffix("\r"), f"the passphrase file {path} ({source})"
    )


def _from_prompt(prompt: Callable[[str], str], *, confirm: bool) -> str:
    try:
        passphrase = prompt("vault passphrase: ")
        if confirm and prompt("the same passphrase again: ") != passphrase:
            raise ConfigError("the two passphrases typed differ; nothing was changed")
    except (EOFError, KeyboardInterrupt) as exc:
        raise ConfigError("no passphrase was typed; nothing was changed") from exc
    return _checked(passphrase, "the passphrase typed")


def _checked(passphrase: str, where: str) -> str:
    if not passphrase:
        raise ConfigError(f"{where} is empty; a vault needs a passphrase")
    return passphrase
