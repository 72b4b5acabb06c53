"""Check kinds, registered by name so that an assignment's TOML refers to them.

The registry is :mod:`.registry`; importing this package imports the modules that
register the built-in kinds (:mod:`.values`, :mod:`.gradients`, :mod:`.custom`).
"""

from __future__ import annotations

from gradgrader.checks import custom, gradients, values  # noqa: F401 - importing them registers their kinds
from gradgrader.checks.context import CheckContext
from gradgrader.checks.registry import (
    ADVICE_PARAMS,
    KINDS,
    CheckFn,
    CheckKind,
    check_kind,
    run_check,
    validate_check,
)
from gradgrader.findings import CheckResult

__all__ = [
    "ADVICE_PARAMS", "KINDS", "CheckContext", "CheckFn", "CheckKind", "CheckResult", "check_kind", "run_check",
    "validate_check",
]
