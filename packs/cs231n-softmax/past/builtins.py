"""Python 2 built-in names, as Python 3 objects (what ``past.builtins`` provides)."""

from functools import reduce

xrange = range
basestring = str
unicode = str
long = int
raw_input = input

__all__ = ["xrange", "basestring", "unicode", "long", "raw_input", "reduce"]
