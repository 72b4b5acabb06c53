"""The TA's side: :class:`ClusterGrader` connects, checks the workers and streams the
results of chunks back as they finish."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gradgrader._version import __version__
from gradgrader.distributed.cluster import (
    DEFAULT_CHUNK,
    DEFAULT_RETRIES,
    ClusterError,
    parse_cluster,
    require_dask,
)
from gradgrader.distributed.packing import pack_assignment, pack_submission
from gradgrader.distributed.worker import (
    cleanup_plugin,
    grade_chunk,
    identity,
    scheduler_version,
    worker_info,
)
from gradgrader.ingest.submission import Submission
from gradgrader.records import failure_result
from gradgrader.result import Result
from gradgrader.rubric import Rubric
from gradgrader.sandbox.layers import weak_refused
from gradgrader.spec import Assignment


def _chunks(items: list[Submission], size: int) -> Iterator[list[Submission]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Flight:
    """The chunks of one ``grade_all`` in flight: what is sent, what came back, what failed.

    A chunk that fails as a whole is sent again one submission at a time (one bad
    submission, or bad luck, costs no one else their result); one that fails alone is
    lost and reported at the end. A submission id is yielded once, the first time."""

    def __init__(self, grader: ClusterGrader, pending: list[Submission], completed: Any) -> None:
        self.grader = grader
        self.wanted = {s.id for s in pending}
        self.seen: set[str] = set()
        self.chunks = _chunks(pending, grader._chunk_for(len(pending)))
        self.singles: deque[list[Submission]] = deque()  # a failed chunk's submissions, one by one
        self.outstanding: dict[Any, tuple[list[Submission], bool]] = {}  # future -> (chunk, is a re-try alone)
        self.failed: list[tuple[list[str], str]] = []
        self.not_sent: list[Result] = []  # submissions that could not be packed for the cluster
        self.completed = completed  # distributed.as_completed
        self.index = 0

    def fill(self) -> None:
        """Send chunks until the window is full (or nothing is left)."""
        g = self.grader
        while len(self.outstanding) < g._window():
            alone = bool(self.singles)
            chunk = self.singles.popleft() if self.singles else next(self.chunks, None)
            if chunk is None:
                return
            packed = []
            for s in chunk:
                try:
                    packed.append(pack_submission(s))
                except Exception as exc:  # noqa: BLE001 - this submission's error result, not the batch's
                    self.not_sent.append(failure_result(g.assignment, g.rubric, s, "sending", exc))
            chunk = [s for s in chunk if s.id in {p["id"] for p in packed}]
            if not packed:
                continue
            fut = g.client.submit(
                grade_chunk, g._payload_future, packed, __version__, g.allow_weak,
                key=f"gradgrader-chunk-{g._token}-{self.index:06d}", retries=g.retries, pure=False,
            )
            self.index += 1
            self.outstanding[fut] = (chunk, alone)
            self.completed.add(fut)

    def unsent(self) -> Iterator[Result]:
        """The error results of submissions that could not be sent."""
        while self.not_sent:
            yield from self._new(self.not_sent.pop(0))

    def results_of(self, fut: Any) -> Iterator[Result]:
        """The results a finished chunk brought back (none if it failed: see the class)."""
        chunk, alone = self.outstanding.pop(fut, ([], True))
        try:
            reply = fut.result()
        except Exception as exc:  # KilledWorker, a chunk that raised after its retries, ...
            if "deserializ" in str(exc):
                raise ClusterError(
                    f"the cluster cannot load this chunk ({type(exc).__name__}: {' '.join(str(exc).split())}); "
                    f"install gradgrader {__version__} on the scheduler and every worker"
                ) from None
            if len(chunk) > 1 and not alone:
                self.singles.extend([s] for s in chunk if s.id not in self.seen)
            else:
                self.failed.append(([s.id for s in chunk], f"{type(exc).__name__}: {exc}"))
            reply = {"results": []}
        finally:
            fut.release()
        if "error" in reply:
            raise ClusterError(reply["error"])
        if reply.get("worker"):
            self.grader.workers_used.add(reply["worker"])
        for obj in reply["results"]:
            result = Result.from_json(obj)
            if result.submission in self.wanted:  # a stray (another run's) is dropped
                yield from self._new(result)

    def _new(self, result: Result) -> Iterator[Result]:
        # a chunk graded twice (a retry raced a lost worker): keep the first
        if result.submission not in self.seen:
            self.seen.add(result.submission)
            yield result

    def cancel(self) -> None:
        if self.outstanding:
            with contextlib.suppress(Exception):
                self.grader.client.cancel(list(self.outstanding))
            self.outstanding.clear()

    def raise_lost(self) -> None:
        """A ClusterError naming the submissions whose chunks were lost, if any."""
        if not self.failed:
            return
        ids = [i for chunk_ids, _ in self.failed for i in chunk_ids if i not in self.seen]
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise ClusterError(
            f"{len(ids)} submission(s) could not be graded on the cluster ({shown}): {self.failed[0][1]}. "
            f"The others have results; run the same command with --resume to grade the rest"
        )


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
                    from gradgrader.grading import usable_cores

                    n = value or usable_cores()
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
                self.client.register_plugin(cleanup_plugin(), name="gradgrader-cleanup")
            self._payload_future = self.client.submit(
                identity, payload, key=f"gradgrader-assignment-{payload['digest'][:16]}-{self._token}", pure=False
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
        flight = _Flight(self, list(submissions), distributed.as_completed())
        try:
            flight.fill()
            yield from flight.unsent()
            for fut in flight.completed:
                yield from flight.results_of(fut)
                if stop():
                    return
                flight.fill()
                yield from flight.unsent()
        finally:
            flight.cancel()
        flight.raise_lost()

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
