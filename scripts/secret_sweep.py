"""Grade an assignment's shipped samples under many random course secrets.

    python scripts/secret_sweep.py gmm --secrets 2000
    python scripts/secret_sweep.py softmax --secrets 200 --sample correct-vectorized

A course secret draws other inputs for every case (docs/grade.md): a verdict must not
depend on the draw. For each secret this grades every sample of the assignment's
``samples/EXPECTED.toml`` (or those named) with the checks of its rubric, and reports a
``full_marks`` sample that misses a case, and any other sample whose checks' fractions or
mistakes differ from its verdict under the first secret. The samples are the course's
own files and run in this process (no sandbox), so thousands of draws take minutes:
run it on a course's samples, never on students' code — and not on samples that hang or
end their process (only samples expected to be graded, and none whose expected
mistakes are ``timeout``, ``crashed`` or ``memory-limit``). Their printed output and warnings are dropped. Exit
status 1 if anything was reported. It found a correct gmm losing 0.125 points on one draw in a few thousand (a
near-singular 3 × 3 matrix; docs/checks.md, ``objective_gradient``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import secrets
import shutil
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the grader runs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from gradgrader.assignment import load_assignment  # noqa: E402
from gradgrader.cases import with_secret  # noqa: E402
from gradgrader.checks.context import CheckContext  # noqa: E402
from gradgrader.checks.inprocess import InProcessCaller  # noqa: E402
from gradgrader.checks.prepared import Course  # noqa: E402
from gradgrader.checks.registry import run_check  # noqa: E402
from gradgrader.conventions import choose_convention  # noqa: E402
from gradgrader.errors import GradgraderError  # noqa: E402
from gradgrader.rubric import resolve_rubric  # noqa: E402


class _Inert(types.ModuleType):
    """A plotting module that does nothing (the sandbox gives samples the same)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _sample_file(folder: Path, filename: str) -> Path:
    """A sample's file: ``samples/NAME.py``, or the file below its folder named as the
    assignment's (a project folder), else its first Python file."""
    if folder.with_suffix(".py").is_file():
        return folder.with_suffix(".py")
    found = sorted(folder.rglob(filename)) or sorted(folder.rglob("*.py"))
    if not found:
        raise SystemExit(f"{folder}: no Python file")
    return found[0]


def _functions(path: Path, name: str) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k: v for k, v in vars(module).items() if callable(v)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", help="a shipped assignment's name or an assignment folder")
    parser.add_argument("--secrets", type=int, default=500, help="how many random secrets (default 500)")
    parser.add_argument("--sample", action="append", default=[], help="only this sample (repeatable)")
    parser.add_argument("--seed", help="derive the secrets from this text (the same ones every run), instead of at random")
    args = parser.parse_args()

    for name in ("matplotlib", "matplotlib.pyplot"):
        sys.modules.setdefault(name, _Inert(name))
    try:
        spec0 = load_assignment(args.assignment)
        rubric = resolve_rubric(spec0)
        expected = tomllib.loads((spec0.root / "samples" / "EXPECTED.toml").read_text(encoding="utf-8"))
    except (GradgraderError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"secret_sweep: {exc}", file=sys.stderr)
        return 2
    ending = {"timeout", "crashed", "memory-limit"}  # hangs or ends the process: not here
    samples = {
        k: bool(v.get("full_marks")) for k, v in expected.items()
        if isinstance(v, dict) and v.get("status", "graded") == "graded" and not ending & set(v.get("mistakes", []))
    }
    if args.sample:
        samples = {k: samples.get(k, False) for k in args.sample}
    # The course's helpers (and nothing else of its folder), as the sandbox stages them.
    staged = Path(tempfile.mkdtemp(prefix="secret-sweep-"))
    try:
        return _sweep(args, spec0, rubric, samples, staged)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _sweep(args: argparse.Namespace, spec0: Any, rubric: Any, samples: dict[str, bool], staged: Path) -> int:
    """Grade ``samples`` under ``args.secrets`` secrets; 1 if anything was reported."""
    for helper in spec0.helpers:
        source = spec0.root / helper
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, staged / Path(helper).name)
    sys.path.insert(0, str(staged))
    files = {s: _sample_file(spec0.root / "samples" / s, spec0.filename) for s in samples}
    first: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {}
    reported = 0
    start = time.perf_counter()
    for n in range(args.secrets):
        secret = f"{args.seed}-{n}" if args.seed is not None else secrets.token_hex(16)
        course = Course(with_secret(spec0, secret))
        for sample, full_marks in samples.items():
            verdict = {}
            sys.path.insert(0, str(files[sample].parent))
            quiet = io.StringIO()
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    # Imported afresh for every secret, as each grading runs it in a new process.
                    functions = _functions(files[sample], f"sweep_{n}_{sample.replace('-', '_')}")
                finally:
                    sys.path.pop(0)
                ctx = CheckContext(course, InProcessCaller(functions, course.assignment))
                choose_convention(ctx)  # as grading does: a course with conventions grades each in its own
                results = []
                for check in spec0.checks:
                    if check.id not in rubric.items:
                        continue
                    try:
                        results.append(run_check(check, ctx))
                    except Exception as exc:  # noqa: BLE001 - a grader error is reported, the sweep goes on
                        reported += 1
                        print(f"{sample} under secret {secret}: {check.id}: grader error {type(exc).__name__}: {exc}",
                              file=sys.__stdout__, flush=True)
            for result in results:
                verdict[result.id] = (round(result.fraction, 6), tuple(sorted(result.mistakes)))
                if full_marks and result.fraction < 1:
                    reported += 1
                    print(f"{sample} under secret {secret}: {result.id} {result.message}", flush=True)
            if not full_marks:
                if sample not in first:
                    first[sample] = verdict
                elif verdict != first[sample]:
                    reported += 1
                    changed = {k: (first[sample][k], v) for k, v in verdict.items() if first[sample][k] != v}
                    print(f"{sample} under secret {secret}: another verdict than under the first: {changed}", flush=True)
    took = time.perf_counter() - start
    print(f"{spec0.name}: {len(samples)} samples × {args.secrets} secrets in {took:.0f} s, {reported} reported")
    return 1 if reported else 0


if __name__ == "__main__":
    raise SystemExit(main())
