"""A stand-in for the ``past`` package of python-future, shipped beside every submission.

CS231n's starter files from 2017 on begin with ``from past.builtins import xrange`` so
that the same file runs under Python 2 and 3. The grader's sandbox has no third-party
packages, so the course ships this small package instead: the import works, and
``xrange`` is Python 3's ``range``.
"""
