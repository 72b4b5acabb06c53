"""The one typed result of grading a submission (docs/result-schema.md), and its JSON form.

``Result.to_json()`` is the object written as one line of ``results.jsonl``; the
contract is docs/result-schema.md plus the optional fields below. ``Result.from_json`` reads such an
object back (a line of any version): ``Result.from_json(d).to_json() == d`` for every
object ``to_json`` wrote. What the grader records beside that schema has a typed field
(convention, fingerprint, sandbox, version, LMS identity, grader errors, time-outs,
the TA's override); keys this version does not know — written by a newer or an older
gradgrader — are kept in ``extra`` and written back unchanged, never dropped.

Results are frozen: a field is set with :func:`dataclasses.replace`, never mutated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_CHECK_KEYS = frozenset(("id", "function", "passed", "score", "max_score", "message", "mistakes", "kind",
                         "diagnosis", "feedback", "cases", "advice"))


def _number(value: Any) -> float:
    """A score or time from JSON: numbers as they are; ``"nan"``/``"inf"`` (what
    ``results.dumps`` writes for them) back to floats; anything else is not a number."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return value
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return math.nan


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, (list, tuple)) else ()


@dataclass(frozen=True)
class CheckRecord:
    """One check's verdict on one function (an element of ``checks`` in docs/result-schema.md)."""

    id: str
    function: str
    passed: bool
    score: float
    max_score: float
    message: str
    mistakes: tuple[str, ...] = ()
    kind: str = ""
    diagnosis: dict[str, Any] | None = None
    feedback: str = ""
    cases: tuple[dict[str, Any], ...] = ()
    # Never scored (the result schema is unchanged): what the function does beyond the contract.
    advice: tuple[str, ...] = ()
    # Keys of a check this version does not know, kept to be written back.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "function": self.function,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "message": self.message,
            "mistakes": list(self.mistakes),
            "kind": self.kind,
        }
        if self.diagnosis:
            out["diagnosis"] = self.diagnosis
        if self.feedback:
            out["feedback"] = self.feedback
        if self.cases:
            out["cases"] = list(self.cases)
        if self.advice:
            out["advice"] = list(self.advice)
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> CheckRecord:
        """The check ``obj`` describes; a missing or mistyped field reads as empty."""
        diagnosis = obj.get("diagnosis")
        cases = obj.get("cases")
        return cls(
            id=_text(obj.get("id")),
            function=_text(obj.get("function")),
            passed=obj.get("passed") is True,
            score=_number(obj.get("score")),
            max_score=_number(obj.get("max_score")),
            message=_text(obj.get("message")),
            mistakes=_texts(obj.get("mistakes")),
            kind=_text(obj.get("kind")),
            diagnosis=diagnosis if isinstance(diagnosis, dict) else None,
            feedback=_text(obj.get("feedback")),
            cases=tuple(c for c in cases if isinstance(c, dict)) if isinstance(cases, list) else (),
            advice=_texts(obj.get("advice")),
            extra={k: v for k, v in obj.items() if k not in _CHECK_KEYS},
        )


@dataclass(frozen=True)
class GraderFailure:
    """The grader (not the student) failed on a submission while ``stage`` (staging,
    grading, worker, recording …): ``grade --resume`` grades it again."""

    stage: str
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "error": self.error}


@dataclass(frozen=True)
class ConventionChoice:
    """Which of an assignment's accepted conventions the submission follows
    (``conventions.Convention.to_json``): ``functions`` maps each function to the
    convention it follows; ``note`` explains a mix."""

    name: str
    label: str
    matched: bool
    functions: dict[str, str]
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": self.label, "matched": self.matched,
                               "functions": dict(self.functions)}
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, obj: Any) -> ConventionChoice | None:
        """The choice ``obj`` describes, or ``None`` when it is not one."""
        return _convention(obj)


def is_extra_credit(score: Any, max_score: Any) -> bool:
    """Whether ``score`` (an overridden one) is above ``max_score``."""
    try:
        return float(score) > float(max_score) + 1e-9
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class AppliedOverride:
    """A TA's override as applied to a result (``overrides.apply_overrides``): ``score``
    is ``None`` when the TA only commented; ``original_score`` is the grader's."""

    score: float | None
    original_score: float
    comment: str
    by: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "original_score": self.original_score, "comment": self.comment,
                "by": self.by, "at": self.at}


def _failure(value: Any) -> GraderFailure | None:
    if isinstance(value, dict) and set(value) == {"stage", "error"} and all(isinstance(v, str) for v in value.values()):
        return GraderFailure(value["stage"], value["error"])
    return None


def _convention(value: Any) -> ConventionChoice | None:
    if not isinstance(value, dict) or not set(value) <= {"name", "label", "matched", "functions", "note"}:
        return None
    name, label, matched, functions = (value.get(k) for k in ("name", "label", "matched", "functions"))
    note = value.get("note", "")
    if not (isinstance(name, str) and isinstance(label, str) and isinstance(matched, bool)
            and isinstance(functions, dict) and all(isinstance(v, str) for v in functions.values())
            and isinstance(note, str) and ("note" not in value or note)):
        return None
    return ConventionChoice(name, label, matched, dict(functions), note)


def _override(value: Any) -> AppliedOverride | None:
    if not isinstance(value, dict) or set(value) != {"score", "original_score", "comment", "by", "at"}:
        return None
    score, original = value["score"], value["original_score"]
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        return None
    if isinstance(original, bool) or not isinstance(original, (int, float)):
        return None
    if not all(isinstance(value[k], str) for k in ("comment", "by", "at")):
        return None
    return AppliedOverride(score, original, value["comment"], value["by"], value["at"])


# The optional keys with a typed field: how each is read (None: not of that type, kept
# in ``extra`` as it was) and when it is absent from the JSON (its default).
_READERS: dict[str, Any] = {
    "late": lambda v: v if isinstance(v, bool) else None,
    "lms": lambda v: v if isinstance(v, dict) else None,
    "notebook": lambda v: v if isinstance(v, str) and v else None,
    "gradgrader": lambda v: v if isinstance(v, str) and v else None,
    "sandbox": lambda v: v if isinstance(v, str) and v else None,
    "grader_failure": _failure,
    "convention": _convention,
    "timeouts": lambda v: v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None,
    "grader_errors": lambda v: tuple(v) if isinstance(v, list) and v and all(isinstance(x, str) for x in v) else None,
    "fingerprint": lambda v: v if isinstance(v, str) and v else None,
    "override": _override,
}
_CORE = frozenset(("submission", "path", "assignment", "status", "score", "max_score", "checks", "mistakes",
                   "elapsed_s", "message", "output", "sha256", "advice"))


def typed_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for :class:`Result` from a mapping of optional fields (a
    submission's ``extra``: LMS identity, lateness, notebook): the keys with a typed field
    as that field, the rest under ``extra``."""
    kwargs: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in extra.items():
        if key in _CORE:
            rest[key] = value
            continue
        reader = _READERS.get(key)
        typed = reader(value) if reader is not None else None
        if typed is None:
            rest[key] = value
        else:
            kwargs[key] = typed
    kwargs["extra"] = rest
    return kwargs


@dataclass(frozen=True)
class Result:
    """One submission's result (docs/result-schema.md)."""

    submission: str
    path: str
    assignment: str
    status: str  # "graded" or "error"
    score: float
    max_score: float
    checks: tuple[CheckRecord, ...]
    mistakes: tuple[str, ...]
    elapsed_s: float
    message: str = ""
    output: str = ""  # what the submission printed (truncated), never scored
    sha256: str = ""
    # Keys this version does not know (a newer gradgrader's, a class export's own), kept.
    extra: dict[str, Any] = field(default_factory=dict)
    # From the class export (LMS): whether the LMS marked it late, who it belongs to there.
    late: bool | None = None
    lms: dict[str, Any] | None = None
    notebook: str | None = None  # the notebook graded (path is the module made from it)
    gradgrader: str | None = None  # the version that graded it
    sandbox: str | None = None  # the isolation level it was graded in
    grader_failure: GraderFailure | None = None  # the grader failed, not the student
    convention: ConventionChoice | None = None
    timeouts: int | None = None  # calls stopped at their time limit
    grader_errors: tuple[str, ...] | None = None  # checks the grader itself failed on
    fingerprint: str | None = None  # the assignment + rubric graded against (--resume)
    override: AppliedOverride | None = None  # a TA's, applied on reading (never in results.jsonl)

    @property
    def advice(self) -> tuple[str, ...]:
        """The checks that give advice (never scored, not mistakes), like ``mistakes``
        is the union of the checks' mistake ids."""
        return tuple(c.id for c in self.checks if c.advice)

    @property
    def full_marks(self) -> bool:
        return self.status == "graded" and self.score >= self.max_score - 1e-9

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "submission": self.submission,
            "path": self.path,
            "assignment": self.assignment,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [c.to_json() for c in self.checks],
            "mistakes": list(self.mistakes),
            "elapsed_s": self.elapsed_s,
        }
        if self.message:
            out["message"] = self.message
        if self.output:
            out["output"] = self.output
        if self.sha256:
            out["sha256"] = self.sha256
        if self.advice:
            out["advice"] = list(self.advice)
        # The submission's own fields first, as they were appended before.
        for key in ("late", "lms", "notebook"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out.update(self.extra)
        for key in ("gradgrader", "sandbox", "grader_failure", "convention", "timeouts", "grader_errors",
                    "fingerprint", "override"):
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, tuple):
                value = list(value)
            elif hasattr(value, "to_json"):
                value = value.to_json()
            out[key] = value
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Result:
        """The result ``obj`` describes (a line of ``results.jsonl``, any version).

        A core field of the wrong type reads as empty (a score that is not a number as
        NaN, shown as "?"); an optional field of the wrong type stays, untouched, in
        ``extra``. ``advice`` is derived from the checks, not read."""
        checks = obj.get("checks")
        return cls(
            submission=_text(obj.get("submission")),
            path=_text(obj.get("path")),
            assignment=_text(obj.get("assignment")),
            status=_text(obj.get("status")),
            score=_number(obj.get("score")),
            max_score=_number(obj.get("max_score")),
            checks=tuple(CheckRecord.from_json(c) for c in checks if isinstance(c, dict)) if isinstance(checks, list) else (),
            mistakes=_texts(obj.get("mistakes")),
            elapsed_s=_number(obj.get("elapsed_s")),
            message=_text(obj.get("message")),
            output=_text(obj.get("output")),
            sha256=_text(obj.get("sha256")),
            **typed_extra({k: v for k, v in obj.items() if k not in _CORE}),
        )


def as_result(value: Result | Mapping[str, Any]) -> Result:
    """``value`` as a typed Result: the edge where a front end takes a result that may
    still be its JSON (a line of ``results.jsonl``)."""
    return value if isinstance(value, Result) else Result.from_json(value)


# The optional keys with a typed field (beside the schema's and ``extra``).
OPTIONAL_FIELDS = tuple(_READERS)


def valid_text(text: str) -> str:
    """``text`` as valid UTF-8 text: undecodable bytes kept by ``surrogateescape`` (a file
    name) and lone surrogates (a student's exception message) become U+FFFD, so that no
    student's text can stop the writer, a CSV or a terminal."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # UTF-16 joins well-formed surrogate pairs back into one character; lone ones fail
        # to decode and are replaced.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
