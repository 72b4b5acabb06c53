"""Rubrics: points per check, partial credit, and the TA's own feedback text.

A rubric is TOML::

    assignment = "softmax"

    [checks."softmax_loss.gradient"]
    points = 2.0          # >= 0; 0 runs the check for information only
    partial = true        # credit the fraction of cases passed (default); false: all or nothing
    feedback = "..."      # shown to the student when the check fails (optional)
    zero_for = ["numerical-gradient"]  # mistakes that earn none of the points, however
                          # many cases pass (a dW by finite differences is right on most)

A check of the assignment that the rubric does not list is not run: a TA drops a
check by deleting its table, without touching Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gradgrader._toml import load_toml
from gradgrader.errors import ConfigError
from gradgrader.spec import Assignment, data_roots


@dataclass(frozen=True)
class RubricItem:
    check_id: str
    points: float
    partial: bool = True
    feedback: str = ""
    zero_for: tuple[str, ...] = ()  # mistake ids that void the check's points

    def score(self, fraction: float, mistakes: tuple[str, ...] = ()) -> float:
        """Points earned for a check that passed ``fraction`` of its cases and found ``mistakes``."""
        if set(mistakes) & set(self.zero_for):
            return 0.0
        if not self.partial:
            fraction = 1.0 if fraction >= 1.0 else 0.0
        # Round to 1e-6 so that sums of thirds print and compare cleanly.
        return round(self.points * min(max(fraction, 0.0), 1.0), 6)


@dataclass(frozen=True)
class Rubric:
    assignment: str
    items: Mapping[str, RubricItem]
    source: str  # the file it came from, or a sentence saying it is the default

    @property
    def max_score(self) -> float:
        return round(sum(item.points for item in self.items.values()), 6)


def default_rubric(assignment: Assignment) -> Rubric:
    """Every check of the assignment, one point each (used when no rubric file exists)."""
    items = {c.id: RubricItem(c.id, 1.0) for c in assignment.checks}
    return Rubric(assignment.name, items, "default rubric: one point per check")


def find_rubric(assignment: Assignment) -> Path | None:
    """The rubric that goes with an assignment: its own ``rubric.toml``, else ``rubrics/NAME.toml``."""
    own = assignment.root / "rubric.toml"
    if own.is_file():
        return own
    for root in data_roots():
        path = root / "rubrics" / f"{assignment.name}.toml"
        if path.is_file():
            return path
    return None


def load_rubric(path: Path, assignment: Assignment) -> Rubric:
    """Load ``path`` and validate it against ``assignment``'s checks."""
    data = load_toml(path)
    extra = sorted(set(data) - {"assignment", "checks"})
    if extra:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(extra)}; a rubric has 'assignment' and [checks.\"ID\"] tables")
    named = data.get("assignment")
    if named is not None and named != assignment.name:
        raise ConfigError(
            f"{path}: this rubric is for assignment {named!r}, not {assignment.name!r}"
        )
    checks = data.get("checks")
    if not isinstance(checks, dict) or not checks:
        raise ConfigError(f"{path}: no [checks.\"ID\"] tables: a rubric must give points to at least one check")
    known = {c.id for c in assignment.checks}
    items: dict[str, RubricItem] = {}
    for check_id, table in checks.items():
        where = f"{path}: [checks.\"{check_id}\"]"
        if check_id not in known:
            raise ConfigError(
                f"{where} is not a check of assignment {assignment.name!r}; "
                f"its checks are: {', '.join(sorted(known))}"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table with points = ...")
        bad = sorted(set(table) - {"points", "partial", "feedback", "zero_for"})
        if bad:
            raise ConfigError(f"{where} has unknown key(s) {', '.join(bad)}; allowed: points, partial, feedback, zero_for")
        points = table.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)):
            raise ConfigError(f"{where} points must be a number, not {points!r}")
        if not math.isfinite(points) or points < 0:
            raise ConfigError(f"{where} points must be zero or positive, not {points!r}")
        partial = table.get("partial", True)
        if not isinstance(partial, bool):
            raise ConfigError(f"{where} partial must be true or false, not {partial!r}")
        feedback = table.get("feedback", "")
        if not isinstance(feedback, str):
            raise ConfigError(f"{where} feedback must be a string")
        zero_for = table.get("zero_for", [])
        if not isinstance(zero_for, list) or not all(isinstance(m, str) for m in zero_for):
            raise ConfigError(f"{where} zero_for must be a list of mistake ids, e.g. [\"numerical-gradient\"]")
        items[check_id] = RubricItem(check_id, float(points), partial, feedback.strip(), tuple(zero_for))
    return Rubric(assignment.name, items, str(path))


def resolve_rubric(assignment: Assignment, path: Path | None = None) -> Rubric:
    """The rubric named on the command line, else the assignment's own, else the default."""
    if path is not None:
        return load_rubric(path, assignment)
    found = find_rubric(assignment)
    return load_rubric(found, assignment) if found else default_rubric(assignment)
