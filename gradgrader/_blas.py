"""How many threads a BLAS may use in gradgrader's processes (#17): set by the command
(``gradgrader.cli.main``) before numpy is imported, and part of the key of a check's
remembered course values (their last bits depend on it)."""

from __future__ import annotations

import os
from typing import Any

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
