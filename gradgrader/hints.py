"""What a student should do about an exception their code raised, for the failures real
homework hits again and again: Python 2 idioms, names numpy 2 removed, leftover
debugging, reading input or files the grader does not provide."""

from __future__ import annotations

import re

# (exception type or None for any, pattern on the message, hint). First match wins. The
# patterns are compiled when first searched (re keeps them): compiling all fourteen at
# import took ~1 ms of every student's check, which mostly never raises (#17).
HINTS: list[tuple[str | None, str, str]] = [
    ("SyntaxError", r"Missing parentheses in call to 'print'",
     "this file was written for Python 2: print is a function in Python 3, write print(x)"),
    ("SyntaxError", r"Missing parentheses in call to 'exec'",
     "this file was written for Python 2: exec is a function in Python 3"),
    (None, r"name 'xrange' is not defined",
     "this file was written for Python 2: xrange is range in Python 3"),
    (None, r"name '(raw_input|unicode|basestring|long|unichr|reduce|file)' is not defined",
     "this file was written for Python 2: that name does not exist in Python 3"),
    (None, r"has no attribute '(iteritems|itervalues|iterkeys|has_key)'",
     "dict.iteritems/has_key are Python 2: use items() and the in operator"),
    (None, r"No module named '(past|future|builtins\.)",
     "this imports the Python 2 compatibility package 'future' (past.builtins), which is not installed: "
     "use range instead of xrange and drop the import"),
    (None, r"module 'numpy' has no attribute '(float|int|bool|object|complex|str|long|unicode)'",
     "np.float, np.int, np.bool and friends were removed in numpy 1.24 (and numpy 2): use the builtin "
     "float/int/bool, or np.float64/np.int64"),
    (None, r"module 'numpy' has no attribute '(asscalar|alltrue|sometrue|product|cumproduct|NaN|Inf|infty|float_|complex_|string_|unicode_|in1d|row_stack|trapz)'",
     "this numpy name was removed in numpy 2: see the numpy 2.0 migration guide for its replacement"),
    ("EOFError", r"EOF when reading a line",
     "the code calls input(): the grader gives no keyboard input, so remove it"),
    ("BdbQuit", r".*",
     "a leftover pdb.set_trace() or breakpoint(): remove it before submitting"),
    ("FileNotFoundError", r".*",
     "the grader runs your file in a copy of its own folder (check and grade alike): a data file must sit "
     "beside it and be opened relative to the file, or better, the functions get their data as arguments"),
    ("PermissionError", r".*",
     "the grader does not let submissions read or write files outside their own scratch folder"),
    ("OSError", r"File too large",
     "the code writes a huge file; the grader caps what a submission may write"),
    ("ModuleNotFoundError", r".*",
     "only numpy and the standard library are available to submissions"),
]


def hint_for(exc_type: str, message: str) -> str:
    """A one-sentence next step for an exception, or "" when none is known."""
    for wanted, pattern, hint in HINTS:
        if (wanted is None or wanted == exc_type) and re.search(pattern, message):
            return hint
    return ""


# What a student reads when a function could not be checked at all (docs/mistakes.md's runtime
# ids). These are about the code running, not about the math, so the check's own next
# step (a hint about the derivation) would mislead: an assignment's feedback.toml may
# still override any of them.
RUNTIME_FEEDBACK: dict[str, tuple[str, str, str]] = {
    "timeout": (
        "Did not finish in time",
        "The grader stops a call that runs past its time limit. An endless loop (a while "
        "loop whose condition never changes) or Python loops over large arrays are the "
        "usual causes.",
        "Call the function yourself on an input of the size the message names and time it; "
        "replace loops over samples with numpy operations if it is slow.",
    ),
    "wrong-shape": (
        "Wrong shape",
        "The numbers are compared only when the result has the shape the assignment asks "
        "for; broadcasting or a missing reshape often adds or drops an axis of length 1.",
        "Print the shape of what you return and compare it with the shape in the message.",
    ),
    "wrong-type": (
        "Not an array of numbers",
        "The grader reads back numbers only: a numpy array, a list of numbers or a float.",
        "Return np.asarray(...) of floats (not None, a string, or an object).",
    ),
    "crashed": (
        "The process stopped",
        "Your code ended the process that ran it: exit() or sys.exit(), os._exit, a crash "
        "inside a C extension, or a limit of the sandbox (the message says which).",
        "Remove exit() calls and run the function yourself on the input the message names.",
    ),
    "memory-limit": (
        "Used too much memory",
        "The function allocated more memory than the grader allows, usually an N × N (or "
        "larger) intermediate array where an N × K one would do.",
        "Look for np.outer, broadcasting of two long vectors, or lists that grow in a loop.",
    ),
    "not-implemented": (
        "Not written yet",
        "The function is missing, still raises NotImplementedError as in the starter, or "
        "returns the starter's placeholder (zeros).",
        "Write the function's body (keep its name and arguments exactly as in the starter).",
    ),
    "wrong-signature": (
        "Wrong arguments",
        "The grader calls each function with the arguments the assignment lists, in order.",
        "Give the function exactly the parameters of the starter's signature.",
    ),
}

# "crashed" covers two different events (docs/mistakes.md has one id for both): the process
# stopped (exit(), a segfault, a sandbox limit), or — far more often — the function
# raised an ordinary exception. An IndexError is explained as an exception, never as
# "your code ended the process".
RAISED_FEEDBACK: tuple[str, str, str] = (
    "Your function raised an exception",
    "The call stopped with an exception before it returned (the message names it and "
    "the line). On the grader's inputs an IndexError or a shape ValueError usually means "
    "a size taken from somewhere other than the arguments, or an axis mixed up; a "
    "NameError, a name used before it is defined; an EOFError, an input() call (the "
    "grader types nothing).",
    "Call the function yourself on an input of the sizes the message names and read the "
    "traceback from the line it gives.",
)
