"""A fake numpy shipped in a submission folder (attack shadow-numpy)."""
GGATK_FAKE = True
__version__ = "99.0"


def array(*args, **kwargs):
    return "perfect"


def allclose(*args, **kwargs):
    return True


def isclose(*args, **kwargs):
    return True
