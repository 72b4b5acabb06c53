"""The ``gradgrader`` command: parses, calls the engine, renders. No grading logic here.

One module per group of commands (``student``: check and init; ``classroom``: grade;
``classwork``: review and similarity; ``authoring``: the course author's; ``machine``:
Gradescope and doctor); ``_app`` holds the Typer app and what they share. Commands are
registered here, in the order ``gradgrader --help`` lists them.
"""

from __future__ import annotations

import os
from typing import Any

from gradgrader.cli._app import app
from gradgrader.cli.authoring import list_assignments, new_assignment, pack, validate
from gradgrader.cli.classroom import grade
from gradgrader.cli.classwork import review, similarity
from gradgrader.cli.machine import doctor, gradescope
from gradgrader.cli.student import check, init

app.command()(check)
app.command()(grade)
app.command()(review)
app.command()(init)
app.command()(validate)
app.command("new-assignment")(new_assignment)
app.command()(pack)
app.command()(gradescope)
app.command()(doctor)
app.command()(similarity)
app.command("assignments")(list_assignments)

__all__ = ["app", "main"]


# A grader's arrays are small and ``--jobs`` already uses every core: a multi-threaded
# BLAS only spins its idle threads between tiny products, and those spinning threads
# took the CPU the students' processes needed (measured: 14.4 CPU-seconds for 200
# submissions instead of 8.1, on 2 cores, #17). One thread per process, unless the
# user asked for more; set before numpy is first imported (the command imports it).
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def one_blas_thread(environ: Any = os.environ) -> None:
    """Ask every BLAS for one thread in this process, unless the user set any of these
    (OpenBLAS reads its own variable before ``OMP_NUM_THREADS``: setting only the
    others would override the user's choice)."""
    if any(name in environ for name in BLAS_THREADS):
        return
    for name in BLAS_THREADS:
        environ[name] = "1"


def main() -> Any:
    """Console-script entry point."""
    one_blas_thread()
    return app()
