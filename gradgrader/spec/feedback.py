"""``feedback.toml``: the explanation and next step of each mistake id."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gradgrader._toml import load_toml
from gradgrader.errors import ConfigError
from gradgrader.spec.models import Assignment, Feedback, _frozen
from gradgrader.spec.reader import Reader, reflow


def parse_feedback(path: Path) -> Mapping[str, Feedback]:
    if not path.is_file():
        return _frozen({})
    data = load_toml(path)
    out: dict[str, Feedback] = {}
    for mistake, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{mistake}] must be a table with title and explanation")
        # [mistake.FUNCTION] tables: the explanation of that mistake on that function
        # (kept under "mistake@function"); the plain [mistake] is the fallback.
        per_function = {k: v for k, v in table.items() if isinstance(v, dict)}
        for function, sub in per_function.items():
            out[f"{mistake}@{function}"] = _parse_one_feedback(path, sub, f"{mistake}.{function}", mistake)
        own = {k: v for k, v in table.items() if k not in per_function}
        if own or not per_function:
            out[mistake] = _parse_one_feedback(path, own, mistake, mistake)
    return _frozen(out)


def _parse_one_feedback(path: Path, table: dict, where: str, mistake: str) -> Feedback:
    r = Reader(path, table, where)
    r.unknown_keys({"title", "explanation", "next_step"})
    return Feedback(
        title=r.get("title", str, mistake),
        explanation=reflow(r.get("explanation", str)),
        next_step=reflow(r.get("next_step", str, "")),
    )


def variant_hooks(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(mistake id, hook name) of a diagnosis table's ``variants``, in order: a mistake
    may name one hook or a list (one wrong answer in several shapes, e.g. ∇_x xᵀAx as the
    (D,) vector and as a (D, D) outer product)."""
    out: list[tuple[str, str]] = []
    for mistake, hooks in dict(config.get("variants") or {}).items():
        for name in hooks if isinstance(hooks, list) else [hooks]:
            out.append((str(mistake), str(name)))
    return out


def feedback_for(assignment: Assignment, mistake: str, function: str) -> Feedback | None:
    """The explanation of ``mistake`` where it was found: the one written for
    ``function`` ([mistake.function] in feedback.toml), else the mistake's own."""
    return assignment.feedback.get(f"{mistake}@{function}") or assignment.feedback.get(mistake)

