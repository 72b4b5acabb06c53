"""What checks and diagnosis both work with: findings, per-case and per-check results.

A small module of plain values (layer 4) that :mod:`gradgrader.checks` and
:mod:`gradgrader.diagnose` both import, so that neither imports the other's internals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# Relative errors are measured against max(‖r‖, ‖s‖, FLOOR): below 1e-10 in norm an
# output is zero for every function graded here (their values are O(1)), so two
# near-zero answers agree instead of dividing noise by noise.
FLOOR = 1e-10
# A wrong answer is "recognised" when the student's output equals it to 1e-4 relative:
# loose enough for correct-but-float32 arithmetic (≈1e-6 here), and far tighter than any
# coincidence — an unrelated array lands within 1e-4 of a specific formula with
# essentially zero probability on random inputs.
MATCH_RTOL = 1e-4


def rel_error(student: np.ndarray, reference: np.ndarray, floor: float = FLOOR) -> float:
    """‖s − r‖_F / max(‖r‖_F, ‖s‖_F, floor): symmetric, scale-free, and not a per-entry
    maximum (which would flag correct float32 code on entries close to zero)."""
    diff = norm(np.subtract(student, reference))
    den = max(norm(reference), norm(student), floor)
    return diff / den


def norm(x: Any) -> float:
    """The Frobenius norm ``float(np.linalg.norm(x))``, computed as numpy computes it for
    a real array (the flattened array's dot product with itself, then its square root:
    the same float) without its general-purpose dispatch, which cost more than the sum
    on the small arrays of a check (#17). Anything but a real array goes to numpy."""
    x = np.asarray(x)
    kind = x.dtype.kind
    if kind in "biu":
        x = x.astype(float)
    elif kind != "f":
        return float(np.linalg.norm(x))
    flat = x.ravel(order="K")
    square = flat.dot(flat)
    # float64: math.sqrt is the same correctly rounded square root as numpy's; another
    # float (float32) keeps numpy's own precision.
    return math.sqrt(square) if x.dtype == np.float64 else float(np.sqrt(square))


@dataclass(frozen=True)
class Finding:
    """A diagnosis: the named mistake (if one is recognised) and where the error is."""

    mistake: str | None
    summary: str
    where: str = ""
    error_map: tuple[tuple[float, ...], ...] | None = None
    error_axes: str = ""  # what the map's rows and columns are, e.g. "class × feature"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mistake": self.mistake, "summary": self.summary}
        if self.where:
            out["where"] = self.where
        if self.error_map is not None:
            out["error_map"] = [list(row) for row in self.error_map]
            out["error_axes"] = self.error_axes
        return out


def explained(message: str, finding: Finding | None, sep: str = "; ") -> tuple[str, tuple[str, ...]]:
    """A failing case's message with the diagnosis's summary appended, and its mistake ids."""
    if finding is not None and finding.summary:
        message += f"{sep}{finding.summary}"
    return message, ((finding.mistake,) if finding is not None and finding.mistake else ())


@dataclass(frozen=True)
class CaseResult:
    case: str
    passed: bool
    error: float | None = None
    message: str = ""
    mistakes: tuple[str, ...] = ()
    finding: Finding | None = None


@dataclass(frozen=True)
class CheckResult:
    id: str
    function: str
    kind: str
    passed: bool
    fraction: float  # share of the check's cases that passed, for partial credit
    message: str
    mistakes: tuple[str, ...] = ()
    cases: tuple[CaseResult, ...] = ()
    finding: Finding | None = None
    # Never scored: what the function does on cases beyond the assignment's contract
    # (``advice_cases``), in words for the student. Not a mistake, not in ``mistakes``.
    advice: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    """A call that gave no comparable output, already put in words for the student."""

    mistakes: tuple[str, ...]
    message: str
    output: str | None = None  # the output with the wrong shape, if that is the problem
    value: np.ndarray | None = None



def shape_text(shape: tuple[int, ...]) -> str:
    return "a number" if shape == () else f"shape ({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"
