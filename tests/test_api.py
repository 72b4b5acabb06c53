"""The public API (gradgrader/__init__.py): every name in ``__all__`` resolves, the
package stays light to import, and ``gradgrader.grade`` grades as ``check`` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gradgrader
from gradgrader.sandbox import layers

SAMPLES = Path(__file__).resolve().parents[1] / "assignments" / "softmax" / "samples"


def test_every_public_name_resolves() -> None:
    for name in gradgrader.__all__:
        assert getattr(gradgrader, name) is not None, name
    assert set(gradgrader.__all__) <= set(dir(gradgrader))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gradgrader.nope  # noqa: B018


def test_the_names_are_the_engines_own() -> None:
    from gradgrader.assignment import load_assignment
    from gradgrader.result import Result

    assert gradgrader.Result is Result
    assert gradgrader.load_assignment is load_assignment


def test_import_gradgrader_loads_no_engine() -> None:
    code = "import sys, gradgrader; print(sorted(m for m in sys.modules if m.startswith(('gradgrader.', 'numpy'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "numpy" not in loaded and "gradgrader.grading" not in loaded and "gradgrader.cli" not in loaded, loaded


def test_grade_names_the_mistake_and_gives_full_marks_to_correct_code() -> None:
    right = gradgrader.grade(SAMPLES / "correct-vectorized" / "softmax.py", "softmax")
    assert isinstance(right, gradgrader.Result)
    assert right.status == "graded" and right.full_marks, right.message
    wrong = gradgrader.grade(SAMPLES / "sign-flipped", gradgrader.load_assignment("softmax"))
    assert not wrong.full_marks and "sign-flipped" in wrong.mistakes


def test_grade_refuses_a_weak_sandbox_unless_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    weak = layers.Isolation((layers.Layer("process", True, ""), layers.Layer("rlimits", True, "")))
    monkeypatch.setattr(layers, "probe", lambda: weak)
    with pytest.raises(gradgrader.SandboxError, match="--allow-weak-sandbox"):
        gradgrader.grade(SAMPLES / "correct-vectorized" / "softmax.py", "softmax")
    assert layers.require_isolation(allow_weak=True) is weak


def test_one_policy_for_every_front_end() -> None:
    """check (strict=False), grade, re-grading, Dask workers and the API ask the same question."""
    assert layers.weak_refused("weak", allow_weak=False)
    assert not layers.weak_refused("weak", allow_weak=True)
    assert not layers.weak_refused("weak", allow_weak=False, strict=False)  # a student's own file
    assert not layers.weak_refused("standard", allow_weak=False)
    assert not layers.weak_refused("strong", allow_weak=False)
