"""gradgrader/sandbox/runner.py: the Sandbox starting student processes through its zygote.
The grader's own failures (a child that fails its own set-up, a zygote that dies) are
retried once and then the grader's error, never the student's; a student's own exit
status stays the student's.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import (
    MEMORY_MB,
    limited_session,
    module,
)

from gradgrader.sandbox import ChildLimits, Returned, Sandbox, Session
from gradgrader.sandbox.runner import SandboxFailure

BROKEN = "not a number"  # fsize_mb that makes the child's own set-up raise (exit status 70)


def test_a_zygote_child_that_fails_its_own_setup_is_retried(tmp_path, monkeypatch):
    real = Sandbox._start_once
    seen = []

    def flaky(self, staged, module_name, functions, limits, *rest):
        seen.append(limits)
        if len(seen) == 1:
            limits = dataclasses.replace(limits, fsize_mb=BROKEN)
        return real(self, staged, module_name, functions, limits, *rest)

    monkeypatch.setattr(Sandbox, "_start_once", flaky)
    path = module(tmp_path / "s", "def f(x):\n    return 1.0\n")
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        assert s.load.ok
        assert isinstance(s.call("f", [np.zeros(1)], ["v"], 10.0), Returned)
    assert len(seen) == 2


def test_a_zygote_that_dies_is_replaced_once(tmp_path, monkeypatch):
    from gradgrader.sandbox.runner import Zygote

    real = Zygote.spawn
    seen = []

    def dying(self, request):
        seen.append(1)
        if len(seen) == 1:
            self.close()  # the zygote is gone: the spawn fails
        return real(self, request)

    monkeypatch.setattr(Zygote, "spawn", dying)
    path = module(tmp_path / "s", "def f(x):\n    return 1.0\n")
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        assert s.load.ok
    assert len(seen) == 2


def test_a_zygote_child_that_fails_twice_is_the_graders_error_not_the_students(tmp_path):
    path = module(tmp_path / "s", "def f(x):\n    return 1.0\n")
    limits = ChildLimits(memory_mb=MEMORY_MB, fsize_mb=BROKEN)  # type: ignore[arg-type]
    with Sandbox(tmp_path / "box") as box, pytest.raises(SandboxFailure) as caught:
        Session(box, path, "probe", [], limits, budget=60)
    message = str(caught.value)
    assert "twice" in message and "exit status 70" in message
    assert "exit() or os._exit()" not in message


def test_a_student_exiting_with_status_70_is_still_the_students(tmp_path):
    path = module(tmp_path / "s", "import os\nos._exit(70)\n")
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        assert not s.load.ok and s.load.problem is not None
        assert "70" in s.load.problem.message


def test_a_spawn_carries_only_the_submissions_own_read_paths_and_the_child_still_reads_numpy(tmp_path, monkeypatch):
    """The zygote's some 450 read-only paths are its own (found once, sent in its hello):
    a spawn names only the submission's folder and the course's, and the zygote puts its
    own first (#17). A child under Landlock that imports numpy proves they arrived."""
    from gradgrader.sandbox.zygote import Zygote

    sent = []
    real = Zygote.spawn

    def spawn(self, request):
        sent.append(request)
        return real(self, request)

    monkeypatch.setattr(Zygote, "spawn", spawn)
    path = module(tmp_path / "s", "import numpy.linalg\n\ndef f(x):\n    return float(numpy.linalg.norm(x))\n")
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        assert s.load.ok, s.load
        got = s.call("f", [np.ones(4)], ["v"], 10.0)
        assert isinstance(got, Returned) and float(got.values[0]) == 2.0
        own = box.zygote.info["read_paths"]
    layers = sent[0]["layers"]
    assert layers["read_own"] is True and len(own) > 20
    assert not set(own) & set(layers["read"]) and len(layers["read"]) <= 3
