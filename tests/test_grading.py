"""gradgrader/grading.py: the Grader. What grading costs (issue 17): a hang costs one
time-out per function, not one per check; a single worker prestarts its zygote; a worker
process that dies costs only its own submission.

Counts time-outs (the calls the sandbox stopped at their limit, ``Result.timeouts``),
never seconds: the infinite loop always reaches its limit, and the limits here are far above
what the honest functions take (milliseconds), so no verdict depends on the machine's speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import copy_assignment, from_reference, write_submission

from gradgrader.assignment import load_assignment
from gradgrader.grading import Grader
from gradgrader.ingest import Submission
from gradgrader.rubric import resolve_rubric

LOOPING_LOSS = "\n\ndef softmax_loss(W, X, y, reg):\n    while True:\n        pass\n"
LOOPING_JACOBIAN = "\n\ndef softmax_jacobian(z):\n    while True:\n        pass\n"


def _grade(tmp_path: Path, sources: dict[str, str]) -> dict:
    # 2 s per call (as the attack suite): an honest call takes milliseconds.
    root = copy_assignment(tmp_path / "softmax", {"timeout = 10.0": "timeout = 2.0"})
    assignment = load_assignment(str(root))
    subs = [Submission(name, write_submission(tmp_path / name, src), None) for name, src in sources.items()]
    with Grader(assignment, resolve_rubric(assignment), jobs=1) as grader:
        return {r.submission: r for r in grader.grade_all(subs)}


def test_a_hang_costs_one_timeout_per_function(tmp_path: Path) -> None:
    results = _grade(
        tmp_path,
        {"honest": from_reference(), "loops": from_reference() + LOOPING_LOSS, "both": from_reference() + LOOPING_LOSS + LOOPING_JACOBIAN},
    )
    assert results["honest"].timeouts is None
    # softmax_loss has six checks (loss, gradient, self-consistency, sums, stability,
    # training): before issue 17 the prefetch's time-out was forgotten and the checks
    # called again, a second full time-out.
    assert results["loops"].timeouts == 1
    assert results["both"].timeouts == 2  # one per looping function
    for sid in ("loops", "both"):
        loss_checks = [c for c in results[sid].checks if c.id.startswith("softmax_loss.")]
        assert len(loss_checks) == 6
        for c in loss_checks:
            assert c.score == 0 and "timeout" in c.mistakes, (sid, c.id, c.message)
    loops, honest = results["loops"], results["honest"]
    # Every other function keeps exactly the honest submission's verdict.
    for mine, theirs in zip(loops.checks, honest.checks):
        if not mine.id.startswith("softmax_loss."):
            assert (mine.id, mine.score, mine.mistakes) == (theirs.id, theirs.score, theirs.mistakes)


def test_a_hang_is_stopped_at_the_floor_not_the_assignment_limit(tmp_path: Path) -> None:
    from gradgrader.checks.base import CALL_FLOOR_S

    root = copy_assignment(tmp_path / "softmax")  # timeout = 10.0 per call
    assignment = load_assignment(str(root))
    sub = Submission("loops", write_submission(tmp_path / "loops", from_reference() + LOOPING_LOSS), None)
    with Grader(assignment, resolve_rubric(assignment), jobs=1) as grader:
        (result,) = list(grader.grade_all([sub]))
    assert result.timeouts == 1
    loss = next(c for c in result.checks if c.id == "softmax_loss.loss")
    assert f"within {CALL_FLOOR_S:.3g} s" in loss.message, loss.message


def test_a_single_worker_starts_its_zygote_before_it_grades(tmp_path: Path) -> None:
    # `check` overlaps the zygote's start (Python + numpy) with preparing the course.
    root = copy_assignment(tmp_path / "softmax")
    assignment = load_assignment(str(root))
    with Grader(assignment, resolve_rubric(assignment), jobs=1) as grader:
        (box,) = grader._boxes.values()
        assert box._zygote is not None  # launched, hello not awaited yet
        result = grader.grade(Submission("honest", write_submission(tmp_path / "s", from_reference()), None))
        assert result.score == result.max_score
        assert list(grader._boxes.values()) == [box]  # the prestarted one graded it


def test_the_course_is_prepared_while_the_students_process_starts(tmp_path: Path, monkeypatch) -> None:
    # `check` draws the inputs and times the reference while the student's process forks,
    # confines itself and imports the file (#17): after the spawn, before the wait.
    from gradgrader.checks.prepared import Course
    from gradgrader.sandbox.process import StudentProcess
    from gradgrader.sandbox.zygote import Zygote

    events: list[str] = []

    def spy(cls, name: str) -> None:
        real = getattr(cls, name)

        def recorded(self, *args, **kwargs):
            events.append(name)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, recorded)

    spy(Zygote, "spawn")
    spy(Course, "prepare")
    spy(StudentProcess, "_await_load")
    assignment = load_assignment(str(copy_assignment(tmp_path / "softmax")))
    with Grader(assignment, resolve_rubric(assignment), jobs=1) as grader:
        assert grader._sandbox().zygote  # up already: nothing to do while it comes up
        result = grader.grade(Submission("honest", write_submission(tmp_path / "s", from_reference()), None))
        assert set(grader.course._limits) == set(assignment.functions)
    assert result.score == result.max_score
    assert events == ["spawn", "prepare", "_await_load"]


def test_the_course_is_prepared_while_a_zygote_still_comes_up(tmp_path: Path, monkeypatch) -> None:
    # A check's zygote may still be importing numpy when the grader first needs it: the
    # course's share is prepared then, before waiting for its hello (#17).
    from gradgrader.checks.prepared import Course
    from gradgrader.sandbox.zygote import Zygote

    events: list[str] = []
    real_prepare, real_ready = Course.prepare, Zygote.ready

    def prepare(self, cases):
        events.append("prepare")
        return real_prepare(self, cases)

    def ready(self):
        if not self._ready:
            events.append("hello")
        return real_ready(self)

    monkeypatch.setattr(Course, "prepare", prepare)
    monkeypatch.setattr(Zygote, "ready", ready)
    monkeypatch.setattr(Zygote, "starting", lambda self: not self._ready)  # as if numpy were still importing
    assignment = load_assignment(str(copy_assignment(tmp_path / "softmax")))
    with Grader(assignment, resolve_rubric(assignment), jobs=1) as grader:
        result = grader.grade(Submission("honest", write_submission(tmp_path / "s", from_reference()), None))
    assert result.score == result.max_score
    assert events[:2] == ["prepare", "hello"]


@pytest.mark.parametrize(
    ("course", "samples"),
    [
        ("softmax", ["sign-flipped", "correct-float32", "missing-normalization", "unstable-softmax",
                     "loss-gradient-mismatch", "jacobian-missing-diagonal", "correct-vectorized"]),
        ("gmm", ["inverse-not-transposed", "covariance-uses-wrong-mean", "correct-vectorized"]),
    ],
)
def test_warming_the_course_on_its_reference_changes_no_verdict(course: str, samples: list[str], monkeypatch) -> None:
    """While a check's zygote still comes up, the checks run on the reference in-process
    first (#17): the first submission graded after that gets exactly the verdict, the
    messages and the diagnosis it gets without it, whatever it is."""
    from conftest import ROOT, comparable

    import gradgrader.grading as grading
    from gradgrader.sandbox.zygote import Zygote

    warmed: list[int] = []
    real_warm = grading.warm_course
    monkeypatch.setattr(grading, "warm_course", lambda c, checks, until: (warmed.append(1), real_warm(c, checks, until))[1])
    assignment = load_assignment(course)
    rubric = resolve_rubric(assignment)
    results = {}
    for starting in (True, False):
        monkeypatch.setattr(Zygote, "starting", lambda self, starting=starting: starting and not self._ready)
        for sample in samples:  # each the first of its grader: the course's first-time work is its own
            folder = ROOT / "assignments" / course / "samples" / sample
            sub = Submission(sample, folder / assignment.filename, folder)
            with Grader(assignment, rubric, jobs=1) as grader:
                result = comparable(grader.grade(sub))
            # What the student's process printed is its own, not the grader's: float32
            # matmul in OpenBLAS sometimes raises a spurious "invalid value" warning there
            # (seen once in CI on correct-float32, either way), whatever the grader did.
            result.pop("output", None)
            results[starting, sample] = result
    assert len(warmed) == len(samples)  # warmed for every first submission with a zygote starting
    for sample in samples:
        assert results[True, sample] == results[False, sample], sample


def test_warming_the_course_does_its_first_time_work() -> None:
    from gradgrader.checks.prepared import Course
    from gradgrader.grading import warm_course

    assignment = load_assignment("softmax")
    course = Course(assignment)
    warm_course(course, assignment.checks)
    kinds = {key[0] for key in course._derived}
    assert {"self_consistency", "objective_gradient", "train_digits"} <= kinds
    assert course._hooks  # the diagnosis terms every comparison is measured against
    assert set(course._limits) == set(assignment.functions)


def test_warming_the_course_stops_when_asked(monkeypatch) -> None:
    """A check's warm-up ends when its zygote says hello (``until``): the student's
    process then starts at once, and the checks do the course's work left (#17)."""
    import gradgrader.grading as grading
    from gradgrader.checks.prepared import Course

    assignment = load_assignment("softmax")
    ran: list[str] = []
    monkeypatch.setattr(grading, "run_check", lambda check, ctx: ran.append(check.id))
    grading.warm_course(Course(assignment), assignment.checks, until=lambda: len(ran) == 3)
    assert ran == [check.id for check in assignment.checks[:3]]
    ran.clear()
    grading.warm_course(Course(assignment), assignment.checks)
    assert len(ran) == len(assignment.checks)


def test_a_zygote_is_starting_until_its_hello_can_be_read() -> None:
    import socket

    from gradgrader.sandbox.zygote import Zygote

    zygote = Zygote.__new__(Zygote)  # its control socket alone: no process, no timing
    zygote.ctrl, theirs = socket.socketpair()
    zygote._ready = False
    try:
        assert zygote.starting()
        theirs.sendall(b"hello")
        assert not zygote.starting()  # ready() can read it now
        zygote._ready = True
        assert not zygote.starting()
    finally:
        zygote.ctrl.close()
        theirs.close()


def test_a_course_that_fails_while_the_process_starts_is_the_graders_failure_and_stops_the_process(
    tmp_path: Path, monkeypatch
) -> None:
    from gradgrader.checks.prepared import Course
    from gradgrader.sandbox.process import StudentProcess

    closed: list[int] = []
    real_close = StudentProcess.close

    def close(self):
        closed.append(self.pid)
        return real_close(self)

    def broken(self, cases):
        raise RuntimeError("the course broke")

    monkeypatch.setattr(StudentProcess, "close", close)
    monkeypatch.setattr(Course, "prepare", broken)
    assignment = load_assignment(str(copy_assignment(tmp_path / "softmax")))
    with Grader(assignment, resolve_rubric(assignment), jobs=1) as grader:
        assert grader._sandbox().zygote  # up already: the course is prepared once the process is started
        result = grader.grade(Submission("honest", write_submission(tmp_path / "s", from_reference()), None))
    assert result.status == "error" and result.grader_failure is not None
    assert "the course broke" in result.message
    assert len(closed) == 1  # the process it had started


def test_workers_are_pinned_one_per_core_only_with_a_worker_for_every_core(monkeypatch):
    """pinned_cores (#17): with as many workers on every allowed core, the workers take
    the cores in turn; with fewer workers, an uneven count or one core, nobody is pinned."""
    import os

    from gradgrader import grading

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 1}, raising=False)
    assert grading.pinned_cores(2) == [1, 3] and grading.pinned_cores(4) == [1, 3]
    assert grading.pinned_cores(1) is None and grading.pinned_cores(3) is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert grading.pinned_cores(4) is None
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert grading.pinned_cores(4) is None


def test_a_worker_pins_itself_to_the_next_core_in_turn():
    """_worker_init takes the next index from the shared counter and pins the worker (and
    so the sandbox it starts) to that core; checked in forked processes."""
    import multiprocessing
    import os

    from gradgrader import grading

    if not hasattr(os, "sched_getaffinity") or "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs sched_getaffinity and fork")
    allowed = sorted(os.sched_getaffinity(0))
    context = multiprocessing.get_context("fork")
    counter = context.Value("i", 0)
    seen = context.Queue()

    def worker() -> None:
        grading._worker_init(None, allowed, counter)  # type: ignore[arg-type]
        seen.put(sorted(os.sched_getaffinity(0)))

    procs = [context.Process(target=worker) for _ in range(len(allowed) + 1)]  # one core gets two
    for p in procs:
        p.start()
        p.join(30)
    got = sorted(seen.get(timeout=5) for _ in procs)
    assert got == sorted([[c] for c in allowed] + [[allowed[0]]])
    assert os.sched_getaffinity(0) == set(allowed)  # the parent is never pinned


def test_a_worker_and_the_processes_it_starts_run_under_batch_scheduling():
    """_worker_init puts the worker under SCHED_BATCH (#17: an answer from the student's
    process no longer preempts it), and a process it starts (its zygote, and so every
    student's process) inherits the policy; the parent keeps its own."""
    import multiprocessing
    import os
    import subprocess
    import sys

    from gradgrader import grading

    if not hasattr(os, "SCHED_BATCH") or "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs Linux's SCHED_BATCH and fork")
    before = os.sched_getscheduler(0)
    context = multiprocessing.get_context("fork")
    seen = context.Queue()

    def worker() -> None:
        grading._worker_init(None)  # type: ignore[arg-type]
        child = subprocess.run([sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"],
                               capture_output=True, text=True, check=True)
        seen.put((os.sched_getscheduler(0), int(child.stdout)))

    proc = context.Process(target=worker)
    proc.start()
    proc.join(60)
    assert seen.get(timeout=5) == (os.SCHED_BATCH, os.SCHED_BATCH)
    assert os.sched_getscheduler(0) == before  # the parent (a TA's terminal) is never changed


def test_a_worker_collects_cycles_even_when_forked_from_a_parent_that_does_not():
    """`grade`'s parent turns its cyclic collector off while it grades (it keeps only
    plain results); the workers it forks then, which grade hundreds of submissions whose
    failures leave cycles, turn theirs back on. Checked in a forked process."""
    import gc
    import multiprocessing

    from gradgrader import grading

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork")
    context = multiprocessing.get_context("fork")
    seen = context.Queue()

    def worker() -> None:
        before = gc.isenabled()
        try:
            grading._worker_init(None)  # type: ignore[arg-type]
            seen.put((before, gc.isenabled()))
        except BaseException as exc:  # always an answer: the parent waits for one, not for a time
            seen.put(repr(exc))
            raise

    was = gc.isenabled()
    gc.disable()
    try:
        proc = context.Process(target=worker)
        proc.start()
    finally:
        if was:
            gc.enable()
    # Joined first: a child killed by a signal (no answer) fails the test instead of hanging
    # it; after the join its answer is already in the pipe, and get returns at once.
    proc.join()
    answer = seen.get(timeout=30) if proc.exitcode == 0 or not seen.empty() else f"worker died: exit code {proc.exitcode}"
    assert answer == (False, True)


def test_the_default_number_of_jobs_is_the_cores_this_process_may_use(monkeypatch):
    """A container or a batch system may allow fewer cores than the machine has: the
    default --jobs follows the process's affinity, else the machine's count."""
    import os

    from gradgrader import grading

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert grading.usable_cores() == 2
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert grading.usable_cores() == 64
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert grading.usable_cores() == 1


def test_each_worker_has_its_next_submission_queued_while_it_grades(tmp_path: Path) -> None:
    """Two submissions per worker are in flight: a worker that finishes takes the next
    from the pool's queue at once instead of idling while this process collects its
    result, writes it and hands out another (#17). A fake pool that finishes nothing
    until asked: what was handed out before the first result is counted."""
    from concurrent.futures import Future
    from types import SimpleNamespace

    class Pool:
        def __init__(self) -> None:
            self.futures: list[Future] = []

        def submit(self, task, sub):  # noqa: ANN001, ANN202
            fut: Future = Future()
            fut.set_result(task(sub))
            self.futures.append(fut)
            return fut

    pool = Pool()
    assignment = load_assignment(str(copy_assignment(tmp_path / "softmax")))
    subs = [Submission(f"s{i}", tmp_path / f"s{i}.py", None) for i in range(9)]
    with Grader(assignment, resolve_rubric(assignment), jobs=2) as grader:
        graded = grader._pipeline(lambda: pool, lambda sub: SimpleNamespace(id=sub.id, grader_failure=None),
                                  subs, 2, lambda: False)
        first = next(graded)
        assert len(pool.futures) == 4  # 2 workers × (1 graded + 1 queued)
        assert sorted(r.id for r in [first, *graded]) == [f"s{i}" for i in range(9)]
        grader._pool = None  # the fake pool has nothing to shut down
