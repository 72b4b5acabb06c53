"""A stand-in for seaborn inside the sandbox: every name is a function that does
nothing and returns None (plots are not graded; see the matplotlib stand-in)."""


def _nothing(*args, **kwargs):
    return None


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _nothing
