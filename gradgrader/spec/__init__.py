"""Assignment models, parsed from an assignment folder.

An assignment is a folder::

    assignment.toml   functions, inputs, cases, checks, diagnosis (:mod:`.tables` reads it)
    feedback.toml     explanation and next step for each mistake id (optional)
    reference.py      the course's solution; a valid submission itself
    hooks.py          course code the TOML names: input generators, gradient terms,
                      wrong variants, objectives, property checks (optional)
    starter.py        what students start from
    samples/          a class folder of example submissions

This package only parses (layer 1): nothing here runs course or student code or knows
the check kinds. :func:`gradgrader.assignment.load_assignment` parses, then validates
what needs the checks, the generators and the course's hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradgrader._lazy import lazy_names

if TYPE_CHECKING:
    from gradgrader.spec.feedback import feedback_for, parse_feedback, variant_hooks
    from gradgrader.spec.locate import PACKS, data_roots, find_assignment, shipped_assignments
    from gradgrader.spec.models import (
        ASSIGNMENT_FILE,
        DEFAULT_STUBS,
        FEEDBACK_FILE,
        KNOWN_STUBS,
        Assignment,
        CaseSpec,
        CheckSpec,
        Composite,
        Convention,
        Conventions,
        Dim,
        Feedback,
        FunctionSpec,
        InputSpec,
        Limits,
        OutputSpec,
    )
    from gradgrader.spec.packdata import is_pack, load_table
    from gradgrader.spec.tables import parse_assignment

# name -> the module of this package that defines it. Each is imported when first asked
# for: finding an assignment's folder (``locate``, what a student's `check` needs to
# start its sandbox, #17) loads no TOML parser and no model.
_WHERE = {
    **dict.fromkeys(["feedback_for", "parse_feedback", "variant_hooks"], "feedback"),
    **dict.fromkeys(["PACKS", "data_roots", "find_assignment", "shipped_assignments"], "locate"),
    **dict.fromkeys(
        ["ASSIGNMENT_FILE", "DEFAULT_STUBS", "FEEDBACK_FILE", "KNOWN_STUBS", "Assignment", "CaseSpec", "CheckSpec",
         "Composite", "Convention", "Conventions", "Dim", "Feedback", "FunctionSpec", "InputSpec", "Limits",
         "OutputSpec"],
        "models",
    ),
    **dict.fromkeys(["is_pack", "load_table"], "packdata"),
    "parse_assignment": "tables",
}


__getattr__ = lazy_names(__name__, _WHERE, globals())


__all__ = [
    "ASSIGNMENT_FILE", "DEFAULT_STUBS", "FEEDBACK_FILE", "KNOWN_STUBS", "PACKS", "Assignment", "CaseSpec",
    "CheckSpec", "Composite", "Convention", "Conventions", "Dim", "Feedback", "FunctionSpec", "InputSpec",
    "Limits", "OutputSpec", "data_roots", "feedback_for", "find_assignment", "is_pack", "load_table",
    "parse_assignment", "parse_feedback", "shipped_assignments", "variant_hooks",
]
