"""The operator's settings, read and checked by lnopt's own readers.

The document's keys are the standalone runner's settings of the same names, ``-`` written
``_`` (``mode``, ``interval``, ``max_fee_ppm``, ``exclude_channel`` ...), so a bad value gets
the message the runner and the plugin give. lnopt's SQLite file is ``lnopt.sqlite3`` in LNbits'
data folder; ``graph_file`` names a ``listchannels`` JSON file for the network graph (LNbits'
node API has no gossip).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lnopt.errors import InvalidRequest
from lnopt.plugin_options import GUARD_OPTIONS, LIST_OPTIONS, read_settings
from lnopt.service import Settings

SCALARS = ("mode", "interval", *(spec.name for spec in GUARD_OPTIONS))
LISTS = tuple(listed.name for listed in LIST_OPTIONS)
GRAPH_FILE = "graph_file"


def key(name: str) -> str:
    return name.replace("-", "_")


ACCEPTED = (*(key(name) for name in SCALARS + LISTS), GRAPH_FILE)


@dataclass(frozen=True)
class ExtensionSettings:
    service: Settings
    graph_file: Path | None


def read_document(document: Any, data_folder: Path) -> ExtensionSettings:
    """The checked settings of ``document``; an :class:`InvalidRequest` or a
    :class:`~lnopt.errors.ConfigError` names a bad key and what it accepts."""
    if not isinstance(document, dict):
        raise InvalidRequest("the settings must be a JSON object of setting names to values")
    unknown = sorted(str(name) for name in document if name not in ACCEPTED)
    if unknown:
        raise InvalidRequest(f"unknown setting {unknown[0]!r}; accepted: {', '.join(ACCEPTED)}")
    options: dict[str, Any] = {}
    for name in SCALARS:
        value = document.get(key(name))
        if value is not None and value != "":
            options[name] = value
    for name in LISTS:
        values = document.get(key(name)) or []
        if not isinstance(values, list):
            raise InvalidRequest(f"{key(name)}: give a list, e.g. [], not {values!r:.60}")
        options[name] = [value for value in values if value != ""]
    graph = document.get(GRAPH_FILE) or None
    if graph is not None and not isinstance(graph, str):
        raise InvalidRequest(f"{GRAPH_FILE}: give a file path as text, not {graph!r:.60}")
    graph_file = Path(graph) if graph else None
    if graph_file is not None and not graph_file.is_absolute():
        graph_file = data_folder / graph_file
    return ExtensionSettings(read_settings(options, data_folder, prefix=""), graph_file)


def document_of(settings: ExtensionSettings) -> dict[str, Any]:
    """What the page shows: every setting with the value in force."""
    service = settings.service
    guard = service.config.guard
    document: dict[str, Any] = {
        "mode": service.mode.value,
        "interval": service.interval_s,
        **{key(spec.name): getattr(guard, spec.key) for spec in GUARD_OPTIONS},
        **{key(listed.name): list(getattr(guard, listed.key)) for listed in LIST_OPTIONS},
        GRAPH_FILE: str(settings.graph_file) if settings.graph_file else "",
    }
    return document
