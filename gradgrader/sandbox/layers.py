"""Which isolation layers this machine gives, probed once per process.

| layer      | what it gives                                                            |
|------------|--------------------------------------------------------------------------|
| process    | student code never runs in the grader's process (always)                 |
| rlimits    | address space, CPU time, file size, open files, no core dumps (always)   |
| namespaces | bubblewrap: own pid/net/ipc/uts namespaces, read-only root, no caps      |
| landlock   | read only the interpreter, numpy, the assignment's packages and the submission; write only scratch; no TCP; signals scoped |
| seccomp    | no sockets, fork, exec, ptrace, kill of others, mount/unshare, TIOCSTI;  |
|            | no prlimit64 or affinity on others, no scheduling or priority changes,   |
|            | no kernel log                                                            |

Every child, at every level, also drops all capabilities and sets no-new-privs.

``GRADGRADER_DISABLE=namespaces,landlock,seccomp`` turns layers off (to test the weaker
modes, or to work around a broken one).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gradgrader._cache import cache_dir, write_atomically


@dataclass(frozen=True)
class Layer:
    name: str
    available: bool
    detail: str


@dataclass(frozen=True)
class Isolation:
    layers: tuple[Layer, ...]

    def has(self, name: str) -> bool:
        return any(layer.name == name and layer.available for layer in self.layers)

    @property
    def level(self) -> str:
        """``strong`` (all layers), ``standard`` (process + rlimits + Landlock or
        namespaces: the minimum to grade other people's code), else ``weak``."""
        if self.has("namespaces") and self.has("landlock") and self.has("seccomp"):
            return "strong"
        if self.has("landlock") or self.has("namespaces"):
            return "standard"
        return "weak"

    def summary(self) -> str:
        on = [layer.name for layer in self.layers if layer.available]
        off = [layer.name for layer in self.layers if not layer.available]
        text = f"sandbox: {self.level} ({', '.join(on)})"
        return text + (f"; missing: {', '.join(off)}" if off else "")


def _disabled() -> set[str]:
    return {x.strip() for x in os.environ.get("GRADGRADER_DISABLE", "").split(",") if x.strip()}


# The bubblewrap probe starts a Python that imports numpy inside new namespaces: about
# one fresh interpreter's start, which a student's `check` would pay every time (#17).
# A success is remembered per machine, keyed on everything its answer depends on; a
# failure is never remembered (the next run probes again), and a remembered success that
# stops being true is forgotten when a sandbox fails to start (``forget_probe``), so a
# cached answer can make a run fail loudly once, never run weaker.
PROBE_CACHE_VERSION = 1


def probe_cache_file() -> Path:
    """Where a successful bubblewrap probe is remembered, in the user's cache folder
    (:func:`gradgrader._cache.cache_dir`)."""
    return cache_dir() / "sandbox-probe.json"


def _probe_key(exe: str) -> str:
    """What the bubblewrap probe's answer depends on: bubblewrap itself, the kernel and
    its user-namespace switches, the user, this interpreter and its numpy, and the
    arguments the probe passes."""
    import hashlib
    import importlib.util

    parts: list[object] = [PROBE_CACHE_VERSION, exe, os.uname().release, os.uname().version, sys.executable, sys.version]
    for path in (exe, sys.executable):
        st = os.stat(path)
        parts += [st.st_size, st.st_mtime_ns, st.st_ino]
    numpy = importlib.util.find_spec("numpy")
    origin = numpy.origin if numpy is not None else None
    parts += [origin, os.stat(origin).st_mtime_ns if origin else None]
    for switch in (
        "/proc/sys/kernel/unprivileged_userns_clone",
        "/proc/sys/user/max_user_namespaces",
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    ):
        try:
            parts.append(Path(switch).read_text().strip())
        except OSError:
            parts.append(None)
    parts += [os.geteuid() if hasattr(os, "geteuid") else None, namespace_args([])]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


# One remembered answer per key: a machine with several Pythons (a course venv, a
# system install, a second checkout) keeps each one's, instead of each run of one
# overwriting the other's and every other run probing again.
PROBE_CACHE_ENTRIES = 16


def _remembered_probes() -> dict[str, str]:
    """Every remembered successful probe (key -> detail); none if the file is missing,
    unreadable or of another form."""
    try:
        data = json.loads(probe_cache_file().read_text())
    except (OSError, ValueError):
        return {}
    probes = data.get("probes") if isinstance(data, dict) else None
    if not isinstance(probes, dict):
        return {}
    return {k: v for k, v in probes.items() if isinstance(k, str) and isinstance(v, str)}


def _remembered(key: str) -> str | None:
    """The detail of a remembered successful probe with this key, else ``None``."""
    return _remembered_probes().get(key)


def _remember(key: str, detail: str) -> None:
    """Add the successful probe to the file, atomically, keeping the newest
    ``PROBE_CACHE_ENTRIES`` (best effort: an unwritable cache only costs time)."""
    path = probe_cache_file()
    probes = {k: v for k, v in _remembered_probes().items() if k != key}
    probes[key] = detail
    probes = dict(list(probes.items())[-PROBE_CACHE_ENTRIES:])
    write_atomically(path, json.dumps({"probes": probes}))


def forget_probe() -> None:
    """Forget the remembered probe (this process's and the machine's): called when a
    sandbox that the probe said would start does not, so the next probe is a real one."""
    _probe_bwrap.cache_clear()
    try:
        probe_cache_file().unlink()
    except OSError:
        pass


@functools.lru_cache(maxsize=1)
def _probe_bwrap() -> tuple[bool, str]:
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        key = _probe_key(exe)
    except OSError:
        key = ""
    if key and (detail := _remembered(key)) is not None:
        return True, detail
    try:
        proc = subprocess.run(
            [exe, *namespace_args([]), sys.executable, "-I", "-c", "import numpy"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap does not run here: {exc}"
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        return False, f"bubblewrap cannot create namespaces here ({why[0]}); user namespaces may be disabled"
    detail = f"{exe}: pid, net, ipc, uts namespaces; read-only root; no capabilities"
    if key:
        _remember(key, detail)
    return True, detail


@functools.lru_cache(maxsize=1)
def _probe_seccomp() -> tuple[bool, str]:
    try:
        import pyseccomp

        pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    except Exception as exc:  # noqa: BLE001 - missing package or libseccomp
        return False, f"pyseccomp/libseccomp unavailable ({type(exc).__name__}: {exc})"
    return True, "libseccomp via pyseccomp: sockets, fork, exec, ptrace, foreign signals, other processes' limits and scheduling denied"


# One probe at a time: `check` may start it in a thread while it imports the grader,
# and a second caller waits for that answer instead of starting bubblewrap again.
_PROBING = threading.Lock()


def probe_is_cheap() -> bool:
    """Whether :func:`probe` answers now without starting bubblewrap: answered already
    in this process, no bubblewrap, or a success remembered for this machine."""
    if _probe_bwrap.cache_info().currsize:
        return True
    exe = shutil.which("bwrap")
    if exe is None or not sys.platform.startswith("linux"):
        return True
    try:
        return _remembered(_probe_key(exe)) is not None
    except OSError:
        return False


def probe() -> Isolation:
    """Probe every layer (cheap after the first call)."""
    with _PROBING:
        return _probe()


def launch_isolation() -> Isolation:
    """The namespaces layer alone, as :func:`probe` finds it: all that a zygote's command
    depends on (:class:`~gradgrader.sandbox.zygote.Zygote`). A student's check starts its
    zygote with it and probes Landlock and seccomp (ctypes, libseccomp) while the zygote
    comes up (#17)."""
    with _PROBING:
        return Isolation((_namespaces(_disabled()),))


def _namespaces(off: set[str]) -> Layer:
    ok, detail = _probe_bwrap() if sys.platform.startswith("linux") else (False, "Linux only")
    return Layer("namespaces", ok and "namespaces" not in off, detail if "namespaces" not in off else "disabled by GRADGRADER_DISABLE")


def _probe() -> Isolation:
    from gradgrader.sandbox import _landlock  # ctypes: loaded when the layers are probed

    off = _disabled()
    layers = [
        Layer("process", True, "a forked child of a numpy-only interpreter, never the grader's process"),
        Layer("rlimits", os.name == "posix", "address space, CPU, file size, open files, core dumps"),
        _namespaces(off),
    ]
    abi = _landlock.abi_version()
    layers.append(
        Layer(
            "landlock",
            abi >= 1 and "landlock" not in off,
            (f"ABI {abi}: read/write allow-lists" + (", TCP denied" if abi >= 4 else "") + (", signals scoped" if abi >= 6 else ""))
            if abi >= 1 and "landlock" not in off
            else ("disabled by GRADGRADER_DISABLE" if "landlock" in off else "the kernel has no Landlock (Linux ≥ 5.13 with landlock in the LSM list)"),
        )
    )
    ok, detail = _probe_seccomp() if sys.platform.startswith("linux") else (False, "Linux only")
    layers.append(Layer("seccomp", ok and "seccomp" not in off, detail if "seccomp" not in off else "disabled by GRADGRADER_DISABLE"))
    return Isolation(tuple(layers))


def namespace_args(writable: list[Path], hidden: Iterable[Path] = ()) -> list[str]:
    """bubblewrap arguments: new namespaces, the host's root read-only, ``hidden`` folders
    replaced by empty ones, ``writable`` folders bound back read-write (in that order)."""
    args = [
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--cap-drop", "ALL",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # As root (no user namespace) bubblewrap leaves the bounding set full: the
        # zygote keeps CAP_SETPCAP so that each child can empty it, and then drops
        # every capability it has (``_zygote.drop_privileges``).
        args += ["--cap-add", "CAP_SETPCAP"]
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hide = [p for p in dict.fromkeys(Path(h) for h in hidden) if p.is_dir()]
    inside = [h for h in hide if any(h != Path(w) and h.is_relative_to(w) for w in writable)]
    for path in hide:
        if path not in inside:
            args += ["--tmpfs", str(path)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    for path in inside:  # hidden folders within a writable one: mount after the bind
        args += ["--tmpfs", str(path)]
    return args


WEAK_REFUSED = (
    "refusing to grade other people's code with only process isolation and rlimits "
    "(no Landlock, no namespaces: a submission could read the reference solution and other "
    "students' files). Run `gradgrader doctor` to see what is missing, or pass "
    "--allow-weak-sandbox to accept that risk"
)


def weak_refused(level: str, allow_weak: bool, strict: bool = True) -> bool:
    """The one sandbox-level policy: other people's code (``strict``) is never graded
    under a weak sandbox unless the TA accepted the risk (``--allow-weak-sandbox``).
    `check`, `grade`, re-grading in review, Dask workers and the API all ask it."""
    return level == "weak" and strict and not allow_weak


def require_isolation(allow_weak: bool = False, strict: bool = True, where: str = "") -> Isolation:
    """This machine's isolation, refused (``SandboxError``, its message led by ``where``)
    when :func:`weak_refused` says so."""
    from gradgrader.errors import SandboxError

    iso = probe()
    if weak_refused(iso.level, allow_weak, strict):
        raise SandboxError(where + WEAK_REFUSED)
    return iso
