"""The only code that starts or talks to processes running student code."""

from gradgrader.sandbox.runner import ChildLimits, LoadReport, Problem, Returned, Sandbox
from gradgrader.sandbox.session import Session

__all__ = ["ChildLimits", "LoadReport", "Problem", "Returned", "Sandbox", "Session"]
