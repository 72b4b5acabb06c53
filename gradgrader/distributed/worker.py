"""The worker side: the Dask task that grades a chunk, and the worker process's state (a
private folder, a few Graders, the sandbox's probe), cleaned up when the worker closes."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from gradgrader._version import __version__
from gradgrader.distributed.packing import rubric_from, safe_rel, unpack_submission
from gradgrader.errors import GradgraderError, SandboxError
from gradgrader.ingest.submission import Submission
from gradgrader.records import failure_result
from gradgrader.sandbox.layers import WEAK_REFUSED, weak_refused

_lock = threading.Lock()
_graders: OrderedDict[str, Any] = OrderedDict()  # assignment digest -> Grader (a few, most recent last)
_root: Path | None = None
_isolation: Any = None
MAX_GRADERS = 3


def _worker_parent() -> Path:
    """The folder (one per user and machine, mode 0700) that holds every worker process's
    private folder. Every sandbox hides all of it, so that the folders a dead worker left
    behind (the reference solution, other students' files) stay hidden too."""
    parent = Path(tempfile.gettempdir()) / f"gradgrader-dask-{os.getuid()}"
    try:
        parent.mkdir(mode=0o700, exist_ok=True)
        st = parent.lstat()
    except OSError as exc:
        raise SandboxError(f"worker {socket.gethostname()}: cannot make its private folder {parent}: {exc}") from None
    if not parent.is_dir() or parent.is_symlink() or st.st_uid != os.getuid():
        raise SandboxError(f"worker {socket.gethostname()}: {parent} is not a folder of this user's; remove it")
    if st.st_mode & 0o077:
        parent.chmod(0o700)
    return parent


def _sweep(parent: Path) -> None:
    """Remove the private folders of worker processes that are gone (killed, crashed)."""
    for entry in parent.glob("w*-*"):
        pid = entry.name[1:].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass


def _worker_root() -> Path:
    """This worker process's private folder: assignment copies and chunks being graded."""
    global _root
    if _root is None:
        parent = _worker_parent()
        _sweep(parent)
        _root = Path(tempfile.mkdtemp(prefix=f"w{os.getpid()}-", dir=parent))
        atexit.register(close_worker)
    return _root


def close_worker() -> None:
    """Close this process's graders (their sandboxes) and remove its private folder."""
    global _root
    with _lock:
        while _graders:
            _, grader = _graders.popitem(last=False)
            with contextlib.suppress(Exception):
                grader.close()
        if _root is not None:
            shutil.rmtree(_root, ignore_errors=True)
            _root = None


def _probe() -> Any:
    global _isolation
    if _isolation is None:
        from gradgrader.sandbox.layers import probe

        _isolation = probe()
    return _isolation


def _dask_local_directory() -> list[Path]:
    """Dask's working folders on this machine (spilled data may hold submissions): the
    whole ``dask-scratch-space`` when the worker's folder is in one, else its own."""
    try:
        from distributed import get_worker

        local = Path(get_worker().local_directory)
    except Exception:
        return []
    return [local.parent if local.parent.name == "dask-scratch-space" else local]



def _grader_for(payload: dict[str, Any], allow_weak: bool) -> Any:
    """The Grader of this assignment in this process, made on first use."""
    from gradgrader.assignment import load_assignment
    from gradgrader.loading import open_grader

    key = f"{payload['digest']}:{allow_weak}"
    with _lock:
        grader = _graders.get(key)
        if grader is not None:
            _graders.move_to_end(key)
            return grader
        iso = _probe()
        if weak_refused(iso.level, allow_weak):
            raise SandboxError(f"worker {socket.gethostname()}: {WEAK_REFUSED}")
        root = _worker_root()
        folder = root / "assignments" / payload["digest"][:16] / payload["name"]
        if not folder.is_dir():
            tmp = folder.with_name(folder.name + f".{uuid.uuid4().hex[:8]}.tmp")
            for rel, data in payload["files"].items():
                target = tmp / safe_rel(rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            tmp.rename(folder)
        assignment = load_assignment(folder)
        if "seed" in payload:
            assignment = dataclasses.replace(assignment, seed=int(payload["seed"]))
        # Hidden from every sandboxed process: every worker's private folder on this
        # machine (assignment copies, other students' chunks) and Dask's working folders.
        grader = open_grader(assignment, rubric_from(payload["rubric"]), isolation=iso,
                             hidden=[root.parent, *_dask_local_directory()])
        _graders[key] = grader
        while len(_graders) > MAX_GRADERS:
            _, old = _graders.popitem(last=False)
            with contextlib.suppress(Exception):
                old.close()
        return grader



def grade_chunk(payload: dict[str, Any], chunk: list[dict[str, Any]], version: str, allow_weak: bool) -> dict[str, Any]:
    """The Dask task: grade ``chunk`` with this process's Grader of ``payload``'s assignment.

    Returns ``{"results": [result dict, ...], "worker": host}``, or ``{"error": message}``
    for a problem no retry can fix (another gradgrader version, a weak sandbox, an
    assignment that does not load here)."""
    host = socket.gethostname()
    if version != __version__:
        return {"error": f"worker {host} has gradgrader {__version__}, this machine {version}: "
                         f"install the same version on every worker"}
    try:
        grader = _grader_for(payload, allow_weak)
    except GradgraderError as exc:
        return {"error": f"worker {host}: {exc}"}
    chunks = _worker_root() / "chunks"
    chunks.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="chunk-", dir=chunks))
    results = []
    try:
        for i, item in enumerate(chunk):
            # One submission's problem (writing its files here, grading it) is its own
            # error result, never the chunk's: the others keep their grades.
            try:
                obj = grader.grade(unpack_submission(item, folder / f"{i:04d}")).to_json()
            except Exception as exc:  # noqa: BLE001
                lost = Submission(item["id"], None, None, "", dict(item["extra"]))
                obj = failure_result(grader.course.assignment, grader.rubric, lost, f"staging on worker {host}", exc).to_json()
            obj["path"] = item["path"]
            if item["sha256"]:
                obj["sha256"] = item["sha256"]
            results.append(obj)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"results": results, "worker": host}


def worker_info() -> dict[str, Any]:
    """What a worker offers: its gradgrader version and sandbox level (for the pre-flight)."""
    import sys

    iso = _probe()
    return {"gradgrader": __version__, "sandbox": iso.level, "host": socket.gethostname(),
            "python": sys.version.split()[0]}


def identity(value: Any) -> Any:
    return value


def scheduler_version() -> str:
    """Run on the scheduler: it unpickles task graphs, so it must import gradgrader too."""
    return __version__


def cleanup_plugin() -> Any:
    """A worker plugin that closes the process's graders when the worker closes."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class GradgraderCleanup(WorkerPlugin):
        name = "gradgrader-cleanup"

        def teardown(self, worker: Any) -> None:
            close_worker()

    return GradgraderCleanup()

