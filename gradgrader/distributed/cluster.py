"""Which cluster ``--cluster`` names, and whether Dask (an optional extra) is installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradgrader.errors import ConfigError, GradgraderError

DASK_HINT = (
    "grading on a cluster needs Dask, an optional extra: pip install 'gradgrader[dask]' "
    "(or: pip install dask distributed)"
)
DEFAULT_CHUNK = 4  # submissions per Dask task
DEFAULT_RETRIES = 2  # re-runs of a chunk that raised (a lost worker's chunk is rescheduled anyway)


class ClusterError(GradgraderError):
    """Grading on the cluster failed (unreachable scheduler, unusable workers, lost chunks)."""


def require_dask() -> Any:
    """The ``distributed`` module, or a GradgraderError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise GradgraderError(DASK_HINT) from None
    return distributed


def parse_cluster(spec: str) -> tuple[str, Any]:
    """``--cluster``: ``("local", n_workers or None)``, ``("file", path)`` or ``("address", text)``."""
    text = spec.strip()
    if text == "local" or text.startswith("local:") or text.startswith("local["):
        rest = text[len("local"):].strip(":[]")
        if not rest:
            return "local", None
        if not rest.isdigit() or int(rest) < 1:
            raise ConfigError(f"--cluster {spec}: give local or local:N with N worker processes, N >= 1")
        return "local", int(rest)
    if not text:
        raise ConfigError("--cluster needs a scheduler address (tcp://host:8786), a scheduler file, or local[:N]")
    if text.endswith(".json"):
        if not Path(text).is_file():
            raise ConfigError(f"--cluster {spec}: no such scheduler file")
        return "file", text
    return "address", text


def check_cluster(spec: str) -> tuple[str, Any]:
    """Check ``--cluster`` before any work: the value parses and Dask is installed."""
    parsed = parse_cluster(spec)
    require_dask()
    return parsed
