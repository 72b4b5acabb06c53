"""gradgrader/sandbox/_confine.py: what the student's process does to itself before it runs
student code (seccomp, capabilities, no_new_privs), checked from inside a child."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import LANDLOCK, STANDARD, attack, isolation, limited_session, load_by_path, module

from gradgrader.sandbox import Sandbox, Session
from gradgrader.sandbox.layers import probe
from gradgrader.sandbox.runner import Problem

SECCOMP = probe().has("seccomp")


needs_standard = pytest.mark.skipif(not (LANDLOCK and SECCOMP), reason="needs Landlock and seccomp")


@pytest.fixture
def victim():
    """Another process of the grader's user (a sibling's stand-in)."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def _report(s: Session) -> dict:
    line = next(x for x in s.output().splitlines() if x.startswith("GGATK-REPORT "))
    return json.loads(line.split(" ", 1)[1])


@needs_standard
@pytest.mark.parametrize("off", [STANDARD, ()], ids=["standard", "strong"])
def test_a_child_cannot_relimit_signal_or_outrank_other_processes(tmp_path, victim, off):
    before = resource.prlimit(victim, resource.RLIMIT_NOFILE)
    path = attack("other-processes", tmp_path / "s", GRADER_PID=str(victim))
    with Sandbox(tmp_path / "box", isolation(*off)) as box:
        with limited_session(box, path) as s:
            got = s.call("softmax_jacobian", [np.zeros(3)], ["J"], 10.0)
        report = _report(s)
    assert isinstance(got, Problem) and "refused" in got.message, sorted(k for k, v in report.items() if v)
    assert report and not any(report.values()), report
    assert resource.prlimit(victim, resource.RLIMIT_NOFILE) == before


def test_capabilities_are_dropped_and_no_new_privs_set_at_every_level(tmp_path):
    """Even with every layer off (process + rlimits only), as root or not."""
    path = module(tmp_path / "s", """
        def status(x):
            with open("/proc/self/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            raise ValueError(repr({k: fields[k].strip() for k in fields if k.startswith("Cap") or k == "NoNewPrivs"}))
    """)
    with Sandbox(tmp_path / "box", isolation("namespaces", "landlock", "seccomp")) as box, limited_session(box, path) as s:
        got = s.call("status", [np.zeros(1)], ["v"], 10.0)
    assert isinstance(got, Problem) and got.exc_type == "ValueError"
    fields = eval(got.message)  # noqa: S307 - our own repr of a dict of strings
    assert {k: v for k, v in fields.items() if k.startswith("Cap")} == dict.fromkeys(
        ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"), "0000000000000000"
    )
    assert fields["NoNewPrivs"] == "1"


CONFINE = Path(__file__).resolve().parents[1] / "gradgrader" / "sandbox" / "_confine.py"


def _confine_module():
    return load_by_path(CONFINE, "_confine_under_test")


@pytest.mark.skipif(not SECCOMP, reason="needs seccomp")
def test_the_compiled_filter_is_libseccomps_own_program_for_each_pid():
    """The zygote compiles the filter once (#17); a child writes its pid into it. That
    program is byte for byte the one libseccomp compiles for that pid."""
    c = _confine_module()
    template = c.seccomp_template()
    assert template is not None
    for pid in (1, 300, 65536, 4_000_000):
        assert c.with_pid(template, pid) == c._program(pid)
    assert c.with_pid(template, 300) != c.with_pid(template, 301)


@pytest.mark.skipif(not SECCOMP, reason="needs seccomp")
def test_the_zygote_compiles_the_filter_and_its_children_are_still_confined(tmp_path, victim):
    """With the compiled filter in use, a child still cannot signal another process or
    start one, and can still signal itself."""
    path = module(tmp_path / "s", f"""
import os, signal
def f(x):
    out = []
    for action in (lambda: os.kill({victim}, 0), lambda: os.fork(), lambda: os.kill(os.getpid(), 0)):
        try:
            action()
            out.append(0.0)
        except PermissionError:
            out.append(1.0)
    return out
""")
    with Sandbox(tmp_path / "box", isolation()) as box, limited_session(box, path) as s:
        assert box.zygote.info["seccomp_compiled"] is True
        got = s.call("f", [np.zeros(1)], ["v"], 10.0)
        assert [float(v) for v in got.values[0]] == [1.0, 1.0, 0.0], got


@pytest.mark.skipif(not LANDLOCK, reason="the kernel has no Landlock")
def test_prepared_read_rules_are_shared_by_paths_to_one_file_and_grant_what_opening_them_would(tmp_path):
    """The zygote's prepared Landlock rules (#17): a folder and a symbolic link to it
    (/lib and /usr/lib on a merged /usr) share one rule, added once; a child restricted
    with the prepared rules reads beneath both names, and nothing else, exactly as one
    restricted with rules it opens itself."""
    import os

    landlock = load_by_path(Path(__file__).parent.parent / "gradgrader/sandbox/_landlock.py", "_ggtest_landlock")
    real, other = tmp_path / "real", tmp_path / "other"
    for folder in (real, other):
        folder.mkdir()
        (folder / "f.txt").write_text("x")
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "file-link").symlink_to(real / "f.txt")
    paths = [str(real), str(tmp_path / "link"), str(real / "f.txt"), str(tmp_path / "file-link")]
    prepared = landlock.prepare(paths)
    assert prepared[str(real)][2] is prepared[str(tmp_path / "link")][2]  # one rule
    assert prepared[str(real / "f.txt")][2] is prepared[str(tmp_path / "file-link")][2]
    assert prepared[str(real)][2] is not prepared[str(real / "f.txt")][2]
    try:
        for given in (prepared, None):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: restrict itself, report what it can read
                code = 0
                try:
                    landlock.restrict(read=paths, write=[], prepared=given)
                    seen = []
                    for name in ("real/f.txt", "link/f.txt", "file-link", "other/f.txt"):
                        try:
                            (tmp_path / name).read_text()
                            seen.append(name)
                        except OSError:
                            pass
                    os.write(write, json.dumps(seen).encode())
                except BaseException:  # noqa: BLE001
                    code = 1
                finally:
                    os._exit(code)
            os.close(write)
            with os.fdopen(read) as f:
                seen = json.loads(f.read() or "null")
            assert os.waitpid(pid, 0)[1] == 0
            assert seen == ["real/f.txt", "link/f.txt", "file-link"], (given is not None, seen)
    finally:
        for fd, _, _ in prepared.values():
            os.close(fd)


CONFINE = Path(__file__).parent.parent / "gradgrader/sandbox/_confine.py"


def _fresh_confine(before: str, after: str, sonames: str = "") -> str:
    """What a fresh interpreter prints that runs ``before``, loads the sandbox's
    _confine by path (with ``sonames`` written over its table of sonames, if given),
    then runs ``after``. Skips where pyseccomp is not installed."""
    import sys

    source = CONFINE.read_text()
    if sonames:
        source = source.replace('_SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}', f"_SONAMES = {sonames}")
        assert f"_SONAMES = {sonames}" in source
    probe = (
        "import importlib.util, sys, types\n"
        f"{before}\n"
        "confine = types.ModuleType('_ggtest_confine')\n"
        f"exec(compile({source!r}, {str(CONFINE)!r}, 'exec'), confine.__dict__)\n"
        "if importlib.util.find_spec('pyseccomp') is None: print('none'); sys.exit()\n"
        "assert confine.pyseccomp is not None, 'pyseccomp did not load'\n"
        f"{after}\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "none":
        pytest.skip("no pyseccomp here")
    return out.stdout


def test_pyseccomp_is_loaded_with_the_libraries_ldconfig_would_name_without_running_it():
    """The sandbox's interpreter imports pyseccomp giving ``find_library`` the sonames
    it would find by running ``ldconfig -p`` twice (~5 ms of every sandbox's start,
    #17): the same libraries, and ``find_library`` itself left as it was."""
    out = _fresh_confine(
        "import ctypes.util, subprocess\n"
        "runs = []\n"
        "real = subprocess.Popen.__init__\n"
        "def counted(self, args, *a, **k):\n"
        "    runs.append(args)\n"
        "    real(self, args, *a, **k)\n"
        "subprocess.Popen.__init__ = counted\n"
        "search = ctypes.util.find_library\n",
        "assert ctypes.util.find_library is search\n"
        "assert runs == [], runs\n"
        "print(confine.pyseccomp._libseccomp_path == search('seccomp'), confine.pyseccomp._libseccomp_path)\n",
    )
    assert out.split()[0] == "True", out


def test_pyseccomp_is_loaded_without_ctypes_util_and_what_it_imports():
    """``ctypes.util`` would bring ``subprocess``, ``threading``, ``tempfile`` and
    ``random`` into the zygote: milliseconds of its start, and at-fork handlers run in
    every child (#17). None of them is imported, and ``ctypes.util`` imported afterwards
    is the real one."""
    out = _fresh_confine(
        "",
        "print(sorted(m for m in ('ctypes.util', 'subprocess', 'threading', 'tempfile', 'random') if m in sys.modules))\n"
        "print(confine.pyseccomp._libseccomp_path)\n"
        "import ctypes.util\n"
        "print(ctypes.util.find_library.__module__, hasattr(ctypes.util, '_findSoname_ldconfig'))\n",
    )
    modules, library, real = out.splitlines()
    assert modules == "[]"
    assert library == "libseccomp.so.2"
    assert real == "ctypes.util True"  # the real module (it has ldconfig's helper)


def test_a_library_whose_soname_does_not_load_is_found_by_the_real_ctypes_util():
    """The stand-in only answers names that load; anything else is looked up as before
    (here a soname that does not exist), and the real module is what stays imported."""
    out = _fresh_confine(
        "",
        "import ctypes.util\n"
        "print(confine.pyseccomp._libseccomp_path == ctypes.util.find_library('seccomp'))\n"
        "print(hasattr(sys.modules['ctypes.util'], '_findSoname_ldconfig'))\n",
        sonames='{"c": "libc.so.6", "seccomp": "libseccomp-no-such.so.9"}',
    )
    assert out.splitlines() == ["True", "True"]
