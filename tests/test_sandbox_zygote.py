"""gradgrader/sandbox/zygote.py and _zygote.py: the zygote client and the zygote, the parent of every student process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from conftest import MEMORY_MB, limited_session, load_by_path, module

from gradgrader.sandbox import Returned, Sandbox


def test_the_address_space_limit_is_the_measured_baseline_plus_memory_mb(tmp_path):
    path = module(tmp_path / "s", """
        import resource
        def limit(x):
            return float(resource.getrlimit(resource.RLIMIT_AS)[0])
    """)
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        got = s.call("limit", [np.zeros(1)], ["v"], 10.0)
        baseline = box.zygote.baseline_mb
    assert isinstance(got, Returned)
    if sys.platform.startswith("linux"):
        assert baseline > 0  # numpy alone is tens of MiB
    assert int(got.values[0]) == (baseline + MEMORY_MB) << 20


ZYGOTE = Path(__file__).resolve().parents[1] / "gradgrader" / "sandbox" / "_zygote.py"


def zygote_module():
    return load_by_path(ZYGOTE, "_zygote_under_test")


def test_the_read_allow_list_never_contains_site_packages_or_gradgrader() -> None:
    z = zygote_module()
    paths = z.read_paths()
    assert paths
    for p in paths:
        real = os.path.realpath(p)
        # no allowed folder is, or contains, a site-packages (in a virtualenv the standard
        # library's folder is site-packages' parent: it must come in entry by entry)
        assert not any(sp == real or sp.startswith(real + os.sep) for sp in z._site_packages()), p
        assert "gradgrader" not in Path(p).name.lower(), p
    import numpy

    assert os.path.dirname(numpy.__file__) in paths  # what a submission needs is still there


def _holds_packages(z, path: str) -> bool:
    """A folder that is, or contains, a site-packages folder, its path resolved from the root."""
    real = os.path.realpath(path)
    return any(sp == real or sp.startswith(real.rstrip(os.sep) + os.sep) for sp in z._site_packages())


def test_a_folder_holding_site_packages_is_recognised() -> None:
    z = zygote_module()
    site_packages = next(iter(z._site_packages()))
    held = z._folders_holding_packages()
    assert site_packages in held and os.path.dirname(site_packages) in held and "/" in held
    assert os.path.join(site_packages, "numpy") not in held
    assert _holds_packages(z, os.path.dirname(site_packages)) and not _holds_packages(z, os.path.join(site_packages, "numpy"))


def _naive_allowed(z, candidates):
    """What read_paths kept before #17's rewrite: each path resolved from the root."""
    return sorted(p for p in candidates if os.path.exists(p) and not _holds_packages(z, p))


def test_the_entries_keep_what_resolving_every_path_from_the_root_keeps(tmp_path) -> None:
    z = zygote_module()
    site_packages = next(iter(z._site_packages()))
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "plain.py").write_text("")
    (lib / "pkg").mkdir()
    os.symlink(lib / "plain.py", lib / "link.py")  # a link to a file: resolved
    os.symlink(tmp_path / "nowhere", lib / "dangling")  # a broken link: left out
    os.symlink(site_packages, lib / "packages")  # a link to site-packages: left out
    os.symlink(os.path.dirname(site_packages), lib / "above")  # to a folder holding it: left out
    os.symlink(os.path.join(site_packages, "numpy"), lib / "numpy")  # into it: kept
    linked = tmp_path / "linked"
    os.symlink(lib, linked)  # the folder itself reached through a link
    for folder in (lib, linked):
        entries = z._Entries()
        entries.add_entries(str(folder), lambda e: True)
        candidates = [os.path.join(folder, e) for e in os.listdir(folder)]
        assert sorted(entries.allowed()) == _naive_allowed(z, candidates)
        assert {os.path.basename(p) for p in entries.allowed()} == {"plain.py", "pkg", "link.py", "numpy"}


def test_read_paths_are_what_resolving_every_candidate_from_the_root_gives() -> None:
    import sysconfig

    z = zygote_module()
    where = sysconfig.get_paths()
    candidates = set()
    for d in {where["stdlib"], where["platstdlib"], os.path.dirname(os.__file__)}:
        candidates.update(os.path.join(d, e) for e in os.listdir(d) if e not in {"site-packages", "dist-packages"})
    for d in {where["purelib"], where["platlib"], os.path.dirname(os.path.dirname(np.__file__))}:
        candidates.update(os.path.join(d, e) for e in os.listdir(d)
                          if e.lower() == "numpy" or e.lower().startswith(("numpy-", "numpy.")))
    for d in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib"):
        if os.path.isdir(d):
            candidates.update(os.path.join(d, e) for e in os.listdir(d) if not e.startswith("python"))
    candidates.update(["/dev/null", "/dev/urandom", "/dev/zero", "/etc/ld.so.cache", "/usr/share/zoneinfo"])
    assert z.read_paths() == _naive_allowed(z, candidates)


def _copy_of_the_zygote(tmp_path, monkeypatch):
    import shutil

    import gradgrader.sandbox.zygote as zygote

    folder = tmp_path / "sandbox"
    folder.mkdir()
    for name in zygote.ZYGOTE_MODULES:
        shutil.copy(ZYGOTE.with_name(f"{name}.py"), folder)
    monkeypatch.setattr(zygote, "ZYGOTE", folder / "_zygote.py")
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return zygote, folder


def _loads_cached(path: Path) -> bool:
    """Whether an import of ``path`` takes its cached bytecode (it never compiles it)."""
    import importlib.machinery

    loader = importlib.machinery.SourceFileLoader(f"_under_test_{path.stem}", str(path))

    def compiled(*args, **kwargs):
        raise AssertionError("compiled from source")

    loader.source_to_code = compiled  # type: ignore[method-assign]
    try:
        loader.get_code(loader.name)
    except AssertionError:
        return False
    return True


def test_the_zygotes_modules_are_loaded_from_bytecode_the_grader_caches(tmp_path, monkeypatch) -> None:
    # The zygote runs with -B under a read-only root: without this every zygote compiled
    # ~900 lines on its start (#17).
    zygote, folder = _copy_of_the_zygote(tmp_path, monkeypatch)
    assert not any(_loads_cached(folder / f"{n}.py") for n in zygote.ZYGOTE_MODULES)
    zygote.cache_bytecode.__wrapped__()
    assert all(_loads_cached(folder / f"{n}.py") for n in zygote.ZYGOTE_MODULES)
    # A changed source: its stale bytecode is written again.
    child = folder / "_child.py"
    child.write_text(child.read_text() + "\n# changed\n")
    os.utime(child, (1, 1))
    assert not _loads_cached(child)
    zygote.cache_bytecode.__wrapped__()
    assert _loads_cached(child)


def test_fresh_bytecode_costs_no_compiler_import_before_the_spawn(tmp_path, monkeypatch) -> None:
    # The check is made before py_compile (and traceback, which it imports) is loaded:
    # ~3 ms before every zygote's spawn, a check's critical path (#17).
    zygote, folder = _copy_of_the_zygote(tmp_path, monkeypatch)
    zygote.cache_bytecode.__wrapped__()
    monkeypatch.setitem(sys.modules, "py_compile", None)  # importing it would fail
    zygote.cache_bytecode.__wrapped__()  # all fresh: nothing imported
    assert all(_loads_cached(folder / f"{n}.py") for n in zygote.ZYGOTE_MODULES)


def test_no_bytecode_is_written_when_python_is_told_not_to(tmp_path, monkeypatch) -> None:
    zygote, folder = _copy_of_the_zygote(tmp_path, monkeypatch)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    zygote.cache_bytecode.__wrapped__()
    assert not (folder / "__pycache__").exists()


def test_the_zygote_runs_its_file_as_a_script_would(tmp_path) -> None:
    # LAUNCH loads _zygote.py as __main__ (from its cached bytecode) with the argv a
    # script gets: its path, then the arguments.
    import subprocess

    import gradgrader.sandbox.zygote as zygote

    script = tmp_path / "probe.py"
    script.write_text("import sys\nprint(__name__, sys.argv[1:], __file__ == sys.argv[0])\n")
    out = subprocess.run([sys.executable, "-I", "-B", "-c", zygote.LAUNCH, str(script), "7"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "__main__ ['7'] True"


def test_each_child_gets_a_new_private_scratch_folder_and_a_taken_name_is_skipped(tmp_path) -> None:
    """What ``tempfile.mkdtemp`` gave, without importing ``tempfile`` into the zygote
    (its ``random`` reseeds itself in every forked child, #17)."""
    z = zygote_module()
    first = z._new_scratch(str(tmp_path))
    taken = tmp_path / f"sub-{z._SCRATCHES[0] + 1}"
    taken.mkdir()  # the next name, already there: skipped, never reused
    (taken / "theirs").write_text("x")
    second = z._new_scratch(str(tmp_path))
    assert first != second and Path(second) != taken and (taken / "theirs").exists()
    for folder in (first, second):
        assert os.path.isabs(folder) and os.path.isdir(folder) and not os.listdir(folder)
        assert os.stat(folder).st_mode & 0o777 == 0o700


def test_a_child_finds_its_scratch_folder_through_tempfile(tmp_path) -> None:
    """The zygote no longer imports ``tempfile`` for its children to inherit: a student's
    ``tempfile``, imported in the child, still chooses the child's scratch folder."""
    path = module(tmp_path / "s", """
        import os, sys
        def where(x):
            loaded = "tempfile" in sys.modules
            import tempfile
            with tempfile.NamedTemporaryFile() as f:
                inside = os.path.dirname(f.name) == os.getcwd() == tempfile.gettempdir()
            return float(inside) + 2.0 * float(loaded)
    """)
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        got = s.call("where", [np.zeros(1)], ["v"], 10.0)
    assert isinstance(got, Returned)
    assert float(got.values[0]) == 1.0  # not imported before; then the scratch folder
