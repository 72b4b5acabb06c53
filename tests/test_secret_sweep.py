"""scripts/secret_sweep.py: an assignment's samples graded under random course secrets
(in this process, the course's own files). It found a correct gmm losing points on one
draw in a few thousand, and stability cases of softmax that some draws did not test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "secret_sweep.py"


def _sweep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def test_the_shipped_samples_keep_their_verdicts_under_a_few_secrets() -> None:
    done = _sweep("gmm", "--secrets", "3", "--seed", "tests")  # the same secrets in every run
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("0 reported")


def test_a_sample_that_loses_points_under_a_secret_is_reported(tmp_path: Path) -> None:
    """A full_marks sample that is not right (here: a softmax that is wrong only on
    unusual logits) is reported with the secret and the check, and the sweep exits 1."""
    import shutil

    course = tmp_path / "softmax"
    root = Path(__file__).resolve().parents[1] / "assignments" / "softmax"
    shutil.copytree(root, course, ignore=shutil.ignore_patterns("samples", "__pycache__"))
    (course / "samples" / "almost").mkdir(parents=True)
    source = (root / "samples" / "correct-vectorized" / "softmax.py").read_text()
    (course / "samples" / "almost" / "softmax.py").write_text(
        source + "\n_right = logsumexp\n\ndef logsumexp(z):\n    return _right(z) if abs(z).max() < 100 else 0.0\n"
    )
    (course / "samples" / "EXPECTED.toml").write_text('[almost]\nstatus = "graded"\nfull_marks = true\n')
    done = _sweep(str(course), "--secrets", "2", "--seed", "tests")
    assert done.returncode == 1
    assert "almost under secret" in done.stdout and "logsumexp.stable" in done.stdout


def test_an_unknown_assignment_or_a_course_without_samples_is_said_in_one_line(tmp_path: Path) -> None:
    unknown = _sweep("no-such-assignment", "--secrets", "1")
    assert unknown.returncode == 2 and "unknown assignment" in unknown.stderr and "Traceback" not in unknown.stderr
    import shutil

    course = tmp_path / "softmax"
    shutil.copytree(Path(__file__).resolve().parents[1] / "assignments" / "softmax", course,
                    ignore=shutil.ignore_patterns("samples", "__pycache__"))
    bare = _sweep(str(course), "--secrets", "1")
    assert bare.returncode == 2 and "EXPECTED.toml" in bare.stderr and "Traceback" not in bare.stderr
