"""bubblewrap: whether it runs here (probed once per machine and remembered), and the
arguments a sandbox's interpreter is started with.

The part of the layers' probe a student's ``check`` needs before it starts its
sandbox's interpreter (#17): plain functions over the standard library, no dataclass
and no ctypes, so that the interpreter is spawned before the grader imports the rest
(:func:`gradgrader.cli._early.early_sandbox`). :mod:`gradgrader.sandbox.layers` probes
every layer and gives them to the rest of the grader.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from gradgrader._cache import cache_dir, write_atomically


def disabled() -> set[str]:
    """The layers ``GRADGRADER_DISABLE`` turns off."""
    return {x.strip() for x in os.environ.get("GRADGRADER_DISABLE", "").split(",") if x.strip()}


# The bubblewrap probe starts a Python that imports numpy inside new namespaces: about
# one fresh interpreter's start, which a student's `check` would pay every time (#17).
# A success is remembered per machine, keyed on everything its answer depends on; a
# failure is never remembered (the next run probes again), and a remembered success that
# stops being true is forgotten when a sandbox fails to start (``forget_probe``), so a
# cached answer can make a run fail loudly once, never run weaker.
PROBE_CACHE_VERSION = 2  # 2: keys are the parts' text, not their digest


def probe_cache_file() -> Path:
    """Where a successful bubblewrap probe is remembered, in the user's cache folder
    (:func:`gradgrader._cache.cache_dir`)."""
    return cache_dir() / "sandbox-probe.json"


def _probe_key(exe: str) -> str:
    """What the bubblewrap probe's answer depends on: bubblewrap itself, the kernel and
    its user-namespace switches, the user, this interpreter and its numpy, and the
    arguments the probe passes. The key is their text itself: a digest would import
    hashlib (~3 ms, OpenSSL's loading) before a check's zygote is spawned (#17)."""
    import importlib.util

    parts: list[object] = [PROBE_CACHE_VERSION, exe, os.uname().release, os.uname().version, sys.executable, sys.version]
    parts += file_stamps(exe, sys.executable)
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
    return repr(parts)


def file_stamps(*paths: str) -> list[int]:
    """Size, modification time and inode of each file, for a probe's key (OSError if
    one cannot be read)."""
    stamps: list[int] = []
    for path in paths:
        st = os.stat(path)
        stamps += [st.st_size, st.st_mtime_ns, st.st_ino]
    return stamps


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


def remembered_probe(key: str) -> str | None:
    """The detail of a remembered successful probe with this key, else ``None``."""
    return _remembered_probes().get(key)


def remember_probe(key: str, detail: str) -> None:
    """Add the successful probe to the file, atomically, keeping the newest
    ``PROBE_CACHE_ENTRIES`` (best effort: an unwritable cache only costs time)."""
    path = probe_cache_file()
    probes = {k: v for k, v in _remembered_probes().items() if k != key}
    probes[key] = detail
    probes = dict(list(probes.items())[-PROBE_CACHE_ENTRIES:])
    write_atomically(path, json.dumps({"probes": probes}))


# The probes' answers kept by this process, cleared with the machine's (layers adds its own).
FORGET: list[Callable[[], None]] = []


def forget_probe() -> None:
    """Forget the remembered probes (this process's and the machine's): called when a
    sandbox that a probe said would start does not, so the next probe is a real one."""
    _probe_bwrap.cache_clear()
    for forget in FORGET:
        forget()
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
    if key and (detail := remembered_probe(key)) is not None:
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
        remember_probe(key, detail)
    return True, detail


# One probe at a time: `check` may start it in a thread while it imports the grader,
# and a second caller waits for that answer instead of starting bubblewrap again.
PROBING = threading.Lock()


def probe_is_cheap() -> bool:
    """Whether :func:`probe` answers now without starting bubblewrap: answered already
    in this process, no bubblewrap, or a success remembered for this machine."""
    if _probe_bwrap.cache_info().currsize:
        return True
    exe = shutil.which("bwrap")
    if exe is None or not sys.platform.startswith("linux"):
        return True
    try:
        return remembered_probe(_probe_key(exe)) is not None
    except OSError:
        return False


def namespaces_available() -> bool:
    """The namespaces layer, as :func:`gradgrader.sandbox.layers.probe` finds it: all
    that a zygote's command depends on."""
    with PROBING:
        return sys.platform.startswith("linux") and _probe_bwrap()[0] and "namespaces" not in disabled()


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
