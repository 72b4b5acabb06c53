"""Issue 5: hostile submissions against the sandbox (docs/sandbox.md, the guarantees).

Every folder of ``tests/attacks/`` is one hostile ``softmax.py`` (the reference's functions
plus one attack; each file's docstring says what it does and what must happen). They are
graded in ONE batch with ``gradgrader grade --jobs 2``, beside honest controls
(``tests/attacks/control-*``), against a copy of the softmax assignment with short limits
(2 s per call, 20 s per submission, 512 MiB). Paths, ports and a run token are substituted
into the files at test time (``@@OUT@@``, ``@@TCP_PORT@@``, ...), symlinks are made at test
time, and the grader's environment carries a secret that must never come out.

While the batch runs, a monitor thread polls the host's /proc for processes or threads
whose name carries an attack's marker (``ggatk-...``) after that submission's result line
was written, the grader's peak memory and the scratch folder's size.

``tests/attacks/isolated/`` holds attacks that end (or ended) the whole batch, and one that is
measured alone: each is graded in a batch of its own beside control-a, so that one hole does
not hide the others; a batch of two controls is the baseline.

A test marked ``xfail(strict=True, reason="HOLE: ...")`` documents a sandbox weakness this
suite found; the fix belongs in gradgrader/, after which the test passes (and, strict, fails
until the mark is removed). docs/threat-model.md summarises the results.

Run ``python tests/test_sandbox_attacks.py --matrix`` to grade every attack with each layer switched
off (the layer table of docs/threat-model.md), ``--overhead`` for the sandbox's cost.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import SOFTMAX, copy_assignment  # noqa: E402

ATTACKS = Path(__file__).resolve().parent / "attacks"
ISOLATED = ATTACKS / "isolated"
SECRET_NAME = "GRADGRADER_ATTACK_SECRET"
FAST = {"timeout = 10.0": "timeout = 2.0", "budget = 120.0": "budget = 20.0", "memory_mb = 1024": "memory_mb = 512"}
CONTROLS = ("control-a", "control-b", "control-c")
ANSI_ID = "ansi-in-name-\x1b]0;ggatk-title-name\x07\x1b[2J"
GRADER_FILES = {"results.jsonl", "grades.csv", "run.json"}
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# process / thread names the attacks give their offspring -> the attack
MARKERS = {
    "ggatk-fork": "fork-bomb-os",
    "ggatk-sub": "fork-bomb-subprocess",
    "ggatk-mp": "fork-bomb-multiprocessing",
    "ggatk-thread": "orphan-thread",
    "ggatk-orphan": "orphan-thread",
    "ggatk-dfork": "orphan-double-fork",
}

HOLE_SYMLINKS = (
    "HOLE: Sandbox._stage_copy copies the submission folder with shutil.copytree(symlinks=False), which "
    "FOLLOWS symlinks with the grader's own rights: a link to the reference, another student's folder or "
    "/proc/self/environ is copied into the sandbox as a plain file"
)
HOLE_SITE_PACKAGES = (
    "HOLE: in a virtualenv sysconfig's platstdlib is <venv>/lib/python3.X, the parent of site-packages; "
    "_zygote.read_paths() allows it whole, so Landlock lets the sandbox read site-packages/gradgrader/_data "
    "(the installed reference.py files), which bubblewrap hides only when it is the running package's data root"
)
HOLE_DISK = (
    "HOLE: nothing bounds the total size of a scratch folder: RLIMIT_FSIZE caps each file at 16 MiB, not "
    "their number, so a submission fills the disk at write speed for its whole budget"
)
HOLE_IO_URING = (
    "HOLE: the seccomp filter is a deny-list without io_uring_setup/io_uring_enter/io_uring_register: "
    "IORING_OP_SOCKET creates sockets although socket() is denied"
)
HOLE_ANSI_ID = (
    "HOLE: submission ids (file and folder names) are printed raw in the summary table, the progress line "
    "and grades.csv: a folder named with escape sequences writes them to the TA's terminal"
)


@dataclass(frozen=True)
class Expect:
    """What must happen to one attack."""

    functions: tuple[str, ...] = ("softmax_jacobian",)  # attacked; "*" = the whole file (import-time attack)
    mistakes: frozenset[str] = frozenset({"crashed"})  # the attacked checks carry at least one of these
    status: str = "graded"
    hole: str = ""  # non-empty: a known hole, the outcome test is xfail(strict)


def _m(*ids: str) -> frozenset[str]:
    return frozenset(ids)


NAN = _m("nan-output", "unstable-softmax")
EXPECT: dict[str, Expect] = {
    "exit-on-import-sysexit": Expect(("*",), status="error"),
    "exit-on-import-osexit": Expect(("*",), status="error"),
    "exit-in-call-sysexit": Expect(),
    "exit-in-call-osexit": Expect(),
    "hang-on-import": Expect(("*",), status="error"),
    "infinite-loop": Expect(mistakes=_m("timeout")),
    "sleep-forever": Expect(mistakes=_m("timeout")),
    "sigterm-ignored": Expect(mistakes=_m("timeout")),
    "memory-bomb": Expect(mistakes=_m("memory-limit")),
    "fork-bomb-os": Expect(),
    "fork-bomb-subprocess": Expect(),
    "fork-bomb-multiprocessing": Expect(),
    "disk-fill-scratch": Expect(),
    "disk-fill-outside": Expect(),
    "huge-array": Expect(("softmax_jacobian", "log_likelihood_grad"), _m("wrong-shape", "memory-limit")),
    "huge-array-protocol": Expect(("softmax_jacobian", "logsumexp"), _m("wrong-shape", "memory-limit", "crashed")),
    "forged-npy-header": Expect(("softmax_jacobian", "log_partition_grad", "log_likelihood_grad"), _m("wrong-shape")),
    # issue 16: hostile replies on the wire, text that is not UTF-8, other processes
    "forged-npy-typeerror": Expect(mistakes=_m("wrong-shape")),
    "wire-bool-flood": Expect(mistakes=_m("wrong-shape")),
    "wire-unrequested": Expect(("softmax_loss",), _m("crashed")),
    "lone-surrogate": Expect(),
    "other-processes": Expect(),
    "payloads": Expect(("logsumexp", "softmax_jacobian", "log_partition_grad", "log_likelihood_grad"), _m("wrong-shape")),
    "lying-objects": Expect(("logsumexp", "softmax", "softmax_jacobian", "log_partition_grad"), NAN | _m("wrong-shape")),
    "monkeypatch-numpy": Expect(("softmax_jacobian", "log_likelihood_grad"), NAN | _m("sign-flipped")),
    "fake-results-print": Expect(mistakes=NAN),
    "fake-results-files": Expect(),
    "read-reference-path": Expect(),
    "read-reference-walk": Expect(),
    "read-reference-import": Expect(),
    "read-reference-symlink": Expect(),
    "read-other-submissions": Expect(),
    "read-other-submissions-symlink": Expect(),
    "env-secret": Expect(),
    "env-secret-symlink": Expect(),
    "network-loopback": Expect(),
    "io-uring": Expect(),
    "orphan-thread": Expect(()),
    "orphan-double-fork": Expect(),
    "kill-parent": Expect(),
    "segfault": Expect(),
    "stdin-input": Expect(),
    "shadow-numpy": Expect(mistakes=_m("wrong-shape")),
    "ptrace-procmem": Expect(),
    "tiocsti": Expect(),
    "ansi-escapes": Expect(("softmax_jacobian", "logsumexp"), _m("crashed") | NAN),
    "ansi-in-name": Expect(()),
}


def submission_id(folder: str) -> str:
    """The id gradgrader gives a folder: its name, stripped of control characters."""
    from gradgrader.ingest.submission import printable_id

    return printable_id(ANSI_ID if folder == "ansi-in-name" else folder)


# --------------------------------------------------------------------------- running a batch


@dataclass
class Batch:
    """One `gradgrader grade` run over a class folder, and what was seen meanwhile."""

    root: Path
    klass: Path
    out: Path
    assignment: Path
    token: str
    secret: str
    returncode: int = -1
    stdout: str = ""
    stderr: str = ""
    elapsed: float = 0.0
    killed: bool = False  # by run_batch's watchdog: the grader did not finish by itself
    lines: list[str] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    late_markers: list[tuple[str, str, int]] = field(default_factory=list)  # (marker, attack, pid) after its result
    seen_markers: set[str] = field(default_factory=set)
    leftover: list[tuple[int, str]] = field(default_factory=list)
    peak_rss_kb: int = 0
    peak_scratch: int = 0
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)


class Listeners:
    """A TCP and a UDP socket on 127.0.0.1 that record whatever reaches them."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.received: list[tuple[str, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def ports(self) -> tuple[int, int]:
        return self.tcp.getsockname()[1], self.udp.getsockname()[1]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
                conn.settimeout(0.5)
                with conn:
                    try:
                        self.received.append(("tcp", conn.recv(1000) or b"<connected>"))
                    except OSError:
                        self.received.append(("tcp", b"<connected>"))
            except OSError:
                pass
            try:
                data, _ = self.udp.recvfrom(1000)
                self.received.append(("udp", data))
            except OSError:
                pass

    def close(self) -> None:
        time.sleep(0.3)
        self._stop.set()
        self._thread.join(2)
        self.tcp.close()
        self.udp.close()


def _scan_markers() -> list[tuple[str, int]]:
    """(marker, pid) for every thread on the host whose name or whose process's command line
    carries an attack marker."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            names = [cmdline]
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/comm", "rb") as f:
                    names.append(f.read().decode(errors="replace").strip())
        except OSError:
            continue
        for name in names:
            for marker in MARKERS:
                if re.search(rf"(^|[\s/]){re.escape(marker)}($|\s)", name):
                    found.append((marker, int(pid)))
    return found


def _rss_peak(pid: int) -> int:
    """The largest VmHWM (peak resident memory, KiB) among the grader process ``pid`` and its
    worker processes, leaving out the sandboxes (bubblewrap, the zygote and its children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                children.setdefault(int(stat[stat.rfind(b")") + 2 :].split()[1]), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    peak, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if re.search(rb"bwrap|_zygote\.py", f.read()):
                    continue
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
        todo += children.get(p, [])
    return peak


def _tree_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry of a folder (links not followed): relative path -> a digest of what it is."""
    out = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "special"
    return out


def fast_assignment(dest: Path) -> Path:
    return copy_assignment(dest, FAST)


def prepare_class(klass: Path, names: list[str], batch: Batch, ports: tuple[int, int]) -> None:
    """Copy attack folders into ``klass``, substitute the placeholders, make the links."""
    klass.mkdir(parents=True)
    subs = {
        "@@OUT@@": str(batch.out),
        "@@CLASS@@": str(klass),
        "@@REFERENCE@@": str(batch.assignment / "reference.py"),
        "@@ORIG_REFERENCE@@": str(SOFTMAX / "reference.py"),
        "@@ASSIGNMENT@@": str(batch.assignment),
        "@@ORIG_ASSIGNMENT@@": str(SOFTMAX),
        "@@VICTIM@@": str(klass / "control-a" / "softmax.py"),
        "@@TCP_PORT@@": str(ports[0]),
        "@@UDP_PORT@@": str(ports[1]),
        "@@TOKEN@@": batch.token,
        "@@GRADER_PID@@": str(os.getpid()),  # another process of the same user
    }
    for name in names:
        shutil.copytree(ATTACKS / name, klass / name, ignore=shutil.ignore_patterns("__pycache__"))
        for py in (klass / name).rglob("*.py"):
            text = py.read_text(encoding="utf-8")
            for key, value in subs.items():
                text = text.replace(key, value)
            py.write_text(text, encoding="utf-8")
    links = {
        "read-reference-symlink": {"ref.py": batch.assignment / "reference.py", "course": batch.assignment},
        "read-other-submissions-symlink": {"peer": klass / "control-b"},
        "env-secret-symlink": {"environ": Path("/proc/self/environ")},
    }
    for name, made in links.items():
        if name in names:
            for link, target in made.items():
                (klass / name / link).symlink_to(target)
    if "ansi-in-name" in names:
        (klass / "ansi-in-name").rename(klass / ANSI_ID)


def grader_env(secret: str, tmpdir: Path, disable: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GRADGRADER_DISABLE"}
    env[SECRET_NAME] = secret
    env["TMPDIR"] = str(tmpdir)
    env["COLUMNS"] = "200"
    if disable:
        env["GRADGRADER_DISABLE"] = disable
    return env


def _watch_markers(proc: subprocess.Popen, batch: Batch) -> None:
    """While the grader runs: every attack marker seen on the host, and those seen after
    their submission's result line was written (a process that outlived its grading)."""
    results = batch.out / "results.jsonl"
    while proc.poll() is None:
        done: set[str] = set()
        if results.exists():
            for line in results.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    done.add(json.loads(line)["submission"])
                except (ValueError, KeyError, TypeError):
                    pass
        for marker, pid in _scan_markers():
            batch.seen_markers.add(marker)
            if MARKERS[marker] in done:
                batch.late_markers.append((marker, MARKERS[marker], pid))
        time.sleep(0.02)


def run_batch(root: Path, names: list[str], disable: str = "", allow_weak: bool = False, timeout: float = 170.0,
              prepare=None) -> Batch:
    """Grade ``names`` (attack folders and controls) in one `gradgrader grade --jobs 2`."""
    root.mkdir(parents=True, exist_ok=True)
    batch = Batch(root, root / "class", root / "out", root / "softmax", secrets.token_hex(4), "s3cr3t-" + secrets.token_hex(8))
    fast_assignment(batch.assignment)
    listeners = Listeners()
    (prepare or prepare_class)(batch.klass, names, batch, listeners.ports)
    batch.before = snapshot(batch.klass)
    tmpdir = root / "grader-tmp"
    tmpdir.mkdir()
    command = [sys.executable, "-m", "gradgrader", "grade", str(batch.klass), "--assignment", str(batch.assignment),
               "--out", str(batch.out), "--jobs", "2"]
    if allow_weak:
        command.append("--allow-weak-sandbox")
    out_path, err_path = root / "stdout.txt", root / "stderr.txt"
    start = time.monotonic()
    with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out_f, stderr=err_f,
                                env=grader_env(batch.secret, tmpdir, disable), cwd=root, start_new_session=True)
        watcher = threading.Thread(target=_watch_markers, args=(proc, batch), daemon=True)
        watcher.start()
        while proc.poll() is None:
            batch.peak_rss_kb = max(batch.peak_rss_kb, _rss_peak(proc.pid))
            batch.peak_scratch = max(batch.peak_scratch, _tree_size(tmpdir))
            if time.monotonic() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                batch.killed = True
                break
            time.sleep(0.1)
        watcher.join(5)
    batch.elapsed = time.monotonic() - start
    batch.returncode = proc.returncode
    time.sleep(0.2)
    batch.leftover = [(pid, marker) for marker, pid in _scan_markers()]
    listeners.close()
    batch.received = listeners.received
    batch.stdout = out_path.read_bytes().decode(errors="replace")
    batch.stderr = err_path.read_bytes().decode(errors="replace")
    results = batch.out / "results.jsonl"
    if results.exists():
        batch.lines = results.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        for line in batch.lines:
            obj = json.loads(line)
            batch.results[obj["submission"]] = obj
    batch.after = snapshot(batch.klass)
    return batch


# --------------------------------------------------------------------------- judging one attack


def judge(name: str, batch: Batch) -> list[str]:
    """Everything wrong with the outcome of attack ``name`` in ``batch`` (empty: as expected)."""
    expect = EXPECT[name]
    result = batch.results.get(submission_id(name))
    if result is None:
        return ["no result line"]
    problems = []
    if result["status"] != expect.status:
        problems.append(f"status {result['status']!r}, expected {expect.status!r} ({result.get('message', '')[:200]})")
    if expect.functions == ("*",):
        if result["score"] != 0:
            problems.append(f"score {result['score']}, expected 0")
        if not result.get("message"):
            problems.append("no message says why the file could not be loaded")
        return problems
    attacked = [c for c in result["checks"] if c["function"] in expect.functions]
    honest = [c for c in result["checks"] if c["function"] not in expect.functions]
    for fn in expect.functions:
        checks = [c for c in attacked if c["function"] == fn]
        got = sum(c["score"] for c in checks)
        if got != 0 or any(c["passed"] for c in checks):
            problems.append(f"{fn} got {got} points: the attack got through ({checks[0]['message'][:300] if checks else ''})")
        mistakes = {m for c in checks for m in c["mistakes"]}
        if checks and not mistakes & expect.mistakes:
            problems.append(f"{fn} failed with mistakes {sorted(mistakes)}, expected one of {sorted(expect.mistakes)}: "
                            f"{checks[0]['message'][:300]}")
    for c in honest:
        if not c["passed"] or c["score"] != c["max_score"]:
            problems.append(f"honest {c['id']} lost points: {c['message'][:300]}")
    return problems


def attacked_message(batch: Batch, name: str, function: str = "softmax_jacobian") -> str:
    result = batch.results.get(submission_id(name), {})
    return " | ".join(c["message"] for c in result.get("checks", []) if c["function"] == function)


def strings(value: Any, skip: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(key, text) for every key and string value in a JSON value (keys in ``skip`` and their
    values left out)."""
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in skip:
                continue
            out.append((k, k))
            out += [(k, v)] if isinstance(v, str) else strings(v, skip)
    elif isinstance(value, list):
        for v in value:
            out += strings(v, skip)
    elif isinstance(value, str):
        out.append(("", value))
    return out


# --------------------------------------------------------------------------- fixtures

def _level() -> str:
    from gradgrader.sandbox.layers import probe

    return probe().level


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    if _level() != "strong":
        pytest.skip("this machine does not give every sandbox layer (see `gradgrader doctor`)")
    names = sorted(EXPECT) + list(CONTROLS)
    return run_batch(tmp_path_factory.mktemp("attacks"), names)


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Batch]:
    """Each attack of tests/attacks/isolated graded in a batch of its own, beside control-a,
    and a baseline batch of two controls (three batches at a time)."""
    if _level() != "strong":
        pytest.skip("this machine does not give every sandbox layer (see `gradgrader doctor`)")
    root = tmp_path_factory.mktemp("isolated")
    out: dict[str, Batch] = {}
    slots = threading.Semaphore(3)  # three graders at once on two cores: the controls' 2 s calls stay safe

    def prepare_and_run(name: str) -> None:
        with slots:
            run_one(name)

    def run_one(name: str) -> None:
        here = root / name
        here.mkdir()

        def tweak(batch: Batch) -> None:
            folder = batch.klass / name
            if name == "symlink-as-submission":
                (folder / "softmax.py").unlink()
                (folder / "softmax.py").symlink_to(batch.assignment / "reference.py")
            elif name == "fifo-in-folder":
                os.mkfifo(folder / "notes.txt")
            elif name == "non-utf8-name":
                os.rename(bytes(folder), bytes(batch.klass) + b"/non-utf8-\xff\x9b")

        out[name] = run_isolated(here, name, tweak)

    def baseline() -> None:
        with slots:
            out["baseline"] = run_batch(root / "baseline", ["control-a", "control-b"], timeout=90)

    threads = [threading.Thread(target=prepare_and_run, args=(p.name,)) for p in sorted(ISOLATED.iterdir()) if p.is_dir()]
    threads.append(threading.Thread(target=baseline))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def run_isolated(root: Path, name: str, tweak) -> Batch:
    """run_batch for one isolated attack beside control-a; ``tweak`` edits the prepared class."""

    def prepare(klass: Path, names: list[str], batch: Batch, ports: tuple[int, int]) -> None:
        prepare_class(klass, ["control-a"], batch, ports)
        shutil.copytree(ISOLATED / name, klass / name, ignore=shutil.ignore_patterns("__pycache__"))
        tweak(batch)

    return run_batch(root, [name, "control-a"], timeout=90, prepare=prepare)


# --------------------------------------------------------------------------- the suite's own shape


def test_every_attack_folder_has_an_expectation():
    folders = {p.name for p in ATTACKS.iterdir() if p.is_dir() and p.name != "isolated" and p.name not in CONTROLS}
    assert folders == set(EXPECT)
    assert len(EXPECT) + len([p for p in ISOLATED.iterdir() if p.is_dir()]) >= 25
    for name in EXPECT:
        text = (ATTACKS / name / "softmax.py").read_text(encoding="utf-8")
        assert text.startswith(f'"""ATTACK {name}\n'), name
        compile(text, name, "exec")


# --------------------------------------------------------------------------- the batch as a whole


def test_grader_finishes_with_every_layer(batch: Batch):
    assert batch.returncode == 0, batch.stderr[-3000:]
    assert "sandbox: strong" in batch.stderr
    assert "Traceback" not in batch.stderr


def test_every_submission_has_exactly_one_result_line(batch: Batch):
    ids = [json.loads(line)["submission"] for line in batch.lines]
    expected = {submission_id(n) for n in EXPECT} | set(CONTROLS)
    assert sorted(ids) == sorted(expected)
    with open(batch.out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["submission"] for r in rows) == sorted(expected)
    for row in rows:
        assert float(row["score"]) == batch.results[row["submission"]]["score"]


@pytest.mark.parametrize("control", CONTROLS)
def test_controls_get_full_marks_beside_the_attacks(batch: Batch, control: str):
    result = batch.results[control]
    assert result["status"] == "graded"
    assert result["score"] == result["max_score"] == 10.0, [c["message"] for c in result["checks"] if not c["passed"]]


def _outcome_params():
    for name, expect in sorted(EXPECT.items()):
        marks = [pytest.mark.xfail(strict=True, reason=expect.hole)] if expect.hole else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_outcome_params()))
def test_attack_outcome(batch: Batch, name: str):
    """The attacked functions score 0 with a sensible mistake id; the honest ones keep
    every point; an import-time attack leaves a status-error result."""
    assert judge(name, batch) == []


def test_out_holds_only_the_grader_files(batch: Batch, isolated: dict[str, Batch]):
    """OUT has what a clean run of two controls leaves there, and nothing an attack named."""
    names = set(os.listdir(batch.out))
    assert names >= GRADER_FILES
    assert names == set(os.listdir(isolated["baseline"].out))
    planted = [str(p) for p in batch.out.rglob("*") if batch.token in p.name or "hacked" in p.name]
    assert planted == []
    for line in batch.lines:
        assert json.loads(line)["submission"] != "fake", line[:200]


def test_class_folder_is_unchanged(batch: Batch):
    assert batch.after == batch.before


def test_no_attack_file_exists_on_the_host(batch: Batch):
    left = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm", str(batch.klass), str(batch.assignment), str(batch.out), str(batch.root)):
        left += [str(p) for p in Path(folder).glob(f"ggatk-{batch.token}*")]
    assert left == []


def test_no_attack_process_outlives_its_grading(batch: Batch):
    assert batch.late_markers == []
    assert batch.leftover == []


def test_the_orphan_thread_really_ran(batch: Batch):
    """The orphan test is not vacuous: its thread was seen (alive while it was graded)."""
    assert {"ggatk-thread", "ggatk-orphan"} & batch.seen_markers


def test_network_listeners_received_nothing(batch: Batch):
    assert batch.received == []
    assert "BLOCKED network" in attacked_message(batch, "network-loopback")


def test_io_uring_is_refused(batch: Batch):
    message = attacked_message(batch, "io-uring")
    assert "IOURING setup=" in message, message
    assert "IOURING setup=ok" not in message, message


def _secret_params():
    for name in sorted(EXPECT) + list(CONTROLS):
        hole = EXPECT[name].hole if name in EXPECT and name.startswith("env-secret") else ""
        yield pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=hole)] if hole else [], id=name)


@pytest.mark.parametrize("name", list(_secret_params()))
def test_grader_secret_is_in_no_result(batch: Batch, name: str):
    line = next(line for line in batch.lines if json.loads(line)["submission"] == submission_id(name))
    assert batch.secret not in line


def test_grader_secret_is_in_no_other_output(batch: Batch):
    for f in ("grades.csv", "run.json"):
        assert batch.secret not in (batch.out / f).read_text(encoding="utf-8", errors="replace")
    assert batch.secret not in batch.stdout + batch.stderr


def _control_params():
    for name in sorted(EXPECT) + list(CONTROLS):
        yield pytest.param(name, id=name)


@pytest.mark.parametrize("name", list(_control_params()))
def test_no_control_character_in_results(batch: Batch, name: str):
    """Whatever a submission prints, raises or names its types, no terminal control
    character reaches results.jsonl (the id, a folder name, is checked separately)."""
    line = next(line for line in batch.lines if json.loads(line)["submission"] == submission_id(name))
    assert "\x1b" not in line and "\x9b" not in line
    bad = [(k, s[:120]) for k, s in strings(json.loads(line), frozenset({"submission", "path"})) if CONTROL_CHARS.search(s)]
    assert bad == []


def test_student_output_never_reaches_the_terminal(batch: Batch):
    text = batch.stdout + batch.stderr
    for marker in ("ggatk-title-print", "ggatk-title-exc", "ggatk-title-type", "SCORE 10/10", "score: 10/10"):
        assert marker not in text


def test_terminal_output_has_no_control_characters(batch: Batch):
    assert not CONTROL_CHARS.search(batch.stdout + batch.stderr)
    assert not CONTROL_CHARS.search((batch.out / "grades.csv").read_text(encoding="utf-8"))


def test_printed_output_is_capped(batch: Batch):
    output = batch.results["fake-results-print"].get("output", "")
    assert 0 < len(output.encode()) <= (64 << 10) + 4096
    assert "more bytes of output not kept" in output


def test_disk_fill_reports_how_far_it_got(batch: Batch):
    """Not a limit (see the disk-fill-scratch outcome): the number for docs/threat-model.md."""
    found = re.search(r"DISKFILL (\d+)", batch.results["disk-fill-scratch"].get("output", ""))
    assert found, batch.results["disk-fill-scratch"].get("output", "")[:500]


def test_grader_memory_stays_reasonable(batch: Batch):
    assert 0 < batch.peak_rss_kb < 1_500_000, batch.peak_rss_kb


def test_batch_finishes_by_itself(batch: Batch):
    """Every attack is stopped by a limit and the grader ends on its own; the watchdog
    in run_batch is there only for a grader that hangs. How long the batch takes is a
    figure (docs/threat-model.md), not a test: it depends on the machine's load."""
    assert not batch.killed, f"killed by the watchdog after {batch.elapsed:.0f} s"


# --------------------------------------------------------------------------- isolated attacks


def _isolated_ok(b: Batch, name: str) -> None:
    assert b.returncode == 0, b.stderr[-2000:]
    assert len(b.lines) == 2, b.stderr[-2000:]
    assert b.results["control-a"]["score"] == 10.0


def test_symlinked_softmax_py_is_not_graded_as_the_reference(isolated: dict[str, Batch]):
    b = isolated["symlink-as-submission"]
    _isolated_ok(b, "symlink-as-submission")
    assert b.results["symlink-as-submission"]["score"] < 10.0


def test_fifo_in_folder_does_not_stop_the_batch(isolated: dict[str, Batch]):
    b = isolated["fifo-in-folder"]
    _isolated_ok(b, "fifo-in-folder")
    assert b.results["fifo-in-folder"]["score"] == 10.0


def test_forged_nested_json_does_not_stop_the_batch(isolated: dict[str, Batch]):
    b = isolated["forged-nested-json"]
    _isolated_ok(b, "forged-nested-json")
    assert b.results["forged-nested-json"]["score"] == 0


def test_non_utf8_name_does_not_stop_the_batch(isolated: dict[str, Batch]):
    b = isolated["non-utf8-name"]
    _isolated_ok(b, "non-utf8-name")


def test_wire_flood_is_rejected(isolated: dict[str, Batch]):
    b = isolated["wire-flood"]
    _isolated_ok(b, "wire-flood")
    result = b.results["wire-flood"]
    first = [c for c in result["checks"] if c["function"] == "logsumexp"]
    assert first and not all(c["passed"] for c in first)


def test_wire_flood_does_not_inflate_the_grader(isolated: dict[str, Batch]):
    """Peak memory of the grader's processes (sandboxes left out): the flood against two
    controls graded the same way."""
    flood, baseline = isolated["wire-flood"].peak_rss_kb, isolated["baseline"].peak_rss_kb
    assert baseline > 0
    assert flood - baseline < 128 << 10, (flood, baseline)


# --------------------------------------------------------------------------- weak sandbox, doctor


def test_grade_refuses_a_weak_sandbox_unless_allowed(tmp_path: Path):
    klass = tmp_path / "class"
    shutil.copytree(ATTACKS / "control-a", klass / "control-a")
    assignment = fast_assignment(tmp_path / "softmax")
    command = [sys.executable, "-m", "gradgrader", "grade", str(klass), "--assignment", str(assignment), "--jobs", "1"]
    env = {**os.environ, "GRADGRADER_DISABLE": "namespaces,landlock", "COLUMNS": "200"}
    refused = subprocess.run([*command, "--out", str(tmp_path / "out1")], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert "--allow-weak-sandbox" in refused.stderr
    assert "reference solution" in refused.stderr and "refusing" in refused.stderr
    assert not (tmp_path / "out1" / "results.jsonl").exists()
    allowed = subprocess.run([*command, "--out", str(tmp_path / "out2"), "--allow-weak-sandbox"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert allowed.returncode == 0, allowed.stderr
    assert "sandbox: weak" in allowed.stderr
    line = json.loads((tmp_path / "out2" / "results.jsonl").read_text().splitlines()[0])
    assert line["score"] == 10.0 and line["sandbox"] == "weak"


def test_doctor_lists_the_five_layers():
    env = {k: v for k, v in os.environ.items() if k != "GRADGRADER_DISABLE"}
    env["COLUMNS"] = "200"
    proc = subprocess.run([sys.executable, "-m", "gradgrader", "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for layer in ("process", "rlimits", "namespaces", "landlock", "seccomp"):
        assert re.search(rf"^\W*{layer}\b", proc.stdout, re.M), (layer, proc.stdout)
    assert "sandbox level:" in proc.stdout


# --------------------------------------------------------------------------- tools (not tests)

MATRIX = [
    ("all layers", ""),
    ("no seccomp", "seccomp"),
    ("no Landlock", "landlock"),
    ("no namespaces", "namespaces"),
    ("seccomp only (weak)", "namespaces,landlock"),
]
# never run without any of seccomp, Landlock and namespaces: kill(-1) as root would hit the host
UNSAFE_WITHOUT_ALL = {"kill-parent", "fork-bomb-os", "fork-bomb-multiprocessing", "fork-bomb-subprocess", "orphan-double-fork"}


def _matrix_verdict(name: str, b: Batch) -> str:
    """'stopped', or what the attack achieved (points, a leak, a surviving process, a dead grader)."""
    if submission_id(name) not in b.results:
        return "GRADER DIED" if b.returncode != 0 else "no result"
    got = []
    for problem in judge(name, b):
        if "got through" in problem:
            got.append("points")
        elif problem.startswith("honest"):
            got.append("disrupted its own honest functions")
        elif problem.startswith("status"):
            got.append(problem[:80])
    if b.received:
        got.append(f"listener got {b.received}"[:100])
    if any(b.secret in line for line in b.lines):
        got.append("secret leaked")
    if [m for m, attack, _ in b.late_markers if attack == name] or [m for _, m in b.leftover if MARKERS[m] == name]:
        got.append("process outlived its grading")
    if b.after != b.before:
        got.append("class folder changed")
    if b.returncode != 0:
        got.append("GRADER DIED")
    extra = ""
    if name == "io-uring":
        found = re.search(r"IOURING (.*?) \(line", attacked_message(b, name))
        extra = f" [{found.group(1)}]" if found else ""
    if name == "disk-fill-scratch":
        found = re.search(r"DISKFILL (\d+)", b.results[submission_id(name)].get("output", ""))
        extra = f" [{int(found.group(1)) >> 20} MiB written]" if found else ""
    return ("stopped" if not got else "GOT THROUGH: " + "; ".join(dict.fromkeys(got))) + extra


def main_matrix(root: Path, only: list[str] = (), verbose: bool = False) -> None:
    """Grade each attack alone under each layer configuration; print a markdown table."""
    from concurrent.futures import ThreadPoolExecutor

    names = sorted(only or EXPECT)
    table: dict[str, dict[str, str]] = {n: {} for n in names}
    for label, disable in MATRIX:
        def one(name: str, label=label, disable=disable) -> None:
            if name in UNSAFE_WITHOUT_ALL and {"namespaces", "landlock", "seccomp"} <= set(disable.split(",")):
                table[name][label] = "not run (unsafe on the host)"
                return
            b = run_batch(root / re.sub(r"\W+", "-", label) / name, [name, "control-a", "control-b"], disable=disable,
                          allow_weak=True, timeout=120)
            table[name][label] = _matrix_verdict(name, b)
            if verbose and submission_id(name) in b.results:
                r = b.results[submission_id(name)]
                print(f"--- {label} / {name}: {attacked_message(b, name)[:400]}\n    output: "
                      f"{r.get('output', '')[:600]!r}", file=sys.stderr)
            for folder in ("/tmp", "/var/tmp", "/dev/shm"):  # what an attack that got through left behind
                for left in Path(folder).glob(f"ggatk-{b.token}*"):
                    left.unlink()
                    table[name][label] += f" [left {left}]"
            print(f"{label:22s} {name:32s} {table[name][label]}", file=sys.stderr, flush=True)

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(one, names))
    print("| attack | " + " | ".join(label for label, _ in MATRIX) + " |")
    print("|---|" + "---|" * len(MATRIX))
    for name in names:
        print(f"| {name} | " + " | ".join(table[name].get(label, "-") for label, _ in MATRIX) + " |")


def main_overhead(root: Path, n: int = 50) -> None:
    """Grade one trivial correct submission n times, all layers vs none; print ms/submission,
    for the whole grading and for the sandbox alone (start the process, load, one call, close)."""
    code = r'''
import statistics, sys, time
import numpy as np
from pathlib import Path
from gradgrader.grading import Grader
from gradgrader.ingest import Submission
from gradgrader.rubric import resolve_rubric
from gradgrader.sandbox import ChildLimits, Sandbox
from gradgrader.sandbox.layers import probe
from gradgrader.assignment import load_assignment
path, n = Path(sys.argv[1]), int(sys.argv[2])
spec = load_assignment("softmax"); rubric = resolve_rubric(spec); iso = probe()
with Grader(spec, rubric, jobs=1, isolation=iso) as grader:
    grader.grade(Submission("warm-up", path, None))
    grading = []
    for i in range(n):
        t = time.perf_counter()
        r = grader.grade(Submission(f"s{i}", path, None))
        grading.append(time.perf_counter() - t)
        assert r.score == r.max_score, r
times = []
with Sandbox(isolation=iso) as box:
    box.zygote
    for i in range(n + 1):
        t = time.perf_counter()
        proc = box.start(path, "softmax", ["logsumexp"], ChildLimits())
        got = proc.call("logsumexp", [np.zeros(3)], ["lse"], 10.0)
        proc.close()
        times.append(time.perf_counter() - t)
        assert proc.load.ok and not hasattr(got, "kind"), (proc.load, got)
ms = lambda xs: f"median {1000 * statistics.median(xs):.0f} ms, min {1000 * min(xs):.0f} ms"
print(f"{iso.level:6s}: grading one submission {ms(grading)}; sandbox alone (start, load, one call, close) "
      f"{ms(times[1:])} (n = {n})")
'''
    root.mkdir(parents=True, exist_ok=True)
    sub = root / "softmax.py"
    shutil.copyfile(ATTACKS / "control-a" / "softmax.py", sub)
    for _ in range(3):
        for disable in ("", "namespaces,landlock,seccomp"):
            env = {k: v for k, v in os.environ.items() if k != "GRADGRADER_DISABLE"}
            if disable:
                env["GRADGRADER_DISABLE"] = disable
            subprocess.run([sys.executable, "-c", code, str(sub), str(n)], env=env, check=True)


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matrix", action="store_true", help="every attack under every layer configuration")
    parser.add_argument("--only", default="", help="with --matrix: these attacks only (comma-separated)")
    parser.add_argument("--verbose", action="store_true", help="with --matrix: print each attack's message and output")
    parser.add_argument("--overhead", type=int, nargs="?", const=50, help="sandbox overhead over N gradings")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gg-attacks-") as tmp:
        if args.matrix:
            main_matrix(Path(tmp), [n for n in args.only.split(",") if n], args.verbose)
        if args.overhead:
            main_overhead(Path(tmp), args.overhead)
