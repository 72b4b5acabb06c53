"""gradgrader: a terminal autograder for gradient homework.

The engine (spec, cases, checks, diagnose, grading, results) imports nothing from
the command line or the terminal UI; ``import gradgrader`` stays light.
"""

from gradgrader._version import __version__
from gradgrader.errors import ConfigError, GradgraderError, SandboxError, SubmissionError

__all__ = ["ConfigError", "GradgraderError", "SandboxError", "SubmissionError", "__version__"]
