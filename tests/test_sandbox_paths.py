"""What a student process may read under Landlock, and where scratch space lives."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from gradgrader.sandbox.runner import new_run_dir, scratch_home

ZYGOTE = Path(__file__).resolve().parents[1] / "gradgrader" / "sandbox" / "_zygote.py"


def zygote_module():
    spec = importlib.util.spec_from_file_location("_zygote_under_test", ZYGOTE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_a_folder_holding_site_packages_is_recognised() -> None:
    z = zygote_module()
    site_packages = next(iter(z._site_packages()))
    assert z._holds_packages(site_packages)
    assert z._holds_packages(os.path.dirname(site_packages))
    assert not z._holds_packages(os.path.join(site_packages, "numpy"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_scratch_left_by_a_killed_run_is_removed_and_live_ones_are_kept(tmp_path: Path) -> None:
    home = scratch_home()
    dead_pid = 2**22 + 12345  # above pid_max: no such process
    stale = home / f"run-{dead_pid}-test"
    stale.mkdir()
    (stale / "staged.py").write_text("x = 1\n")
    live = home / f"run-{os.getpid()}-test"
    live.mkdir()
    try:
        fresh = new_run_dir()
        assert not stale.exists()
        assert live.exists()
        assert fresh.parent == home and fresh.name.startswith(f"run-{os.getpid()}-")
        assert oct(home.stat().st_mode & 0o777) == "0o700"
    finally:
        for d in (live, stale):
            if d.exists():
                import shutil

                shutil.rmtree(d)
        fresh.rmdir()
