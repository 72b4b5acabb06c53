"""Name the mistake from what the student's function returned — never from its source.

Given a failing output ``s`` and the reference ``r`` on the same inputs, in order:

1. **named wrong variants** the assignment declares (hooks that compute a known wrong
   answer, e.g. A⁻¹ for A⁻ᵀ): the mistake whose variant ``s`` equals;
2. **layout**: ``s`` is ``r`` transposed (or reshaped);
3. **scale**: ``s = c·r`` for a scalar ``c`` (least squares, ``c = ⟨s, r⟩ / ⟨r, r⟩``);
   the assignment maps values of ``c`` (−1, N, 2, ...) to mistake ids;
4. **term decomposition**: the assignment declares the named terms ``t_i`` whose sum is
   the correct answer; ``s`` is fitted as ``Σ c_i t_i`` and the coefficient pattern
   (e.g. ``(0, 1, 1)``: the expectation term is missing) names the mistake;
5. otherwise **localisation** only: which rows or entries are wrong.

A candidate is accepted only when it reproduces ``s`` to ``MATCH_RTOL``; otherwise the
diagnosis says nothing rather than guess. Every finding carries a small error map.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from gradgrader.errors import ConfigError
from gradgrader.findings import MATCH_RTOL, Finding, rel_error, shape_text
from gradgrader.spec import Assignment, feedback_for, variant_hooks

__all__ = ["MATCH_RTOL", "DiagnosisContext", "diagnose", "error_map", "localise", "parse_coefficient", "term_scale"]


class _Hooks(Protocol):
    def call_hook(self, name: str, args: Mapping[str, Any], where: str) -> np.ndarray: ...


class DiagnosisContext(Protocol):
    """What the diagnosis needs of a check's context: the assignment (its diagnosis
    tables and feedback) and the course's hooks (terms, wrong variants)."""

    @property
    def assignment(self) -> Assignment: ...

    @property
    def course(self) -> _Hooks: ...

# MATCH_RTOL (gradgrader.findings): a wrong answer is "recognised" when the student's
# output equals it to 1e-4 relative.
# Coefficients of a fit are read against the pattern to 1e-3 relative: the fit itself
# reproduces ``s`` to MATCH_RTOL, so its coefficients are that accurate or better
# unless the terms are nearly collinear, which CONDITION_MAX rules out.
COEF_RTOL = 1e-3
CONDITION_MAX = 1e6
MAP_MAX = 16  # error maps are at most 16 × 16 cells


def parse_coefficient(value: Any, dims: Mapping[str, int]) -> float | None:
    """``1``, ``-1``, ``0.5``, ``"N"``, ``"-N"``, ``"1/N"`` → a number; ``"*"`` → None (any)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"diagnosis coefficient {value!r} must be a number or a string like 'N', '-N', '1/N', '*'")
    text = value.replace(" ", "")
    if text == "*":
        return None
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    inverse = text.startswith("1/")
    if inverse:
        text = text[2:]
    try:
        base = float(dims[text]) if text in dims else float(text)
    except ValueError:
        raise ConfigError(f"diagnosis coefficient {value!r}: {text!r} is neither a number nor a dimension") from None
    return sign * (1.0 / base if inverse else base)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and rel_error(a, b) <= MATCH_RTOL


def _config(ctx: DiagnosisContext, function: str, output: str) -> Mapping[str, Any]:
    merged: dict[str, Any] = {}
    merged.update(ctx.assignment.diagnosis.get(function, {}))
    merged.update(ctx.assignment.diagnosis.get(f"{function}.{output}", {}))
    return merged


def _hook_value(ctx: DiagnosisContext, name: str, args: Mapping[str, Any], where: str) -> np.ndarray:
    return ctx.course.call_hook(name, args, where)


def term_scale(ctx: DiagnosisContext, function: str, output: str, args: Mapping[str, Any]) -> float:
    """The norm of the largest of the terms the course says ``output`` is a sum of
    (``[diagnosis] terms``), 0 when it declares none (or a term is not finite there).

    An answer that is a difference of nearly equal terms (τ − E[τ] near the optimum,
    s_i(1 − s_i) for a peaked softmax) is known only to the rounding of its terms:
    correct float32 code lands ~1e-7 of the TERMS away from the reference, which can be
    anything relative to the answer itself (0.45 was measured). Its error is therefore
    measured against this scale as well as against its own size (``compare_case``)."""
    terms = _config(ctx, function, output).get("terms")
    if not isinstance(terms, Mapping) or not terms:
        return 0.0
    norms = [float(np.linalg.norm(_hook_value(ctx, str(h), args, f"diagnosis {function} terms {t!r}"))) for t, h in terms.items()]
    finite = [n for n in norms if np.isfinite(n)]
    return max(finite) if len(finite) == len(norms) else 0.0


# --------------------------------------------------------------------------- error maps


def error_map(student: np.ndarray, reference: np.ndarray) -> tuple[tuple[float, ...], ...] | None:
    """|s − r| relative to max |r|, as a matrix of at most MAP_MAX × MAP_MAX cells.

    Rows are the first axis, columns everything else flattened; larger arrays are
    pooled by the maximum over blocks, so a single wrong entry stays visible."""
    if student.shape != reference.shape or student.size == 0:
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(student - reference)
    diff = np.where(np.isfinite(diff), diff, np.inf)
    scale = max(float(np.max(np.abs(reference))), 1e-300)
    m = (diff / scale).reshape(1, -1) if diff.ndim <= 1 else diff.reshape(diff.shape[0], -1) / scale
    # array_split of a range: contiguous, non-empty blocks, so each is a plain slice.
    rows = [(int(r[0]), int(r[-1]) + 1) for r in np.array_split(np.arange(m.shape[0]), min(MAP_MAX, m.shape[0]))]
    cols = [(int(c[0]), int(c[-1]) + 1) for c in np.array_split(np.arange(m.shape[1]), min(MAP_MAX, m.shape[1]))]
    pooled = [[float(m[r0:r1, c0:c1].max()) for c0, c1 in cols] for r0, r1 in rows]
    return tuple(tuple(float(f"{v:.3g}") if math.isfinite(v) else float("inf") for v in row) for row in pooled)


def localise(student: np.ndarray, reference: np.ndarray, name: str, row_label: str = "") -> str:
    """Where ``student`` differs from ``reference``, in a sentence (empty if everywhere)."""
    if student.shape != reference.shape or student.ndim == 0:
        return ""
    scale = max(float(np.max(np.abs(reference))), 1e-300)
    bad = ~(np.abs(student - reference) <= MATCH_RTOL * scale)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return ""
    if student.ndim >= 2 and student.shape[-1] == student.shape[-2] and student.shape[-1] > 1:
        eye = np.broadcast_to(np.eye(student.shape[-1], dtype=bool), student.shape)
        if not bad[~eye].any():
            return f"only the diagonal of {name} differs"
    rows = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1)) if student.ndim >= 1 else np.array([], int)
    # "only rows …" is worth saying when few rows are wrong; when most are, it says nothing.
    some_rows = student.ndim >= 1 and student.shape[0] > 1 and 0 < len(rows) <= student.shape[0] // 2
    label = f" ({row_label} {', '.join(map(str, rows[:6]))})" if row_label else ""
    if some_rows:
        zero = [int(k) for k in rows if not np.any(student[k]) and np.any(reference[k])]
        if zero and len(zero) == len(rows):
            plural = len(zero) > 1
            return f"row{'s' if plural else ''} {', '.join(map(str, zero[:6]))}{label} of {name} {'are' if plural else 'is'} zero"
    if n_bad <= 4 and student.size > n_bad:
        idx = [tuple(int(i) for i in ix) for ix in np.argwhere(bad)]
        text = ", ".join(str(i if len(i) > 1 else i[0]) for i in idx)
        return f"only entr{'y' if n_bad == 1 else 'ies'} {text} of {name} differ{'s' if n_bad == 1 else ''}"
    if some_rows:
        return f"only row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:6]))}{label} of {name} differ{'s' if len(rows) == 1 else ''}"
    return ""


# --------------------------------------------------------------------------- recognisers


def _finding(mistake: str | None, summary: str, student: np.ndarray, reference: np.ndarray, where: str = "") -> Finding:
    return Finding(mistake, summary, where, error_map(student, reference), "")


def _variants(
    ctx: DiagnosisContext, config: Mapping[str, Any], s: np.ndarray, args: Mapping[str, Any], name: str, r: np.ndarray, function: str
) -> Finding | None:
    if not isinstance(config.get("variants", {}), Mapping):
        raise ConfigError(f"diagnosis of {name}: variants must be a table mistake-id = \"hook name\" (or a list of them)")
    for mistake, hook_name in variant_hooks(config):
        v = _hook_value(ctx, hook_name, args, f"diagnosis variant {mistake!r}")
        # A variant that coincides with the right answer on these inputs (A⁻¹ = A⁻ᵀ when
        # D = 1) cannot tell anything here: skip it rather than name a near miss.
        if _close(v, r):
            continue
        if _close(s, v):
            title = feedback_for(ctx.assignment, mistake, function)
            summary = title.title if title else f"{name} matches the known wrong answer '{mistake}'"
            if s.shape != r.shape:
                return Finding(mistake, f"{summary} ({name} has {shape_text(s.shape)}, the shape of that answer, not {shape_text(r.shape)})")
            return _finding(mistake, summary, s, r, localise(s, r, name, config.get("rows", "")))
    return None


def _layout(config: Mapping[str, Any], s: np.ndarray, r: np.ndarray, name: str) -> Finding | None:
    if s.shape != r.shape:
        if s.ndim >= 2 and s.shape == r.shape[::-1] and _close(s.T, r):
            return Finding(
                config.get("transposed", "transposed"),
                f"{name} has the right numbers in the transposed layout: {shape_text(s.shape)} instead of {shape_text(r.shape)}",
            )
        if s.size == r.size and _close(s.reshape(r.shape), r):
            return Finding("wrong-shape", f"{name} has the right numbers but {shape_text(s.shape)} instead of {shape_text(r.shape)}: reshape it")
        return None
    if s.ndim >= 2 and s.shape[-1] == s.shape[-2] and s.shape[-1] > 1:
        st = np.swapaxes(s, -1, -2)
        if _close(st, r) and not _close(s, r):
            return _finding(
                config.get("transposed", "transposed"),
                f"{name} is the transpose of the correct matrix",
                s,
                r,
            )
    return None


def _scale(config: Mapping[str, Any], s: np.ndarray, r: np.ndarray, name: str, dims: Mapping[str, int]) -> Finding | None:
    rr = float(np.vdot(r, r))
    if rr == 0.0 or not np.all(np.isfinite(s)):
        return None
    c = float(np.vdot(s, r)) / rr
    if abs(c) < 1e-12 or abs(c - 1.0) <= COEF_RTOL or not _close(s, c * r):
        return None  # a factor of 1 is no mistake: what differs is elsewhere (rounding, a term)
    scales = {"-1": "sign-flipped", **dict(config.get("scales", {}))}
    for key, mistake in scales.items():
        val = parse_coefficient(key, dims)
        if val is not None and abs(c - val) <= COEF_RTOL * max(1.0, abs(val)):
            if val == -1:
                text = f"{name} is exactly the negative of the correct value"
            else:
                numeric = key.lstrip("-").replace(".", "", 1).isdigit()
                text = f"{name} is exactly {key} × the correct value" + ("" if numeric else f" ({key} = {val:g} here)")
            return _finding(mistake, text, s, r)
    if s.size == 1:
        return None  # any two numbers are multiples of each other: only named factors mean something
    return _finding(None, f"{name} is the correct value times {c:.4g}: a constant factor is off", s, r)


def _coef(c: float) -> str:
    """A fitted coefficient for people: 4.3e-17 is 0, 0.99999998 is 1."""
    return f"{round(c, 6):.4g}" if abs(c) >= 1e-9 else "0"


def _terms(ctx: DiagnosisContext, config: Mapping[str, Any], s: np.ndarray, r: np.ndarray, args: Mapping[str, Any], name: str, dims: Mapping[str, int]) -> Finding | None:
    terms = config.get("terms")
    if not terms:
        return None
    if not isinstance(terms, Mapping):
        raise ConfigError(f"diagnosis of {name}: terms must be a table label = \"hook name\"")
    labels = list(terms)
    values = [_hook_value(ctx, terms[t], args, f"diagnosis term {t!r}") for t in labels]
    if any(v.shape != s.shape for v in values) or not np.all(np.isfinite(s)):
        return None
    norms = [float(np.linalg.norm(v)) for v in values]
    big = max(norms + [1e-300])
    active = [i for i, n in enumerate(norms) if n > 1e-10 * big]
    if not active:
        return None
    a = np.stack([values[i].ravel() for i in active], axis=1)
    if a.shape[0] <= a.shape[1]:
        # As many coefficients as numbers (two terms of a 1-entry gradient): every answer
        # "decomposes", so a fit here is no evidence of anything.
        return None
    sv = np.linalg.svd(a, compute_uv=False)
    if sv[-1] == 0 or sv[0] / sv[-1] > CONDITION_MAX:
        return None
    coef, *_ = np.linalg.lstsq(a, s.ravel(), rcond=None)
    fit = (a @ coef).reshape(s.shape)
    if not _close(s, fit):
        return None
    found = {labels[i]: float(c) for i, c in zip(active, coef)}
    described = ", ".join(f"{label} × {_coef(found[label])}" if label in found else f"{label} (zero here)" for label in labels)
    for pattern in config.get("patterns", []):
        want = pattern.get("coef", [])
        if len(want) != len(labels):
            raise ConfigError(f"diagnosis of {name}: pattern {want} must have one coefficient per term ({', '.join(labels)})")
        ok = True
        for label, w in zip(labels, want):
            target = parse_coefficient(w, dims)
            if target is None or label not in found:
                continue
            if abs(found[label] - target) > COEF_RTOL * max(1.0, abs(target)):
                ok = False
                break
        if ok:
            mistake = pattern.get("mistake")
            summary = pattern.get("summary") or f"{name} = {described}"
            return _finding(mistake, f"{summary} (fitted: {described})" if pattern.get("summary") else summary, s, r)
    return _finding(None, f"{name} decomposes as {described}; the correct answer has every coefficient 1", s, r)


def diagnose(
    ctx: DiagnosisContext,
    function: str,
    output: str,
    student: np.ndarray,
    reference: np.ndarray,
    args: Mapping[str, Any],
    dims: Mapping[str, int],
) -> Finding | None:
    """The finding for a failing output, or None when nothing can be said with confidence."""
    config = _config(ctx, function, output)
    name = output if len(ctx.assignment.functions[function].outputs) > 1 else f"{function}(…)"
    s = np.asarray(student, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    # Named wrong answers first, whatever the shape: a (D,) answer to ∇_A xᵀAx that is
    # ∇_x xᵀAx = (A + Aᵀ)x is that mistake, not merely a wrong shape.
    found = _variants(ctx, config, s, args, name, r, function)
    if found:
        return found
    found = _layout(config, s, r, name)
    if found or s.shape != r.shape:
        return found
    found = _scale(config, s, r, name, dims) or _terms(ctx, config, s, r, args, name, dims)
    where = localise(s, r, name, str(config.get("rows", "")))
    if found:
        return Finding(found.mistake, found.summary, where or found.where, found.error_map)
    if not np.all(np.isfinite(s)):
        return None
    emap = error_map(s, r)
    return Finding(None, "", where, emap) if (where or emap) else None
