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
import os
import sys
from dataclasses import dataclass

from gradgrader.sandbox.bwrap import (
    FORGET,
    PROBE_CACHE_VERSION,
    PROBING,
    _probe_bwrap,
    disabled,
    file_stamps,
    remember_probe,
    remembered_probe,
)


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


SECCOMP_DETAIL = "libseccomp via pyseccomp: sockets, fork, exec, ptrace, foreign signals, other processes' limits and scheduling denied"


@functools.lru_cache(maxsize=1)
def _probe_seccomp() -> tuple[bool, str]:
    """Whether pyseccomp and libseccomp load here. Importing pyseccomp runs ``ldconfig -p``
    twice to find its libraries (~4–8 ms of every check, #17): a success is remembered
    with bubblewrap's (``bwrap.remember_probe``), keyed on what it depends on, and
    forgotten with it when a sandbox fails to start. A remembered success that is no
    longer true fails loudly: every zygote says whether it loaded pyseccomp, and a
    sandbox whose zygote did not refuses to start (``runner.Sandbox``)."""
    try:
        key = _seccomp_key()
    except OSError:
        key = ""
    if key and (detail := remembered_probe(key)) is not None:
        return True, detail
    try:
        import pyseccomp

        pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    except Exception as exc:  # noqa: BLE001 - missing package or libseccomp
        return False, f"pyseccomp/libseccomp unavailable ({type(exc).__name__}: {exc})"
    if key:
        remember_probe(key, SECCOMP_DETAIL)
    return True, SECCOMP_DETAIL


FORGET.append(_probe_seccomp.cache_clear)


def _seccomp_key() -> str:
    """What the seccomp probe's answer depends on: this interpreter, pyseccomp's file,
    the dynamic linker's cache (which changes when libseccomp is installed or removed)
    and the kernel, as text (as bubblewrap's key). Raises OSError if one of them cannot
    be read (then it is probed)."""
    import importlib.util

    spec = importlib.util.find_spec("pyseccomp")
    origin = spec.origin if spec is not None else None
    if not origin:
        raise OSError("pyseccomp is not installed")
    parts: list[object] = ["seccomp", PROBE_CACHE_VERSION, sys.executable, sys.version, origin, os.uname().release]
    return repr(parts + file_stamps(origin, "/etc/ld.so.cache"))


def probe() -> Isolation:
    """Probe every layer (cheap after the first call)."""
    with PROBING:
        return _probe()


def _namespaces(off: set[str]) -> Layer:
    """The namespaces layer (its availability is :func:`bwrap.namespaces_available`)."""
    ok, detail = _probe_bwrap() if sys.platform.startswith("linux") else (False, "Linux only")
    return Layer("namespaces", ok and "namespaces" not in off, detail if "namespaces" not in off else "disabled by GRADGRADER_DISABLE")


def _probe() -> Isolation:
    from gradgrader.sandbox import _landlock  # ctypes: loaded when the layers are probed

    off = disabled()
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
