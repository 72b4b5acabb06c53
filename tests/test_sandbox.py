"""What a submission cannot do to the grader (docs/sandbox.md, the guarantees), with small hostile submissions.

Each hostile file is a softmax.py whose logsumexp misbehaves (and whose other functions
raise NotImplementedError). It is graded through a Grader on a copy of the softmax
assignment with short limits (2 s per logsumexp call, 20 s per submission, 384 MiB), and after
each one the same Grader must still give an honest submission full marks.

The first part holds for every sandbox level (process + rlimits); the last part needs
the isolation layers (namespaces, Landlock, seccomp) and is skipped without them.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    FUNCTIONS,
    REFERENCE_SOURCE,
    ROOT,
    SOFTMAX,
    copy_assignment,
    isolation,
    strings,
    write_submission,
)

from gradgrader.assignment import load_assignment
from gradgrader.grading import Grader
from gradgrader.ingest import Submission
from gradgrader.results import CheckRecord, Result, dumps
from gradgrader.rubric import resolve_rubric
from gradgrader.sandbox import ChildLimits, Returned, Sandbox, Session
from gradgrader.sandbox.layers import probe
from gradgrader.sandbox.runner import SAFE_ENV, Problem

CALL_TIMEOUT = 2.0
MEMORY_MB = 384
LOGSUMEXP_CHECKS = {"logsumexp.value", "logsumexp.stable"}
RIGHT = """
m = np.max(z)
return float(m + np.log(np.sum(np.exp(z - m))))
"""
# Every sandbox level this machine offers, weakest last (process + rlimits only).
ALL_LAYERS_OFF = ("namespaces", "landlock", "seccomp")


def hostile(logsumexp: str, prelude: str = "") -> str:
    """A softmax.py: ``prelude`` at import, ``logsumexp`` as the body of logsumexp(z)."""
    rest = "".join(
        f"\n\ndef {name}(*args):\n    raise NotImplementedError\n" for name in FUNCTIONS[1:]
    )
    body = textwrap.indent(textwrap.dedent(logsumexp).strip(), "    ")
    return f"import os\nimport sys\n\nimport numpy as np\n\n{textwrap.dedent(prelude)}\n\ndef logsumexp(z):\n{body}\n{rest}"


@pytest.fixture(scope="module")
def fast_softmax(tmp_path_factory):
    folder = copy_assignment(
        tmp_path_factory.mktemp("assignment") / "softmax",
        {
            # Only logsumexp, the function that misbehaves, gets the short time-out.
            'description = "log Σ_m exp(z_m)"': f'description = "log Σ_m exp(z_m)"\ntimeout = {CALL_TIMEOUT}',
            "budget = 120.0": "budget = 20.0",
            "memory_mb = 1024": f"memory_mb = {MEMORY_MB}",
        },
    )
    return load_assignment(folder)


@pytest.fixture(scope="module")
def control(tmp_path_factory) -> Submission:
    return Submission(
        "control", write_submission(tmp_path_factory.mktemp("control"), REFERENCE_SOURCE), None
    )


@pytest.fixture(scope="module")
def grader(fast_softmax):
    with Grader(fast_softmax, resolve_rubric(fast_softmax)) as g:
        yield g


def grade_then_control(grader: Grader, control: Submission, folder: Path, source: str) -> Result:
    """Grade ``source``; then the honest control must still get full marks."""
    result = grader.grade(Submission("hostile", write_submission(folder, source), None))
    after = grader.grade(control)
    assert after.full_marks and after.mistakes == (), [c for c in after.checks if not c.passed]
    return result


def logsumexp_checks(result: Result) -> dict[str, CheckRecord]:
    return {c.id: c for c in result.checks if c.function == "logsumexp"}


def assert_logsumexp_fails_with(result: Result, mistakes: set[str]) -> None:
    """Graded; both logsumexp checks fail with exactly ``mistakes``; the other functions
    were still called (NotImplementedError), so one bad call did not end the grading."""
    assert result.status == "graded", result.message
    checks = logsumexp_checks(result)
    assert set(checks) == LOGSUMEXP_CHECKS
    for check in checks.values():
        assert not check.passed and check.score == 0.0
        assert set(check.mistakes) == mistakes, check.message
    others = {m for c in result.checks if c.function != "logsumexp" for m in c.mistakes}
    assert others == {"not-implemented"}


def assert_logsumexp_passes(result: Result) -> None:
    assert result.status == "graded", result.message
    checks = logsumexp_checks(result)
    assert set(checks) == LOGSUMEXP_CHECKS and all(c.passed for c in checks.values()), checks


# ----------------------------------------------------------------- time


@pytest.mark.parametrize(
    "body",
    ["while True:\n    pass", "import time\ntime.sleep(10**6)"],
    ids=["busy-loop", "sleep"],
)
def test_call_that_never_returns_is_a_timeout(grader, control, tmp_path, body):
    result = grade_then_control(grader, control, tmp_path, hostile(body))
    assert_logsumexp_fails_with(result, {"timeout"})
    assert "did not finish" in logsumexp_checks(result)["logsumexp.value"].message


# ----------------------------------------------------------------- exits and crashes


@pytest.mark.parametrize(
    "body",
    [
        "sys.exit()",
        "sys.exit(0)",
        "raise SystemExit(0)",
        "os._exit(0)",
        "os._exit(3)",
        "raise KeyboardInterrupt",
        "os.abort()",
    ],
)
def test_exiting_in_a_call_is_a_crash_and_scores_nothing(grader, control, tmp_path, body):
    result = grade_then_control(grader, control, tmp_path, hostile(body))
    assert_logsumexp_fails_with(result, {"crashed"})


def test_process_that_kills_itself_is_a_crash_not_a_timeout(grader, control, tmp_path):
    result = grade_then_control(
        grader, control, tmp_path, hostile("import signal\nos.kill(os.getpid(), signal.SIGKILL)")
    )
    assert_logsumexp_fails_with(result, {"crashed"})


@pytest.mark.parametrize(
    "prelude",
    ["sys.exit()", "sys.exit(0)", "os._exit(0)", "os._exit(3)", "raise KeyboardInterrupt"],
)
def test_exiting_at_import_is_a_load_error(grader, control, tmp_path, prelude):
    result = grade_then_control(grader, control, tmp_path, hostile(RIGHT, prelude))
    assert result.status == "error"
    assert result.checks == () and result.score == 0.0
    assert "imported" in result.message


def test_segfault_in_a_call_is_a_crash(grader, control, tmp_path):
    result = grade_then_control(
        grader, control, tmp_path, hostile("import ctypes\nreturn float(ctypes.string_at(0)[0])")
    )
    assert_logsumexp_fails_with(result, {"crashed"})
    assert "segmentation fault" in logsumexp_checks(result)["logsumexp.value"].message


def test_segfault_at_import_is_a_load_error(grader, control, tmp_path):
    result = grade_then_control(
        grader, control, tmp_path, hostile(RIGHT, "import ctypes\nctypes.string_at(0)")
    )
    assert result.status == "error" and "segmentation fault" in result.message


@pytest.mark.parametrize(
    "body",
    [
        # Address space, not touched pages, is what the limit counts: untouched blocks
        # reach it in a few steps, so the bomb is stopped long before the time-out.
        "hoard = []\nwhile True:\n    hoard.append(np.empty(10**7))",
        "hoard = []\nwhile True:\n    hoard.append(bytes(10**7))",
        "return float(np.ones(1 << 40).sum())",
    ],
    ids=["numpy-hoard", "bytes-hoard", "one-huge-array"],
)
def test_memory_bomb_is_stopped_and_the_grader_survives(grader, control, tmp_path, body):
    result = grade_then_control(grader, control, tmp_path, hostile(body))
    assert result.status == "graded"
    for check in logsumexp_checks(result).values():
        assert not check.passed
        assert check.mistakes and set(check.mistakes) <= {"memory-limit", "crashed"}, check.message


def test_reading_stdin_fails_at_once_instead_of_hanging(grader, control, tmp_path):
    result = grade_then_control(grader, control, tmp_path, hostile("return float(input())"))
    assert_logsumexp_fails_with(result, {"crashed"})
    assert "EOFError" in logsumexp_checks(result)["logsumexp.value"].message


# ----------------------------------------------------------------- output


def test_megabytes_of_output_are_truncated_and_the_file_is_still_graded(grader, control, tmp_path):
    body = 'sys.stdout.write("x" * 1_000_000)\nsys.stderr.write("y" * 1_000_000)\n' + RIGHT
    result = grade_then_control(grader, control, tmp_path, hostile(body, 'print("z" * 1_000_000)'))
    assert_logsumexp_passes(result)
    cap = grader.course.assignment.limits.output_kb << 10
    assert cap < len(result.output) < cap + 200
    assert "more bytes of output not kept" in result.output


ESC = "\x1b"
CONTROL_CHARS = ["\x1b", "\x9b", "\x07", "\x08", "\r", "\x00"]
ANSI_PRELUDE = r"""
print("\x1b[2J\x1b[31mred\x1b]0;title\x07\r\x08 \x9b31m")
sys.stdout.flush()
sys.stdout.buffer.write(b"\xff\xfe\x1b[5m\x9b2J\n")
sys.stdout.flush()
"""


@pytest.mark.parametrize(
    "source",
    [
        hostile('raise ValueError("\\x1b[2J\\x1b]0;pwned\\x07\\r\\x9b31m")', ANSI_PRELUDE),
        hostile(f"raise ValueError('boom')  # {ESC}[2J in the source line"),
        hostile(
            'class Evil(Exception):\n    pass\nEvil.__name__ = Evil.__qualname__ = "\\x1b[2J"\nraise Evil("\\x1b[31m")'
        ),
        hostile('class Odd:\n    pass\nOdd.__qualname__ = "\\x1b[2JOdd"\nreturn Odd()'),
        hostile(RIGHT, ANSI_PRELUDE + '\nraise RuntimeError("\\x1b[2J at import")'),
        hostile(RIGHT, f"x = 1 +  # {ESC}[2J syntax error"),
    ],
    ids=[
        "printed-and-raised",
        "source-line",
        "exception-type",
        "returned-type",
        "import-error",
        "syntax-error",
    ],
)
def test_terminal_escapes_never_reach_the_result(grader, control, tmp_path, source):
    result = grade_then_control(grader, control, tmp_path, source)
    obj = json.loads(dumps(result))
    for text in strings(obj):
        for char in CONTROL_CHARS:
            assert char not in text, (char, text[:200])
    assert result.output or result.message or any(not c.passed for c in result.checks)


# ----------------------------------------------------------------- returned values


LIARS = {
    "eq-and-array-lie": """
        class Liar:
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = None
            def __array__(self, dtype=None, copy=None):
                return np.zeros(())
            def __float__(self):
                return 0.0
        return Liar()
    """,
    "ndarray-subclass": """
        class Sneaky(np.ndarray):
            def __eq__(self, other):
                return np.ones(np.shape(other), bool)
            def __sub__(self, other):
                return np.zeros(np.shape(other))
            __rsub__ = __sub__
            def __abs__(self):
                return np.zeros(self.shape)
            def __array_ufunc__(self, *args, **kwargs):
                return np.zeros(())
        return np.array(123.0).view(Sneaky)
    """,
    "float-subclass": """
        class F(float):
            def __eq__(self, other):
                return True
            def __sub__(self, other):
                return 0.0
            __rsub__ = __sub__
            __hash__ = float.__hash__
        return F(0.0)
    """,
}


@pytest.mark.parametrize("body", LIARS.values(), ids=LIARS.keys())
def test_objects_that_lie_about_equality_are_judged_by_their_numbers(
    grader, control, tmp_path, body
):
    result = grade_then_control(grader, control, tmp_path, hostile(body))
    assert result.status == "graded"
    for check in logsumexp_checks(result).values():
        assert not check.passed and check.score == 0.0, check


@pytest.mark.parametrize(
    "body",
    [
        'return "3.14"',
        "return None",
        'return {"lse": 1.0}',
        "return [1.0, 2.0]",
        "return 1 + 2j",
        """
        class NoNumbers:
            def __eq__(self, other):
                return True
            __hash__ = None
            def __float__(self):
                raise RuntimeError("no")
        return NoNumbers()
        """,
        """
        class Raises:
            def __array__(self, dtype=None, copy=None):
                raise RuntimeError("nope")
        return Raises()
        """,
        "return np.zeros(10**7)",
    ],
    ids=[
        "string",
        "none",
        "dict",
        "list-of-two",
        "complex",
        "no-numbers",
        "array-raises",
        "64-MiB",
    ],
)
def test_values_that_are_not_one_number_are_a_wrong_shape(grader, control, tmp_path, body):
    result = grade_then_control(grader, control, tmp_path, hostile(body))
    assert_logsumexp_fails_with(result, {"wrong-shape"})


def test_huge_zero_stride_view_is_refused_without_harm(grader, control, tmp_path):
    result = grade_then_control(
        grader, control, tmp_path, hostile("return np.broadcast_to(np.float64(0.0), (10**9,))")
    )
    assert result.status == "graded"
    for check in logsumexp_checks(result).values():
        assert (
            not check.passed
            and check.mistakes
            and set(check.mistakes) <= {"wrong-shape", "memory-limit"}
        )


def test_mutating_the_arguments_does_not_affect_later_checks(grader, control, tmp_path):
    body = """
    m = np.max(z)
    out = float(m + np.log(np.sum(np.exp(z - m))))
    z *= 1e6
    z[...] = np.nan
    return out
    """
    assert_logsumexp_passes(grade_then_control(grader, control, tmp_path, hostile(body)))


def test_monkeypatching_numpy_and_builtins_cannot_make_a_wrong_answer_pass(
    grader, control, tmp_path
):
    prelude = """
    import builtins
    np.allclose = lambda *a, **k: True
    np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
    np.testing.assert_allclose = lambda *a, **k: None
    np.linalg.norm = lambda *a, **k: 0.0
    builtins.abs = lambda x: 0
    builtins.float = lambda x=0: 0.0
    """
    result = grade_then_control(
        grader, control, tmp_path, hostile("return np.float64(-1.0)", prelude)
    )
    assert result.status == "graded"
    for check in logsumexp_checks(result).values():
        assert not check.passed and check.score == 0.0


# ----------------------------------------------------------------- forged replies


def _forged_npy(header: str, body: bytes = b"") -> str:
    """A prelude that makes the child's encoder (``_child._npy``, reachable as
    __main__.child._npy from student code) send these bytes instead of the real array."""
    return f"""
import __main__


def _forged(arr):
    h = {header!r}
    h += " " * (64 - (10 + len(h) + 1) % 64) + "\\n"
    return b"\\x93NUMPY\\x01\\x00" + len(h).to_bytes(2, "little") + h.encode("latin1") + {body!r}


__main__.child._npy = _forged
"""


@pytest.mark.parametrize(
    "header, body",
    [
        ("{'descr': '|O', 'fortran_order': False, 'shape': (), }", b"\x80\x04\x95"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (1 << 40,), }", b"\0" * 8),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", b"\0" * 4),
    ],
    ids=["pickled-object", "huge-shape", "short-data"],
)
def test_forged_arrays_are_refused(grader, control, tmp_path, header, body):
    result = grade_then_control(
        grader, control, tmp_path, hostile(RIGHT, _forged_npy(header, body))
    )
    assert_logsumexp_fails_with(result, {"wrong-shape"})


def test_forged_empty_array_with_a_huge_dimension_is_refused(grader, control, tmp_path):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 9223372036854775807), }"
    result = grade_then_control(grader, control, tmp_path, hostile(RIGHT, _forged_npy(header)))
    assert_logsumexp_fails_with(result, {"wrong-shape"})


def test_forged_deeply_nested_message_is_a_crash_not_a_grader_error(grader, control, tmp_path):
    body = """
    import gc
    import socket
    import struct
    sock = next(o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() >= 0)
    nested = b"[" * 200_000
    sock.sendall(struct.pack("<II", len(nested), 0) + nested)
    return 0.0
    """
    result = grade_then_control(grader, control, tmp_path, hostile(body))
    assert_logsumexp_fails_with(result, {"crashed"})


# ----------------------------------------------------------------- processes


def _processes_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                pass
    return found


DAEMON = """
import ctypes
import signal
import time

MARK = {mark!r}


def _daemonise():
    try:
        pid = os.fork()
    except OSError as exc:
        print("FORK-DENIED", exc)
        return
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(15, MARK.encode(), 0, 0, 0)  # PR_SET_NAME
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                while True:
                    time.sleep(0.05)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    print("FORKED")
"""


@pytest.mark.parametrize(
    "off",
    [(), ("seccomp",), ("seccomp", "namespaces"), ALL_LAYERS_OFF],
    ids=["all-layers", "no-seccomp", "no-seccomp-no-namespaces", "process-and-rlimits-only"],
)
def test_daemonised_grandchild_is_dead_after_grading(fast_softmax, control, tmp_path, off):
    mark = "gg" + uuid.uuid4().hex[:12]  # a process name (comm) of at most 15 characters
    source = hostile("_daemonise()\n" + RIGHT, DAEMON.format(mark=mark))
    iso = isolation(*off)
    with Grader(fast_softmax, resolve_rubric(fast_softmax), isolation=iso) as g:
        result = grade_then_control(g, control, tmp_path, source)
        assert _processes_named(mark) == []
    assert_logsumexp_passes(result)
    if not iso.has("seccomp"):
        assert "FORKED" in result.output  # the daemon really was started


@pytest.mark.parametrize(
    "off", [(), ALL_LAYERS_OFF], ids=["all-layers", "process-and-rlimits-only"]
)
def test_grader_environment_is_not_passed_to_the_submission(monkeypatch, tmp_path, off):
    monkeypatch.setenv("GRADGRADER_TEST_SECRET", "hunter2")
    source = hostile(
        'return float(len(os.environ.get("GRADGRADER_TEST_SECRET", "")))',
        'print("ENV=" + ",".join(sorted(os.environ)))',
    )
    path = write_submission(tmp_path / "student", source)
    with (
        Sandbox(tmp_path / "scratch", isolation(*off)) as box,
        Session(
            box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=30
        ) as session,
    ):
        got = session.call("logsumexp", [np.zeros(3)], ["lse"], 5.0)
        assert isinstance(got, Returned) and float(got.values[0]) == 0.0
    # After close: the output is read by a thread, complete once the process is reaped.
    env = next(line for line in session.output().splitlines() if line.startswith("ENV="))
    names = set(env[4:].split(","))
    assert "GRADGRADER_TEST_SECRET" not in names
    # Nothing of the grader's own environment but the safe list (HOME and TMPDIR the
    # child sets itself, to its scratch folder).
    leaked = names & (set(os.environ) - set(SAFE_ENV) - {"HOME", "TMPDIR"})
    assert not leaked, sorted(names)
    # Exactly the safe list and those two: nothing of the zygote's own either (#17: the
    # child now changes only what differs from the zygote's environment).
    assert names == set(SAFE_ENV) | {"HOME", "TMPDIR"}, sorted(names)


@pytest.mark.parametrize(
    "off", [(), ALL_LAYERS_OFF], ids=["all-layers", "process-and-rlimits-only"]
)
def test_submission_runs_in_a_scratch_folder_that_is_removed_afterwards(tmp_path, off):
    path = write_submission(tmp_path / "student", hostile(RIGHT, 'print("CWD=" + os.getcwd())'))
    scratch_root = tmp_path / "scratch"
    with Sandbox(scratch_root, isolation(*off)) as box:
        with Session(
            box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=30
        ) as session:
            assert session.load.ok
        # After close: the output is read by a thread, complete once the process is reaped.
        cwd = next(line[4:] for line in session.output().splitlines() if line.startswith("CWD="))
        assert Path(cwd).is_relative_to(scratch_root)
        assert Path(cwd) != Path.cwd() and Path(cwd) != path.parent
        assert not Path(cwd).exists()


def test_output_printed_before_a_reply_is_there_when_the_reply_is(tmp_path, monkeypatch):
    """What a submission printed (even without a newline, even if the grader's reader
    thread is slow) is in ``output()`` as soon as the call that printed it has returned."""
    import gradgrader.sandbox.process as process

    original = process._Drain.run

    def slow_start(self):  # the reader thread starts late: the bytes wait in the pipe
        import time

        time.sleep(0.2)
        original(self)

    monkeypatch.setattr(process._Drain, "run", slow_start)
    source = hostile('print("IN-CALL", end="")\nreturn 0.0', 'print("AT-LOAD", end="")')
    path = write_submission(tmp_path / "student", source)
    with (
        Sandbox(tmp_path / "scratch", isolation()) as box,
        Session(box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=30) as session,
    ):
        assert session.load.ok
        assert "AT-LOAD" in session.output()
        got = session.call("logsumexp", [np.zeros(3)], ["lse"], 5.0)
        assert isinstance(got, Returned)
        assert "IN-CALL" in session.output()


@pytest.mark.parametrize(
    "off", [(), ALL_LAYERS_OFF], ids=["all-layers", "process-and-rlimits-only"]
)
def test_submission_inherits_no_descriptor_but_its_socket(tmp_path, off):
    """The zygote keeps descriptors open for every child (Landlock's prepared paths):
    none of them, nor anything else of the grader's, is open when the submission runs."""
    prelude = """
    held = []
    for fd in range(3, 4096):
        try:
            os.fstat(fd)
            held.append(fd)
        except OSError:
            pass
    print("HELD=" + str(len(held)))
    """
    path = write_submission(tmp_path / "student", hostile(RIGHT, prelude))
    with (
        Sandbox(tmp_path / "scratch", isolation(*off)) as box,
        Session(box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=30) as session,
    ):
        assert session.load.ok, session.load
    held = next(line for line in session.output().splitlines() if line.startswith("HELD="))
    assert held == "HELD=1"  # the socket to the grader


# ----------------------------------------------------------------- isolation layers

LEVEL = probe()
needs_strong = pytest.mark.skipif(
    LEVEL.level != "strong", reason=f"needs every sandbox layer; this machine has {LEVEL.summary()}"
)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """A class folder with another student's file, and a sandbox that hides it as `grade` does."""
    root = tmp_path_factory.mktemp("classroom")
    other = write_submission(root / "class" / "bob", "# bob's answer: SECRET-ANSWER-42\n")
    scratch = root / "scratch"
    scratch.mkdir()
    with Sandbox(scratch, LEVEL, [ROOT / "assignments", ROOT / "rubrics", root / "class"]) as box:
        yield box, root, other


def run_in_classroom(classroom, body: str, prelude: str = "") -> float:
    """The number logsumexp(zeros(3)) returns in the classroom's sandbox."""
    box, root, _ = classroom
    path = write_submission(
        root / "class" / f"alice-{uuid.uuid4().hex[:8]}", hostile(body, prelude)
    )
    with Session(
        box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=30
    ) as session:
        assert session.load.ok, session.load.problem
        got = session.call("logsumexp", [np.zeros(3)], ["lse"], 10.0)
    assert isinstance(got, Returned), got
    return float(got.values[0])


def _attempt(code: str) -> str:
    """A logsumexp body: 1.0 if ``code`` runs without an exception, else 0.0."""
    return f"try:\n{textwrap.indent(textwrap.dedent(code).strip(), '    ')}\nexcept Exception:\n    return 0.0\nreturn 1.0"


@needs_strong
def test_submission_can_write_in_its_scratch_folder(classroom):
    assert run_in_classroom(classroom, _attempt('open("notes.txt", "w").write("mine")')) == 1.0


@needs_strong
@pytest.mark.parametrize(
    "code",
    [
        f"open({str(SOFTMAX / 'reference.py')!r}).read()",
        f"os.listdir({str(SOFTMAX)!r})",
        "import gradgrader.spec",
    ],
    ids=["read-reference", "list-assignment-folder", "import-gradgrader"],
)
def test_submission_cannot_reach_the_reference_solution(classroom, code):
    assert run_in_classroom(classroom, _attempt(code)) == 0.0


@needs_strong
def test_submission_cannot_read_other_students_files(classroom):
    _, _, other = classroom
    assert (
        run_in_classroom(classroom, _attempt(f"assert 'SECRET' in open({str(other)!r}).read()"))
        == 0.0
    )


@needs_strong
def test_submission_cannot_write_outside_its_scratch_folder(classroom, tmp_path):
    target = tmp_path / "escaped.txt"
    assert run_in_classroom(classroom, _attempt(f"open({str(target)!r}, 'w').write('x')")) == 0.0
    assert not target.exists()


@needs_strong
def test_submission_cannot_connect_to_the_network(classroom):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\ns.sendall(b'x')"
        assert run_in_classroom(classroom, _attempt(code)) == 0.0
        with pytest.raises(BlockingIOError):
            server.accept()


@needs_strong
@pytest.mark.parametrize(
    "code",
    [
        f"os.kill({os.getpid()}, 0)",
        f"open('/proc/{os.getpid()}/environ', 'rb').read()",
        "if os.fork() == 0:\n    os._exit(0)",
    ],
    ids=["signal-grader", "read-grader-environ", "fork"],
)
def test_submission_cannot_touch_the_grader_process(classroom, code):
    assert run_in_classroom(classroom, _attempt(code)) == 0.0


# ----------------------------------------------------------------- the call memo


def test_memo_key_follows_the_bytes_of_a_writeable_array():
    from gradgrader.sandbox.session import call_key

    a = np.arange(6.0)
    before = call_key("f", [a])
    a[0] = 42.0
    assert call_key("f", [a]) != before


def test_memo_key_of_a_frozen_array_is_its_content_and_is_remembered(monkeypatch):
    import gradgrader.callkey as callkey
    from gradgrader.cases import freeze

    a = freeze(np.arange(6.0))
    assert call_key_of(a) == call_key_of(np.arange(6.0))  # same bytes, same key
    hashed = []
    monkeypatch.setattr(callkey, "array_digest", lambda x: hashed.append(x) or b"d")
    b = freeze(np.arange(7.0))
    callkey.call_key("f", [b])
    callkey.call_key("f", [b])
    assert len(hashed) == 1  # hashed once, then remembered
    with pytest.raises(ValueError):
        b[0] = 1.0  # and it cannot change behind the memo's back


def call_key_of(a):
    from gradgrader.sandbox.session import call_key

    return call_key("f", [a])


def test_course_inputs_are_shared_read_only_arrays():
    from gradgrader.checks.base import Course

    course = Course(load_assignment("softmax"))
    first, second = course.inputs("softmax_loss", "small"), course.inputs("softmax_loss", "small")
    assert first is not second and first["X"] is second["X"]
    with pytest.raises(ValueError):
        first["X"][0, 0] = 1.0


def test_output_cap_holds_for_the_whole_submission_across_restarts(tmp_path):
    """A process that dies is restarted (and prints again at import): the cap on
    kept output is for the submission, not for each process run."""
    source = hostile("os._exit(3)", 'print("q" * 800)')
    path = write_submission(tmp_path / "student", source)
    with (
        Sandbox(tmp_path / "scratch", isolation()) as box,
        Session(
            box, path, "softmax", ["logsumexp", "softmax"], ChildLimits(memory_mb=MEMORY_MB), budget=30, output_cap=1000
        ) as session,
    ):
        assert session.call("logsumexp", [np.zeros(3)], ["lse"], 5.0).kind == "crashed"
        session.call("softmax", [np.zeros((2, 3))], ["S"], 5.0)  # restarts the process
        assert session.restarts == 1
    output = session.output()
    # 801 bytes (with the newline) from the first run, the 199 left of the cap from the
    # second; its other 602 are counted, not kept.
    assert output.count("q") == 999
    assert output.count("more bytes of output not kept") == 1 and "602 more bytes" in output


def test_a_zygote_that_never_says_hello_is_stopped_and_reported(tmp_path, monkeypatch):
    """Start-up that hangs (here: a stand-in that prints and sleeps) ends in a clear
    SandboxError with what the process printed, not in a grader that waits forever."""
    import time

    import gradgrader.sandbox.zygote as zygote
    from gradgrader.errors import SandboxError

    stuck = tmp_path / "stuck.py"
    stuck.write_text("import sys, time\nsys.stderr.write('stuck in start-up\\n'); sys.stderr.flush()\ntime.sleep(300)\n")
    monkeypatch.setattr(zygote, "ZYGOTE", stuck)
    monkeypatch.setattr(zygote.Zygote, "HELLO_TIMEOUT", 1.0)
    (tmp_path / "scratch").mkdir()
    start = time.monotonic()
    with pytest.raises(SandboxError, match="stuck in start-up"):
        zygote.Zygote(tmp_path / "scratch", isolation(*ALL_LAYERS_OFF).has("namespaces"), [])
    assert time.monotonic() - start < 30


def test_a_reply_trickled_byte_by_byte_still_times_out(tmp_path):
    """The call's time limit is a deadline for the whole reply: a submission that writes
    to the grader's socket itself, one byte just inside each read's time-out, is stopped."""
    import time

    body = """
    import socket, stat, struct, time
    for fd in range(3, 4096):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                break
        except OSError:
            pass
    sock = socket.socket(fileno=fd)
    sock.sendall(struct.pack("<II", 1000, 0))
    for _ in range(100):
        sock.sendall(b" ")
        time.sleep(0.3)
    return 0.0
    """
    path = write_submission(tmp_path / "student", hostile(body))
    with (
        Sandbox(tmp_path / "scratch", isolation()) as box,
        Session(box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=60) as session,
    ):
        start = time.monotonic()
        got = session.call("logsumexp", [np.zeros(3)], ["lse"], 1.0)
        assert got.kind == "timeout", got
        assert time.monotonic() - start < 10


HANGS_ON_SIZE_4 = """
if z.size == 4:
    while True:
        pass
return float(z.size)
"""

CRASHES_ON_SIZE_4 = """
if z.size == 4:
    os._exit(3)
return float(z.size)
"""


def test_calls_sent_together_keep_the_replies_before_one_that_hangs(tmp_path):
    """Each call of a batch has its own time limit and its own reply: the call before
    a hanging one is kept, the hanging one times out, the one after is not run."""
    path = write_submission(tmp_path / "student", hostile(HANGS_ON_SIZE_4))
    with (
        Sandbox(tmp_path / "scratch", isolation()) as box,
        Session(box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=60) as session,
    ):
        first, hang, after = session.call_many("logsumexp", [[np.zeros(3)], [np.zeros(4)], [np.zeros(5)]], ["lse"], 1.0)
        assert isinstance(first, Returned) and float(first.values[0]) == 3.0
        assert hang.kind == "timeout" and "within 1 s" in hang.message
        assert after.kind == "timeout" and after.message.startswith("not run: an earlier call of logsumexp")


def test_prefetch_keeps_what_returned_and_a_timeout_stays_sticky(tmp_path):
    """Issue 17: a hang costs one time-out per function. The prefetch's time-out is not
    forgotten (the checks would otherwise call again and wait a second time-out)."""
    path = write_submission(tmp_path / "student", hostile(HANGS_ON_SIZE_4))
    with (
        Sandbox(tmp_path / "scratch", isolation()) as box,
        Session(box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=60) as session,
    ):
        session.prefetch("logsumexp", [[np.zeros(3)], [np.zeros(4)], [np.zeros(5)]], ["lse"], 1.0)
        calls = session.calls
        assert session.timeouts == 1
        assert isinstance(session.call("logsumexp", [np.zeros(3)], ["lse"], 1.0), Returned)
        assert session.calls == calls  # kept: answered from the memo
        for size in (4, 5):  # the one that hung, and one the prefetch did not reach
            got = session.call("logsumexp", [np.zeros(size)], ["lse"], 1.0)
            assert isinstance(got, Problem) and got.kind == "timeout", got
        assert "timed out earlier" in got.message
        assert session.calls == calls and session.timeouts == 1  # not called again


def test_prefetch_leaves_the_rest_to_the_checks_after_a_crash(tmp_path):
    """A crash costs no time-out: the cases after it still get their own call."""
    path = write_submission(tmp_path / "student", hostile(CRASHES_ON_SIZE_4))
    with (
        Sandbox(tmp_path / "scratch", isolation()) as box,
        Session(box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=60) as session,
    ):
        session.prefetch("logsumexp", [[np.zeros(3)], [np.zeros(4)], [np.zeros(5)]], ["lse"], 1.0)
        calls = session.calls
        assert isinstance(session.call("logsumexp", [np.zeros(3)], ["lse"], 1.0), Returned)
        assert session.calls == calls  # kept: answered from the memo
        got = session.call("logsumexp", [np.zeros(5)], ["lse"], 1.0)  # not run by the prefetch
        assert isinstance(got, Returned) and float(got.values[0]) == 5.0
        assert session.calls == calls + 1


# ----------------------------------------------------------------- scratch disk without namespaces

DISK_FILL = """
chunk = b"x" * (4 << 20)
for i in range(500):  # 2 GiB in 8 MiB files, unless stopped
    with open(f"fill-{i}.bin", "wb") as f:
        f.write(chunk)
        f.write(chunk)
return 0.0
"""

MANY_FILES = """
for i in range(100_000):
    open(f"f{i}", "wb").close()
return 0.0
"""


DEEP_FILL = """
for _ in range(20):  # a path too long for path-based walking
    name = "d" * 250
    os.mkdir(name)
    os.chdir(name)
""" + DISK_FILL

HIDDEN_FILL = """
os.mkdir("hidden")
with open("hidden/x.bin", "wb") as f:
    f.write(b"x" * 1000)
os.chmod("hidden", 0o300)  # writable, not listable
""" + DISK_FILL.replace('f"fill-{i}.bin"', 'f"hidden/fill-{i}.bin"')

UNLINKED_FILL = """
kept = []
for i in range(40):  # 8 MiB each, deleted at once but held open
    f = open(f"u{i}", "wb")
    f.write(b"x" * (8 << 20))
    f.flush()
    os.unlink(f"u{i}")
    kept.append(f)
import time
while True:  # held open until stopped: the watcher's catch does not race the reply
    time.sleep(0.01)
"""


@pytest.mark.parametrize(
    "body, why",
    [
        (DISK_FILL, "wrote more than 32 MiB into its scratch folder"),
        (MANY_FILES, "created more than 4096 files"),
        (DEEP_FILL, "wrote more than 32 MiB into its scratch folder"),
        (HIDDEN_FILL, "scratch folder"),
        (UNLINKED_FILL, "wrote more than 32 MiB into its scratch folder"),
    ],
    ids=["bytes", "files", "deep-paths", "unreadable-folder", "deleted-but-open"],
)
def test_without_namespaces_the_zygote_stops_a_submission_that_fills_its_scratch(tmp_path, monkeypatch, body, why):
    """No bubblewrap, so no size-capped tmpfs: the zygote measures the scratch folder
    while the child runs and kills it past the cap (here lowered to 32 MiB)."""
    import gradgrader.sandbox.staging as staging

    monkeypatch.setattr(staging, "SCRATCH_CAP", 32 << 20)
    path = write_submission(tmp_path / "student", hostile(body))
    with (
        Sandbox(tmp_path / "scratch", isolation("namespaces")) as box,
        Session(box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=60) as session,
    ):
        got = session.call("logsumexp", [np.zeros(3)], ["lse"], 30.0)
        assert got.kind == "crashed" and why in got.message, got
    assert not any((tmp_path / "scratch" / "work").iterdir())  # and the folder is gone


def test_a_call_is_sent_with_its_own_time_limit_not_the_last_reads_leftover(tmp_path, monkeypatch):
    """The previous reply's reads leave the socket with the few milliseconds that were
    left of that call: sending the next (large) input under it would fail a healthy
    process as crashed."""
    import gradgrader.sandbox.runner as runner

    path = write_submission(tmp_path / "student", hostile(RIGHT))
    seen = []
    real_send = runner.wire.send_framed

    def send(sock, payload):
        head_len = int.from_bytes(payload[:4], "little")
        if json.loads(payload[8 : 8 + head_len]).get("op") == "calls":
            seen.append(sock.gettimeout())
        return real_send(sock, payload)

    monkeypatch.setattr(runner.wire, "send_framed", send)
    with (
        Sandbox(tmp_path / "scratch", isolation()) as box,
        Session(box, path, "softmax", ["logsumexp"], ChildLimits(memory_mb=MEMORY_MB), budget=60) as session,
    ):
        for i in range(3):
            assert isinstance(session.call("logsumexp", [np.full(3, float(i))], ["lse"], 1.0), Returned)
    assert seen and min(seen) >= 5.0


def test_a_low_descriptor_limit_still_grades(tmp_path):
    """With RLIMIT_NOFILE at 300 (hard) the zygote cannot hold its ~450 prepared Landlock
    paths: it leaves them unprepared, and every child opens them itself."""
    import subprocess
    import sys

    path = write_submission(tmp_path / "student", hostile(RIGHT))
    script = f"""
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))
import numpy as np
from pathlib import Path
from gradgrader.sandbox import ChildLimits, Returned, Sandbox, Session
with Sandbox(Path({str(tmp_path / "scratch")!r})) as box:
    with Session(box, Path({str(path)!r}), "softmax", ["logsumexp"], ChildLimits(memory_mb=512), budget=30) as s:
        got = s.call("logsumexp", [np.zeros(3)], ["lse"], 5.0)
        print("OK" if isinstance(got, Returned) and float(got.values[0]) == float(np.log(3)) else got)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "OK", done.stdout + done.stderr
