"""Grading throughput on a Dask cluster beside local grading (same class, same machine).

    python benchmarks/bench_dask.py                       # 40 submissions, 2-worker LocalCluster
    python benchmarks/bench_dask.py --n 200 --workers 4 --chunk-size 8
    python benchmarks/bench_dask.py --cluster tcp://scheduler:8786   # a real cluster

1. Generates ``n`` softmax submissions (the mix of shipped correct and wrong samples used
   by bench_grade.py, each made unique by a comment).
2. Local: a fresh ``Grader(jobs=W)`` and its ``grade_all`` (what ``gradgrader grade
   --jobs W`` runs), every result written through ``ResultsWriter`` as the CLI does.
3. Dask: the same class through ``ClusterGrader`` on a LocalCluster of W worker processes
   (one thread each) — or on ``--cluster``. Reported separately: starting the cluster
   and checking its workers; a cold pass (each worker process loads the assignment,
   computes reference outputs and starts its sandbox); warm passes on the same workers.
   Local and warm passes alternate ``--rounds`` times and the best of each is reported,
   so that a machine busy with other work slows both alike.
4. Checks that every submission's result equals the local one (timings left out).

Prints a table and one JSON line. Never fails on timing; exits 1 if results differ.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "assignments" / "softmax" / "samples"
MIX = [
    "correct-vectorized", "correct-float32", "sign-flipped", "missing-normalization",
    "wrong-regularization", "missing-indicator-term", "unstable-softmax", "transposed",
    "correct-vectorized", "jacobian-missing-diagonal",
]
STAGED = re.compile(r"/[^\s\"']*/stage/s\d+/(?:work/)?")


def make_class(folder: Path, n: int) -> None:
    for i in range(n):
        source = (SAMPLES / MIX[i % len(MIX)] / "softmax.py").read_text()
        student = folder / f"student{i:05d}"
        student.mkdir(parents=True)
        (student / "softmax.py").write_text(f"# submission {i}\n{source}")


def comparable(result) -> str:
    from gradgrader.results import dumps

    obj = json.loads(STAGED.sub("<staged>/", dumps(result)))
    obj.pop("elapsed_s", None)
    return json.dumps(obj, sort_keys=True)


def run(results, out: Path) -> tuple[float, dict[str, str]]:
    from gradgrader.results import ResultsWriter

    writer = ResultsWriter(out, fresh=True)
    got: dict[str, str] = {}
    start = time.perf_counter()
    for r in results:
        writer.write(r)
        got[r.submission] = comparable(r)
    elapsed = time.perf_counter() - start
    writer.close()
    return elapsed, got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="submissions in the class (default 40)")
    ap.add_argument("--workers", type=int, default=2, help="local jobs and LocalCluster worker processes (default 2)")
    ap.add_argument("--chunk-size", type=int, default=4, help="submissions per Dask task (default 4)")
    ap.add_argument("--cluster", default="", help="a scheduler address instead of a LocalCluster")
    ap.add_argument("--rounds", type=int, default=3, help="local and warm Dask passes, interleaved; the best of each is reported (default 3)")
    args = ap.parse_args()

    import distributed

    from gradgrader.assignment import load_assignment
    from gradgrader.distributed import ClusterGrader
    from gradgrader.grading import Grader
    from gradgrader.ingest import discover
    from gradgrader.rubric import resolve_rubric

    spec = load_assignment("softmax")
    rubric = resolve_rubric(spec)
    tmp = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    try:
        make_class(tmp / "class", args.n)
        subs = discover(tmp / "class", spec.filename)

        def local_pass() -> tuple[float, dict[str, str]]:
            # As `gradgrader grade --jobs W` does: a fresh Grader (reference, sandboxes) per run.
            start = time.perf_counter()
            with Grader(spec, rubric, jobs=args.workers, hidden=[tmp]) as grader:
                _, got = run(grader.grade_all(subs), tmp / "out-local")
            return time.perf_counter() - start, got

        start = time.perf_counter()
        if args.cluster:
            client, cluster = distributed.Client(args.cluster), None
            where = args.cluster
        else:
            cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=50)
            client = distributed.Client(cluster)
            where = f"LocalCluster, {args.workers} worker processes x 1 thread"
        engine = ClusterGrader(client, spec, rubric, chunk_size=args.chunk_size).connect()
        startup_s = time.perf_counter() - start
        cold_s, cold = run(engine.grade_all(subs), tmp / "out-dask-cold")
        local_times, warm_times = [], []
        local, warm = {}, {}
        for _ in range(max(1, args.rounds)):  # interleaved: a busy machine slows both alike
            t, local = local_pass()
            local_times.append(t)
            t, warm = run(engine.grade_all(subs), tmp / "out-dask-warm")
            warm_times.append(t)
        local_s, warm_s = min(local_times), min(warm_times)
        engine.close()
        client.close()
        if cluster is not None:
            cluster.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    differ = sorted(k for k in local if cold.get(k) != local[k] or warm.get(k) != local[k])
    n = args.n
    figures = {
        "n": n,
        "workers": args.workers,
        "chunk_size": args.chunk_size,
        "cluster": where,
        "local_jobs_sub_per_s": round(n / local_s, 2),
        "local_s": round(local_s, 2),
        "local_s_all": [round(t, 2) for t in local_times],
        "dask_warm_s_all": [round(t, 2) for t in warm_times],
        "dask_startup_s": round(startup_s, 2),
        "dask_cold_sub_per_s": round(n / cold_s, 2),
        "dask_cold_s": round(cold_s, 2),
        "dask_warm_sub_per_s": round(n / warm_s, 2),
        "dask_warm_s": round(warm_s, 2),
        "dask_total_incl_startup_sub_per_s": round(n / (startup_s + cold_s), 2),
        "results_identical": not differ,
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "dask": distributed.__version__,
    }
    print(f"{n} softmax submissions, {os.cpu_count()} CPU(s), load average {figures['load_avg_1m']}")
    print(f"  local, Grader --jobs {args.workers} (best of {len(local_times)}): {figures['local_jobs_sub_per_s']:6.2f} sub/s  ({local_s:.1f} s)")
    print(f"  dask ({where}), chunks of {args.chunk_size}:")
    print(f"    start cluster + check workers:      {startup_s:6.1f} s")
    print(f"    cold pass (workers load course):    {figures['dask_cold_sub_per_s']:6.2f} sub/s  ({cold_s:.1f} s)")
    print(f"    warm pass (same workers, best of {len(warm_times)}): {figures['dask_warm_sub_per_s']:6.2f} sub/s  ({warm_s:.1f} s)")
    print(f"    start + cold, end to end:           {figures['dask_total_incl_startup_sub_per_s']:6.2f} sub/s")
    print(f"  results identical to local: {'yes' if not differ else 'NO: ' + ', '.join(differ[:10])}")
    print(json.dumps(figures))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
