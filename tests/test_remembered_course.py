"""A student's check remembers the course's own values for the next (checks/remembered.py, #17)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, comparable, copy_assignment

from gradgrader.assignment import load_assignment
from gradgrader.cases import with_secret
from gradgrader.checks.prepared import Course
from gradgrader.checks.remembered import KEEP, RememberedCourse, course_key
from gradgrader.grading import Grader
from gradgrader.ingest import Submission
from gradgrader.rubric import resolve_rubric


def _graded(course: str, sample: str, folder: Path | None) -> tuple[dict, bool]:
    """``sample`` graded by a new grader (the first submission of its process), starting
    from what ``folder`` remembers (``None``: nothing); whether anything was recalled."""
    assignment = load_assignment(course)
    where = ROOT / "assignments" / course / "samples" / sample
    with Grader(assignment, resolve_rubric(assignment), jobs=1) as grader:
        memory = RememberedCourse(grader.course, folder) if folder is not None else None
        recalled = memory.recall() if memory is not None else False
        result = comparable(grader.grade(Submission(sample, where / assignment.filename, where)))
        if memory is not None:
            memory.keep()
    result.pop("output", None)  # the student's process's own (see test_grading's warm-up test)
    return result, recalled


@pytest.mark.parametrize(
    ("course", "samples"),
    [
        ("softmax", ["correct-vectorized", "sign-flipped", "correct-float32", "missing-normalization",
                     "unstable-softmax", "loss-gradient-mismatch"]),
        ("gmm", ["correct-vectorized", "inverse-not-transposed", "covariance-uses-wrong-mean"]),
    ],
)
def test_a_check_from_remembered_values_gets_the_verdict_it_gets_without(course: str, samples: list[str], tmp_path: Path) -> None:
    """Every score, status, message and diagnosis is the same whether the course's values
    were computed in this process or recalled from an earlier check's, whichever
    submission the earlier check was of."""
    remembered_by = samples[1]  # a wrong answer first: what it leaves is the course's alone
    _, recalled = _graded(course, remembered_by, tmp_path)
    assert not recalled and len(list(tmp_path.glob("*.pickle"))) == 1
    for sample in samples:
        fresh, _ = _graded(course, sample, None)
        again, recalled = _graded(course, sample, tmp_path)
        assert recalled
        assert again == fresh, sample


def _remembered(folder: Path) -> RememberedCourse:
    """softmax's inputs of ``softmax`` (and their reference outputs) remembered in ``folder``."""
    course = Course(load_assignment("softmax"))
    course.prepare({"softmax": ["small"]})
    memory = RememberedCourse(course, folder)
    memory.recall()
    memory.keep()
    return memory


def test_recalled_values_are_read_only_copies(tmp_path: Path) -> None:
    first = _remembered(tmp_path).course
    second = Course(first.assignment)
    assert RememberedCourse(second, tmp_path).recall()
    inputs = second.inputs("softmax", "small")
    assert all(not v.flags.writeable and v.flags.owndata for v in inputs.values())
    assert {k: v.tolist() for k, v in inputs.items()} == {k: v.tolist() for k, v in first.inputs("softmax", "small").items()}


def test_the_key_follows_what_the_values_are_computed_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_assignment(tmp_path / "softmax")
    assignment = load_assignment(root)
    key = course_key(assignment)
    assert course_key(load_assignment(root)) == key  # the same course, loaded again
    (root / "samples").mkdir()
    (root / "samples" / "note.txt").write_text("samples are not the course's")
    assert course_key(load_assignment(root)) == key
    assert course_key(with_secret(assignment, "another secret")) != key
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")
    assert course_key(assignment) != key
    monkeypatch.undo()
    hooks = root / "hooks.py"
    hooks.write_text(hooks.read_text() + "\n# edited\n")
    assert course_key(load_assignment(root)) != key


def test_a_large_course_file_is_keyed_by_its_size_and_time_and_a_special_one_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradgrader.checks.remembered import READ_UP_TO, _course_files

    root = copy_assignment(tmp_path / "softmax")
    data = root / "data.npy"
    data.write_bytes(bytes(READ_UP_TO + 1))
    os.mkfifo(root / "pipe")  # reading it would wait for a writer for ever
    assignment = load_assignment(root)
    assert data in _course_files(root) and root / "pipe" not in _course_files(root)
    read: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: (read.append(self), real(self))[1])
    key = course_key(assignment)
    assert data not in read and root / "hooks.py" in read
    os.utime(data, ns=(1, 1))
    assert course_key(assignment) != key


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch " + str(Path.cwd() / "pwned"),))


@pytest.mark.parametrize("content", ["evil", "garbage", "not-a-dict", "wrong-shape", "damaged", "another-course"])
def test_a_file_it_cannot_trust_is_ignored_and_runs_nothing(content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gradgrader.checks.remembered import _sealed

    monkeypatch.chdir(tmp_path)
    course = Course(load_assignment("softmax"))
    key = course_key(course.assignment)
    path = tmp_path / "memory" / f"{key}.pickle"
    path.parent.mkdir()
    good = RememberedCourse(Course(course.assignment), tmp_path / "good")
    good.recall()
    good.course.prepare({"softmax": ["small"]})
    good.keep()
    assert good.path is not None
    sealed = good.path.read_bytes()
    data = {
        # each sealed with this course's key: only the unpickler stands in the way
        "evil": _sealed(pickle.dumps({"inputs": {("softmax", "small"): {"z": _Evil()}}}), key),
        "garbage": _sealed(b"\x80\x05not a pickle", key),
        "not-a-dict": _sealed(pickle.dumps([1, 2, 3]), key),
        "wrong-shape": _sealed(pickle.dumps({"limits": {"softmax": 1.0}, "inputs": {("softmax", "small"): 5}}), key),
        "damaged": sealed[:-40] + bytes(40),
        "another-course": _sealed(sealed.partition(b"\n")[2], "0" * 64),
    }[content]
    path.write_bytes(data)
    memory = RememberedCourse(course, path.parent)
    assert not memory.recall()
    assert not (tmp_path / "pwned").exists()
    assert all(values == {} for values in course.computed().values())
    course.prepare({"softmax": ["small"]})
    memory.keep()  # computed again, and remembered in its place
    assert RememberedCourse(Course(course.assignment), path.parent).recall()


def test_nothing_is_written_when_nothing_is_new_and_old_courses_are_forgotten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradgrader.checks.remembered as remembered

    first = _remembered(tmp_path)
    assignment = first.course.assignment
    writes: list[Path] = []
    monkeypatch.setattr(remembered, "write_atomically", lambda path, data: writes.append(path))
    again = RememberedCourse(Course(assignment), tmp_path)
    again.recall()
    again.keep()
    assert writes == []
    again.course.prepare({"softmax_loss": ["small"]})  # something new: written
    again.keep()
    assert writes == [first.path]
    few = RememberedCourse(Course(assignment), tmp_path)
    assert few.recall()
    few.course.computed()["limits"]["one more"] = 1.0  # a wrong answer's few hook values, say
    few.keep()
    assert writes == [first.path]  # not rewritten for a handful: it would grow every attempt
    monkeypatch.undo()
    for i in range(KEEP + 3):
        (tmp_path / f"old{i}.pickle").write_bytes(b"")
        os.utime(tmp_path / f"old{i}.pickle", ns=(i, i))
    again.course.prepare({"logsumexp": ["small"]})
    again.keep()
    kept = {p.name for p in tmp_path.glob("*.pickle")}
    assert len(kept) == KEEP and first.path.name in kept and "old0.pickle" not in kept


def test_check_remembers_and_grade_does_not(tmp_path: Path) -> None:
    sample = ROOT / "assignments" / "softmax" / "samples" / "correct-vectorized"
    env = {**os.environ, "GRADGRADER_CACHE_DIR": str(tmp_path / "cache")}
    outputs = []
    for _ in range(2):
        run = subprocess.run([sys.executable, "-m", "gradgrader", "check", str(sample / "softmax.py"), "--json"],
                             env=env, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        outputs.append(comparable(__import__("json").loads(run.stdout)))
    assert len(list((tmp_path / "cache" / "courses").glob("*.pickle"))) == 1
    assert outputs[0] == outputs[1]
    env["GRADGRADER_CACHE_DIR"] = str(tmp_path / "grade-cache")
    cls = tmp_path / "class" / "student"
    cls.mkdir(parents=True)
    (cls / "softmax.py").write_text((sample / "softmax.py").read_text())
    run = subprocess.run([sys.executable, "-m", "gradgrader", "grade", str(tmp_path / "class"), "-a", "softmax",
                          "--out", str(tmp_path / "out"), "--quiet"], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "grade-cache" / "courses").exists()


@pytest.mark.parametrize("off", [(), ("landlock",), ("namespaces",)], ids=["all-layers", "namespaces-only", "landlock-only"])
def test_a_student_process_cannot_read_the_cache_folder(off: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check's remembered values hold the reference's outputs: the cache folder is one
    of the folders every sandbox hides (spec.locate.course_folders), as the course's own."""
    import numpy as np
    from conftest import isolation, limited_session, module

    from gradgrader.sandbox import Sandbox
    from gradgrader.spec.locate import course_folders, find_assignment

    iso = isolation(*off)
    if not (iso.has("namespaces") or iso.has("landlock")):
        pytest.skip("this machine has neither layer that hides a folder")
    # No cache folder yet, as on a fresh machine: a first check fills it only after its
    # sandbox has started, so listing the hidden folders makes it.
    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(tmp_path / "cache"))
    root = find_assignment("softmax")  # reads no TOML: nothing is cached yet
    assert not (tmp_path / "cache").exists()
    hidden = course_folders(root)
    assert tmp_path / "cache" in hidden
    secret = tmp_path / "cache" / "courses" / "answers.pickle"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"the reference's outputs")
    path = module(tmp_path / "s", f"""
def f(x):
    try:
        with open({str(secret)!r}, "rb") as handle:
            return [float(len(handle.read()))]
    except OSError:
        return [-1.0]
""")
    with Sandbox(tmp_path / "box", iso, hidden) as box, limited_session(box, path) as session:
        got = session.call("f", [np.zeros(1)], ["v"], 60.0)  # a limit, not a wait: it answers at once
    assert [float(v) for v in got.values[0]] == [-1.0], got


def test_a_course_it_cannot_key_is_graded_without_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever stops the key (an unreadable course file, one it cannot place in the
    folder) only means nothing is remembered: the check goes on, and writes nothing."""
    import gradgrader.checks.remembered as remembered

    def unreadable(assignment: object) -> str:
        raise ValueError("data.npy is not in the subpath of the course's folder")

    monkeypatch.setattr(remembered, "course_key", unreadable)
    memory = RememberedCourse(Course(load_assignment("softmax")), tmp_path)
    assert not memory.recall()
    memory.course.prepare({"softmax": ["small"]})
    memory.keep()
    assert list(tmp_path.iterdir()) == []
