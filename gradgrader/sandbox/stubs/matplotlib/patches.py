"""matplotlib.patches for the sandbox: every name does nothing (see __init__.py)."""

from matplotlib import _nothing


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _nothing
