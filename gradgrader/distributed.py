"""Grade a class past one machine: chunks of submissions graded on a Dask cluster.

``gradgrader grade DIR ... --cluster ADDRESS`` sends the grading to a Dask scheduler
(``tcp://host:8786``, or a scheduler file ``*.json``); ``--cluster local[:N]`` starts a
:class:`distributed.LocalCluster` of N worker processes (one thread each) to try it out.
Dask is an optional extra: ``pip install 'gradgrader[dask]'``.

What travels, and where it runs:

- The assignment folder (assignment.toml, reference.py, hooks.py, feedback.toml,
  helpers, data files; not its ``samples/``) and the rubric go to the cluster once, as
  bytes (one Dask task holds them, so a lost copy is recomputed, never missing). Each
  worker process writes them into a private temporary folder, loads them with
  :func:`gradgrader.spec.load_assignment` and keeps one :class:`~gradgrader.grading.Grader`
  per assignment (reference outputs and the sandbox's zygote are made once per process).
- Submissions go in chunks, as file CONTENTS (the graded file, plus for a folder
  submission the folder's files up to :data:`FILE_CAP` each and :data:`FOLDER_CAP` in
  all), never as paths the workers may not see. The worker writes a chunk into its
  private folder, rebuilds the submissions with their original ids and ``extra`` and
  grades them with the same Grader and sandbox as local grading: the sandboxed student
  process only ever sees its own staged copy, never the assignment or other students.
- Each chunk returns plain result dicts (``Result.to_json``) whose ``path`` is the
  submission's path on the TA's machine and whose ``sha256`` is that of the bytes sent,
  so ``results.jsonl``, ``--resume`` and ``grades.csv`` are the same as local grading's.

Results stream back as chunks finish (:func:`distributed.as_completed`); the caller
writes each one (``ResultsWriter``) before asking for the next, so a crash of the TA's
machine loses at most the chunks in flight. A chunk whose worker dies is rescheduled by
Dask (up to ``distributed.scheduler.allowed-failures`` times); a chunk that raises is
retried ``retries`` times; a submission id already yielded is never yielded again.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from gradgrader._version import __version__
from gradgrader.errors import ConfigError, GradgraderError, SandboxError
from gradgrader.grading import SECRET_FILE, failure_result
from gradgrader.ingest.submission import IGNORED_DIRS, Submission
from gradgrader.results import Result
from gradgrader.rubric import Rubric, RubricItem
from gradgrader.sandbox.layers import WEAK_REFUSED, weak_refused
from gradgrader.spec import Assignment

DASK_HINT = (
    "grading on a cluster needs Dask, an optional extra: pip install 'gradgrader[dask]' "
    "(or: pip install dask distributed)"
)
DEFAULT_CHUNK = 4  # submissions per Dask task
DEFAULT_RETRIES = 2  # re-runs of a chunk that raised (a lost worker's chunk is rescheduled anyway)
FILE_CAP = 5 << 20  # a student's other files bigger than this are not sent (the graded file always is)
FOLDER_CAP = 20 << 20  # bytes of one student's folder sent (the sandbox's own staging cap)
FOLDER_FILES = 2000  # files of one student's folder sent
ASSIGNMENT_CAP = 64 << 20  # bytes of an assignment folder sent to the cluster
ASSIGNMENT_SKIP = {"samples", *IGNORED_DIRS}


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


# --------------------------------------------------------------------------- packing (client side)


def _rubric_data(rubric: Rubric) -> dict[str, Any]:
    return {
        "assignment": rubric.assignment,
        "source": rubric.source,
        "items": [[i.check_id, i.points, i.partial, i.feedback, list(i.zero_for)] for i in rubric.items.values()],
    }


def _rubric_from(data: dict[str, Any]) -> Rubric:
    items = {
        cid: RubricItem(cid, float(points), bool(partial), feedback, tuple(zero_for))
        for cid, points, partial, feedback, zero_for in data["items"]
    }
    return Rubric(data["assignment"], items, data["source"])


def pack_assignment(assignment: Assignment, rubric: Rubric) -> dict[str, Any]:
    """The assignment folder's files (not ``samples/``) as bytes, and the rubric as data."""
    root = assignment.root
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ASSIGNMENT_SKIP and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            if dirpath == str(root) and name == SECRET_FILE:
                continue  # the course's secret stays here: workers get the seed made with it
            data = path.read_bytes()
            total += len(data)
            if total > ASSIGNMENT_CAP:
                raise ConfigError(
                    f"{root}: the assignment folder holds more than {ASSIGNMENT_CAP >> 20} MiB (samples/ left out); "
                    f"too much to send to every worker"
                )
            files[path.relative_to(root).as_posix()] = data
    rubric_data = _rubric_data(rubric)
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    h.update(repr(rubric_data).encode())
    # The seed the inputs come from, with the course's secret already mixed in (the
    # secret itself never travels): workers generate the inputs local grading would.
    h.update(f"seed {assignment.seed}".encode())
    return {"name": root.name, "files": files, "rubric": rubric_data, "seed": assignment.seed, "digest": h.hexdigest()}


def _folder_files(folder: Path, graded: Path) -> dict[str, bytes]:
    """A student's folder as ``{relative path: bytes}``: no links, no caches, small files
    first come first served up to the caps; the graded file is always there."""
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS and not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path == graded or path.is_symlink() or not path.is_file():
                continue
            try:
                size = path.stat().st_size
                if size > FILE_CAP or total + size > FOLDER_CAP or len(files) >= FOLDER_FILES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            total += len(data)
            files[path.relative_to(folder).as_posix()] = data
    return files


def pack_submission(sub: Submission) -> dict[str, Any]:
    """One submission as data a worker can grade without seeing the TA's disk."""
    item: dict[str, Any] = {
        "id": sub.id,
        "path": str(sub.path or sub.folder or ""),  # what the result's "path" says (as local grading)
        "problem": sub.problem,
        "extra": dict(sub.extra),
        "name": None,  # the graded file, relative to the folder (or its bare name)
        "data": None,
        "files": None,  # the folder's other files, or None for a lone file
        "sha256": "",
        # a notebook's map from the generated module's lines back to its cells, so that
        # messages name cells as in local grading (a small frozen dataclass)
        "notebook": sub.notebook,
    }
    if sub.path is None:
        return item
    try:
        data = sub.path.read_bytes()
    except OSError as exc:
        item["problem"] = f"{sub.path.name} could not be read: {exc.strerror or exc}"
        return item
    item["data"] = data
    item["sha256"] = hashlib.sha256(data).hexdigest()
    folder = sub.folder
    if folder is not None:
        try:
            rel = sub.path.resolve().relative_to(folder.resolve())
        except ValueError:
            folder = None
        else:
            item["name"] = rel.as_posix()
            item["files"] = _folder_files(folder.resolve(), sub.path.resolve())
    if folder is None:
        item["name"] = sub.path.name
    return item


def result_from_json(obj: dict[str, Any]) -> Result:
    """The :class:`Result` whose ``to_json()`` is ``obj`` (a dict a worker sent back)."""
    return Result.from_json(obj)


# --------------------------------------------------------------------------- worker side

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


def _safe_rel(rel: str) -> PurePosixPath:
    p = PurePosixPath(rel)
    if p.is_absolute() or not p.parts or any(part in {"", ".", ".."} for part in p.parts):
        raise ValueError(f"unsafe path {rel!r}")
    return p


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
                target = tmp / _safe_rel(rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            tmp.rename(folder)
        assignment = load_assignment(folder)
        if "seed" in payload:
            assignment = dataclasses.replace(assignment, seed=int(payload["seed"]))
        # Hidden from every sandboxed process: every worker's private folder on this
        # machine (assignment copies, other students' chunks) and Dask's working folders.
        grader = open_grader(assignment, _rubric_from(payload["rubric"]), isolation=iso,
                             hidden=[root.parent, *_dask_local_directory()])
        _graders[key] = grader
        while len(_graders) > MAX_GRADERS:
            _, old = _graders.popitem(last=False)
            with contextlib.suppress(Exception):
                old.close()
        return grader


def _unpack(item: dict[str, Any], where: Path) -> Submission:
    extra = dict(item["extra"])
    notebook = item.get("notebook")
    if item["data"] is None:
        return Submission(item["id"], None, None, item["problem"] or "no file to grade", extra, notebook)
    where.mkdir(parents=True)
    if item["files"] is None:
        path = where / _safe_rel(item["name"]).name
        path.write_bytes(item["data"])
        return Submission(item["id"], path, None, item["problem"], extra, notebook)
    work = where / "work"
    for rel, data in item["files"].items():
        try:
            target = work / _safe_rel(rel)
        except ValueError:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    path = work / _safe_rel(item["name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(item["data"])
    return Submission(item["id"], path, work, item["problem"], extra, notebook)


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
                obj = grader.grade(_unpack(item, folder / f"{i:04d}")).to_json()
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


def _identity(value: Any) -> Any:
    return value


def scheduler_version() -> str:
    """Run on the scheduler: it unpickles task graphs, so it must import gradgrader too."""
    return __version__


def _cleanup_plugin() -> Any:
    """A worker plugin that closes the process's graders when the worker closes."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class GradgraderCleanup(WorkerPlugin):
        name = "gradgrader-cleanup"

        def teardown(self, worker: Any) -> None:
            close_worker()

    return GradgraderCleanup()


# --------------------------------------------------------------------------- client side


def _chunks(items: list[Submission], size: int) -> Iterator[list[Submission]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class ClusterGrader:
    """Grades submissions on a Dask cluster; the same ``grade_all`` as :class:`Grader`.

    ``cluster`` is ``local``/``local:N``, a scheduler address, a scheduler file, or a
    ``distributed.Client`` already connected (left open on close)."""

    def __init__(
        self,
        cluster: Any,
        assignment: Assignment,
        rubric: Rubric,
        chunk_size: int = DEFAULT_CHUNK,
        retries: int = DEFAULT_RETRIES,
        allow_weak: bool = False,
        log: Callable[[str], None] | None = None,
        connect_timeout: float = 20.0,
    ) -> None:
        self.cluster_spec = cluster
        self.assignment, self.rubric = assignment, rubric
        self.chunk_size = max(1, int(chunk_size))
        self.retries = max(0, int(retries))
        self.allow_weak = allow_weak
        self.log = log or (lambda message: None)
        self.connect_timeout = connect_timeout
        self.client: Any = None
        self._local: Any = None  # the LocalCluster we started, if any
        self._own_client = False
        self._payload_future: Any = None
        self._token = uuid.uuid4().hex[:10]
        self.workers_used: set[str] = set()

    # -- connection

    def connect(self) -> ClusterGrader:
        """Reach the scheduler (or start the local cluster) and check the workers. Raises a
        GradgraderError the TA can act on; idempotent."""
        if self.client is not None:
            return self
        distributed = require_dask()
        payload = pack_assignment(self.assignment, self.rubric)
        if isinstance(self.cluster_spec, distributed.Client):
            self.client = self.cluster_spec
            where = f"Dask scheduler {self.client.scheduler.address}"
        else:
            kind, value = parse_cluster(str(self.cluster_spec))
            try:
                if kind == "local":
                    n = value or os.cpu_count() or 1
                    self._local = distributed.LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.ERROR,
                    )
                    self.client = distributed.Client(self._local)
                    where = f"a local Dask cluster of {n} worker process(es)"
                elif kind == "file":
                    self.client = distributed.Client(scheduler_file=value, timeout=self.connect_timeout)
                    where = f"Dask scheduler {self.client.scheduler.address} (from {value})"
                else:
                    self.client = distributed.Client(value, timeout=self.connect_timeout)
                    where = f"Dask scheduler {value}"
            except (OSError, TimeoutError) as exc:
                self.close()
                raise ClusterError(f"cannot reach the Dask scheduler {self.cluster_spec}: {exc}") from None
            self._own_client = True
        try:
            self._preflight(where)
            with contextlib.suppress(Exception):
                self.client.register_plugin(_cleanup_plugin(), name="gradgrader-cleanup")
            self._payload_future = self.client.submit(
                _identity, payload, key=f"gradgrader-assignment-{payload['digest'][:16]}-{self._token}", pure=False
            )
        except BaseException:
            self.close()
            raise
        return self

    def _preflight(self, where: str) -> None:
        """Every worker present now must run this gradgrader version with a usable sandbox
        (workers that join later are checked by each chunk); the scheduler must import the
        same gradgrader (it unpickles the tasks)."""
        try:
            version = self.client.run_on_scheduler(scheduler_version)
        except Exception as exc:
            raise ClusterError(
                f"{where}: the scheduler cannot load gradgrader ({type(exc).__name__}: {exc}). The scheduler "
                f"unpickles tasks: install gradgrader {__version__} (pip install 'gradgrader[dask]=={__version__}') "
                f"where the scheduler runs too"
            ) from None
        if version != __version__:
            raise ClusterError(f"{where}: the scheduler has gradgrader {version}, this machine {__version__}: "
                               f"install the same version on the scheduler and every worker")
        info = self.client.run(worker_info, on_error="return")
        if not info:
            self.log(f"grading on {where}: no workers yet; chunks wait on the scheduler until workers join")
            return
        problems = []
        for addr, got in sorted(info.items()):
            if isinstance(got, BaseException):
                problems.append(f"{addr} cannot run gradgrader ({type(got).__name__}: {got})")
            elif got.get("gradgrader") != __version__:
                problems.append(f"{addr} has gradgrader {got.get('gradgrader')}, this machine {__version__}")
            elif weak_refused(str(got.get("sandbox")), self.allow_weak):
                problems.append(
                    f"{addr} ({got.get('host')}) gives only a weak sandbox (no bubblewrap/Landlock); "
                    f"install bubblewrap there or pass --allow-weak-sandbox"
                )
        if problems:
            raise ClusterError(
                f"{where}: " + "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
                + f". Every worker needs gradgrader {__version__} (pip install 'gradgrader[dask]=={__version__}') and bubblewrap"
            )
        levels = sorted({got["sandbox"] for got in info.values()})
        hosts = {got["host"] for got in info.values()}
        threads = sum(self.client.nthreads().values())
        self.log(
            f"grading on {where}: {len(info)} worker(s) on {len(hosts)} host(s), {threads} thread(s); "
            f"sandbox {'/'.join(levels)}; up to {self.chunk_size} submission(s) per chunk"
        )

    def _threads(self) -> int:
        try:
            return sum(self.client.nthreads().values())
        except Exception:
            return 0

    def _chunk_for(self, n: int) -> int:
        """``chunk_size``, made smaller for a small class so that every worker thread
        gets work (at least two chunks per thread when there are that many submissions)."""
        threads = self._threads()
        if threads <= 0:
            return self.chunk_size
        return max(1, min(self.chunk_size, -(-n // (2 * threads))))

    def _window(self) -> int:
        """Chunks kept in flight: two per worker thread, so no worker waits on this machine."""
        return max(4, 2 * self._threads())

    # -- grading

    def grade_all(self, submissions: Iterable[Submission], stop: Callable[[], bool] = lambda: False) -> Iterator[Result]:
        """Yield one Result per submission as chunks finish (not in input order).

        Stops submitting (and cancels what is queued) once ``stop()`` is true; the
        submissions not yielded are then simply not graded (``--resume`` grades them).
        Raises :class:`ClusterError` at the end if some chunks could not be graded."""
        distributed = require_dask()
        self.connect()
        pending = list(submissions)
        wanted = {s.id for s in pending}
        seen: set[str] = set()
        chunks = _chunks(pending, self._chunk_for(len(pending)))
        singles: deque[list[Submission]] = deque()  # a failed chunk's submissions, one by one
        outstanding: dict[Any, tuple[list[Submission], bool]] = {}  # future -> (chunk, is a re-try alone)
        failed: list[tuple[list[str], str]] = []
        unsent: list[Result] = []  # submissions that could not be packed for the cluster
        ac = distributed.as_completed()
        index = 0

        def fill() -> None:
            nonlocal index
            want = self._window()
            while len(outstanding) < want:
                alone = bool(singles)
                chunk = singles.popleft() if singles else next(chunks, None)
                if chunk is None:
                    return
                packed = []
                for s in chunk:
                    try:
                        packed.append(pack_submission(s))
                    except Exception as exc:  # noqa: BLE001 - this submission's error result, not the batch's
                        unsent.append(failure_result(self.assignment, self.rubric, s, "sending", exc))
                chunk = [s for s in chunk if s.id in {p["id"] for p in packed}]
                if not packed:
                    continue
                fut = self.client.submit(
                    grade_chunk, self._payload_future, packed, __version__, self.allow_weak,
                    key=f"gradgrader-chunk-{self._token}-{index:06d}", retries=self.retries, pure=False,
                )
                index += 1
                outstanding[fut] = (chunk, alone)
                ac.add(fut)

        def drain_unsent() -> Iterator[Result]:
            while unsent:
                result = unsent.pop(0)
                if result.submission not in seen:
                    seen.add(result.submission)
                    yield result

        try:
            fill()
            yield from drain_unsent()
            for fut in ac:
                chunk, alone = outstanding.pop(fut, ([], True))
                try:
                    reply = fut.result()
                except Exception as exc:  # KilledWorker, a chunk that raised after its retries, ...
                    if "deserializ" in str(exc):
                        raise ClusterError(
                            f"the cluster cannot load this chunk ({type(exc).__name__}: {' '.join(str(exc).split())}); "
                            f"install gradgrader {__version__} on the scheduler and every worker"
                        ) from None
                    if len(chunk) > 1 and not alone:
                        # Grade its submissions one by one, so that one bad submission
                        # (or bad luck) costs no one else their result.
                        singles.extend([s] for s in chunk if s.id not in seen)
                    else:
                        failed.append(([s.id for s in chunk], f"{type(exc).__name__}: {exc}"))
                    reply = {"results": []}
                finally:
                    fut.release()
                if "error" in reply:
                    raise ClusterError(reply["error"])
                if reply.get("worker"):
                    self.workers_used.add(reply["worker"])
                for obj in reply["results"]:
                    sid = obj.get("submission")
                    if sid in seen or sid not in wanted:
                        continue  # a chunk graded twice (a retry raced a lost worker): keep the first
                    seen.add(sid)
                    yield result_from_json(obj)
                if stop():
                    return
                fill()
                yield from drain_unsent()
        finally:
            if outstanding:
                with contextlib.suppress(Exception):
                    self.client.cancel(list(outstanding))
                outstanding.clear()
        if failed:
            ids = [i for chunk_ids, _ in failed for i in chunk_ids if i not in seen]
            shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            raise ClusterError(
                f"{len(ids)} submission(s) could not be graded on the cluster ({shown}): {failed[0][1]}. "
                f"The others have results; run the same command with --resume to grade the rest"
            )

    def close(self) -> None:
        if self._payload_future is not None:
            with contextlib.suppress(Exception):
                self._payload_future.release()
            self._payload_future = None
        if self._own_client and self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
        self.client = None
        if self._local is not None:
            with contextlib.suppress(Exception):
                self._local.close()
            self._local = None

    def __enter__(self) -> ClusterGrader:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()


def grade_on_cluster(
    cluster: Any,
    assignment: Assignment,
    rubric: Rubric,
    submissions: Iterable[Submission],
    chunk_size: int = DEFAULT_CHUNK,
    stop: Callable[[], bool] = lambda: False,
    retries: int = DEFAULT_RETRIES,
    allow_weak: bool = False,
    on_result: Callable[[Result], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> Iterator[Result]:
    """Grade ``submissions`` on a Dask cluster; yield each Result as its chunk finishes.

    ``on_result`` (e.g. ``ResultsWriter.write``) is called on each result before it is
    yielded. The cluster is connected on the first ``next()`` and closed (a local one
    shut down) when the iterator ends or is closed."""
    with ClusterGrader(cluster, assignment, rubric, chunk_size, retries, allow_weak, log) as grader:
        for result in grader.grade_all(submissions, stop):
            if on_result is not None:
                on_result(result)
            yield result
