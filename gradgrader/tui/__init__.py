"""``gradgrader review``: a Textual app to review a class's failures.

Importing this package does not import textual; :func:`run_review` does, so the
command line stays fast for every other command. Logic lives in
``gradgrader.review`` and ``gradgrader.overrides``; this package holds screens,
widgets (``app``), rich renderables (``views``) and styles (``app.tcss``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_review(
    out: Path | None = None,
    results: list[dict[str, Any]] | None = None,
    run: dict[str, Any] | None = None,
    allow_weak_sandbox: bool = False,
) -> None:
    """Open the review UI on a results folder (``out``) or on given results (``check --review``).

    ``run`` says how to re-grade (``assignment_path``, ``rubric``, ``class_folder``,
    ``check_path``, ``strict_sandbox``); by default it is ``out/run.json``.
    ``allow_weak_sandbox`` lets re-grading run where the sandbox is weak, as
    ``grade --allow-weak-sandbox`` does."""
    from gradgrader.review import load_run
    from gradgrader.tui.app import ReviewApp

    info = dict(run if run is not None else load_run(out))
    if allow_weak_sandbox:
        info["allow_weak_sandbox"] = True
    ReviewApp(out=out, results=results, run=info).run()


__all__ = ["run_review"]
