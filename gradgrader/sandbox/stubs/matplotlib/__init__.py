"""A stand-in for matplotlib inside the sandbox (see gradgrader/sandbox/environment.py).

A course's file often begins with ``import matplotlib.pyplot as plt`` for its plots.
Every name of this package is a function that does nothing and returns None, so the
import works and any plotting left in a graded function is skipped (plots are not
graded). ``matplotlib.pyplot``, ``matplotlib.cm`` or any other submodule is the same.
"""


def _nothing(*args, **kwargs):
    return None


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _nothing
