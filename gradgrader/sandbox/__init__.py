"""The only code that starts or talks to processes running student code."""

from gradgrader.sandbox.model import ChildLimits, LoadReport, Problem, Returned
from gradgrader.sandbox.runner import Sandbox
from gradgrader.sandbox.session import Session

__all__ = ["ChildLimits", "LoadReport", "Problem", "Returned", "Sandbox", "Session"]
