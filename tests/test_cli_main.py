"""gradgrader.cli.main: the console script's process settings (#17)."""

from __future__ import annotations

import subprocess
import sys

from gradgrader.cli import BLAS_THREADS, one_blas_thread


def test_every_blas_gets_one_thread_unless_the_user_chose() -> None:
    env = {"OMP_NUM_THREADS": "4"}
    one_blas_thread(env)
    assert env == {**{name: "1" for name in BLAS_THREADS}, "OMP_NUM_THREADS": "4"}


def test_the_command_runs_numpy_with_one_blas_thread() -> None:
    """Set before numpy loads: the grader's own numpy (references, checks) spins no idle
    BLAS threads that would take the students' processes' cores."""
    code = (
        "import os, sys\n"
        "for name in %r: os.environ.pop(name, None)\n"
        "sys.argv = ['gradgrader', '--help']\n"
        "import gradgrader.cli as cli\n"
        "assert 'numpy' not in sys.modules\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "import numpy\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'])\n"
    ) % (BLAS_THREADS,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "1"
