"""A stand-in for matplotlib, shipped beside every submission.

The course's file begins with ``import matplotlib.pyplot as plt`` for its plots; the
grader's sandbox has numpy only. Every name of this package is a function that does
nothing and returns None, so the import works and any plotting left in a graded
function is skipped (plots are not graded).
"""


def _nothing(*args, **kwargs):
    return None


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _nothing
