"""The runner's command line: ``lnopt run`` and the one-shot commands that mirror the plugin's
methods (``lnopt recommend|apply|approve|reject|rollback|history|status|report``, and ``lnopt
score`` without ``--graph``), each answering the plugin's JSON (:mod:`lnopt.methods`).

Every command takes the runner's settings (:mod:`lnopt.runner.settings`) as ``--NAME`` options
and from ``--settings FILE``. A change to the node needs ``--no-dry-run``, as the plugin needs
``dryrun=false``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lnopt.backends.factory import build_backend
from lnopt.methods import Methods
from lnopt.runner import daemon
from lnopt.runner.settings import SETTINGS, RunnerSettings, ValueKind, resolve_settings
from lnopt.security.redaction import install_redaction
from lnopt.service import Service

SETTINGS_FILE = "settings"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


@dataclass(frozen=True)
class Param:
    """A method parameter as a command-line argument."""

    name: str  # the method's parameter
    flags: tuple[str, ...]  # () for a positional argument
    help: str
    store_false: bool = False  # a flag that turns the parameter off (--no-dry-run)


_CHANNEL = Param("channel", ("--channel",), "a short channel id (default: every channel)")
_DRY_RUN = Param("dryrun", ("--no-dry-run",), "change the node (default: a dry run)", True)
ONE_SHOT: dict[str, tuple[str, tuple[Param, ...]]] = {
    # verb: (short help, parameters); the method's docstring is the long help
    "recommend": ("what lnopt would do with each channel, and why", (_CHANNEL,)),
    "apply": (
        "apply the recommended fee changes (a dry run unless --no-dry-run)",
        (Param("channel", ("--channel",), "a short channel id or all (default)"), _DRY_RUN),
    ),
    "approve": (
        "apply a proposal queued in advise mode",
        (Param("proposal", (), "a queued proposal's id, or all"),),
    ),
    "reject": ("drop a proposal queued in advise mode", (Param("proposal", (), "its id"),)),
    "rollback": (
        "restore the fees before a change (a dry run unless --no-dry-run)",
        (
            Param("target", (), "a change id (42), a batch (b7), a short channel id or last"),
            _DRY_RUN,
        ),
    ),
    "history": (
        "decisions and fee changes, newest first",
        (
            _CHANNEL,
            Param("since", ("--since",), "a unix time in seconds"),
            Param("limit", ("--limit",), "the most decisions and changes to list (default 100)"),
        ),
    ),
    "status": ("mode, schedule, runs, counts, store, graph and guard limits", ()),
    "report": (
        "the shadow report: what lnopt would have changed, and what its changes did",
        (
            Param("days", ("--days",), "the days to look back (default 7)"),
            Param("png", ("--png",), "also draw fee income and liquidity to this PNG file"),
        ),
    ),
    "alerts": (
        "the alerts lnopt delivered lately",
        (Param("limit", ("--limit",), "the most alerts to list (default 20)"),),
    ),
    "release": (
        "hand a channel lnopt left alone back to lnopt",
        (Param("channel", (), "its short channel id"),),
    ),
}
SCORE_PARAMS = (_CHANNEL,)


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """``--settings FILE`` and every runner setting as ``--NAME`` (absent unless given)."""
    group = parser.add_argument_group("settings (also read from --settings FILE)")
    group.add_argument(
        f"--{SETTINGS_FILE}", type=Path, default=None, help="YAML file of these settings"
    )
    for spec in SETTINGS:
        group.add_argument(
            spec.flag,
            dest=f"setting_{spec.dest}",
            action="append" if spec.kind is ValueKind.LIST else "store",
            default=argparse.SUPPRESS,
            metavar="PATH" if spec.kind is ValueKind.PATH else "VALUE",
            help=spec.help,
        )


def add_params(parser: argparse.ArgumentParser, params: tuple[Param, ...]) -> None:
    for param in params:
        if not param.flags:
            parser.add_argument(param.name, help=param.help)
        elif param.store_false:
            parser.add_argument(
                *param.flags,
                dest=param.name,
                action="store_false",
                default=argparse.SUPPRESS,
                help=param.help,
            )
        else:
            parser.add_argument(
                *param.flags, dest=param.name, default=argparse.SUPPRESS, help=param.help
            )


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``lnopt run`` and the one-shot commands other than ``score`` (see :func:`score_command`)."""
    run = subparsers.add_parser(
        "run",
        help="run lnopt for a node until stopped (SIGTERM or SIGINT)",
        description="Recover open journal entries, backfill the node's forwards, then decide "
        "(and in advise or auto mode, act) on the schedule, until SIGTERM or SIGINT.",
    )
    add_settings_options(run)
    run.set_defaults(handler=_run_command)
    for verb, (short, params) in ONE_SHOT.items():
        doc = " ".join(str(getattr(Methods, verb).__doc__).split())
        parser = subparsers.add_parser(verb, help=short, description=doc)
        add_params(parser, params)
        add_settings_options(parser)
        parser.set_defaults(handler=_one_shot(verb, params))


def settings_of(args: argparse.Namespace) -> RunnerSettings:
    given = {
        spec.name: getattr(args, f"setting_{spec.dest}")
        for spec in SETTINGS
        if hasattr(args, f"setting_{spec.dest}")
    }
    return resolve_settings(given, file=getattr(args, SETTINGS_FILE))


def given_settings(args: argparse.Namespace) -> list[str]:
    """The settings named on the command line (``--settings`` included)."""
    named = [spec.flag for spec in SETTINGS if hasattr(args, f"setting_{spec.dest}")]
    if getattr(args, SETTINGS_FILE) is not None:
        named.insert(0, f"--{SETTINGS_FILE}")
    return named


def score_command(args: argparse.Namespace) -> int:
    """``lnopt score`` for our own node (the backend's), as ``lnopt-score`` answers."""
    return _one_shot("score", SCORE_PARAMS)(args)


def _one_shot(verb: str, params: tuple[Param, ...]) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        _log_to_stderr(logging.WARNING)
        settings = settings_of(args)
        backend = build_backend(
            settings.node, settings.vault, graph_refresh_s=settings.service.config.graph.refresh_s
        )
        service = Service.open(backend, settings.service)
        try:
            method = Methods(lambda: service).by_name()[verb]
            kwargs = {p.name: getattr(args, p.name) for p in params if hasattr(args, p.name)}
            answer: Any = method(**kwargs)
        finally:
            service.close()
        print(json.dumps(answer, indent=2))
        return 0

    return command


def _run_command(args: argparse.Namespace) -> int:
    _log_to_stderr(logging.INFO)
    return daemon.run(settings_of(args))


def _log_to_stderr(lnopt_level: int) -> None:
    """Log lines on stderr (lnopt's from ``lnopt_level``, others' warnings), every secret the
    vault hands out replaced by ``***``."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("lnopt").setLevel(lnopt_level)
    install_redaction()
