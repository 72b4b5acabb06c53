"""One exception hierarchy whose messages are written for the person at the terminal.

The CLI turns any :class:`GradgraderError` into a single readable line on stderr and
exit code 2; nothing below it should ever reach a user as a traceback.
"""

from __future__ import annotations


class GradgraderError(Exception):
    """Base of every error gradgrader reports to its user."""


class ConfigError(GradgraderError):
    """An assignment, rubric or command-line setting is wrong (the TA can fix it)."""


class SubmissionError(GradgraderError):
    """A submission cannot be found or read at all (the path is wrong, not the code)."""


class SandboxError(GradgraderError):
    """The sandbox itself could not start or broke (not the student's fault)."""
