"""ATTACK symlink-as-submission

The test replaces this softmax.py by a symlink to the graded copy's reference.py.

Expected: the grader finishes and records a result; the submission does not get the reference's
full marks. This file (used only if the test could not make the link) raises
NotImplementedError.

The honest part is the reference solution's functions (docstrings dropped).
"""

import numpy as np



def softmax_loss(W, X, y, reg):
    raise NotImplementedError
