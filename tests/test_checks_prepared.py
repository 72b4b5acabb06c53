"""gradgrader/checks/prepared.py: the prepared course (Course): the time limit of one call
follows the reference, with a floor and a cap."""

from __future__ import annotations

from pathlib import Path

from conftest import copy_assignment

from gradgrader.assignment import load_assignment

SLOW_REFERENCE = '''

import time as _time


def logsumexp(z):  # burns 50 ms of CPU time (not wall clock) before answering
    start = _time.thread_time()
    while _time.thread_time() - start < 0.05:
        pass
    return _reference_logsumexp(z)
'''


def test_the_call_limit_follows_the_reference_with_a_floor_and_a_cap(tmp_path: Path) -> None:
    from gradgrader.checks.base import CALL_FACTOR, CALL_FLOOR_S, Course

    softmax = Course(load_assignment(str(copy_assignment(tmp_path / "a" / "softmax"))))
    # Every shipped reference takes well under a millisecond: the floor decides.
    assert softmax.call_limit("softmax_loss") == CALL_FLOOR_S
    capped = Course(load_assignment(str(copy_assignment(tmp_path / "b" / "softmax", {"timeout = 10.0": "timeout = 2.0"}))))
    assert capped.call_limit("softmax_loss") == 2.0  # never above the assignment's own limit
    # A reference that needs 50 ms of CPU per call: 100× that is 5 s, above the floor.
    root = copy_assignment(tmp_path / "c" / "softmax")
    ref = root / "reference.py"
    text = ref.read_text(encoding="utf-8")
    ref.write_text(text + "\n_reference_logsumexp = logsumexp\n" + SLOW_REFERENCE, encoding="utf-8")
    slow = Course(load_assignment(str(root)))
    assert CALL_FACTOR * 0.05 <= slow.call_limit("logsumexp") <= 10.0
    assert slow.call_limit("softmax") == CALL_FLOOR_S  # per function


def test_the_references_timed_for_the_call_limit_are_the_ones_the_checks_use() -> None:
    """call_limit times the reference on each case of the function's checks and keeps
    what it returned: the checks' own calls on those cases do not run it again."""
    from gradgrader.checks.base import Course

    course = Course(load_assignment("softmax"))
    calls = []
    real = course.reference.logsumexp

    def counted(*args):
        calls.append(args)
        return real(*args)

    course.reference.logsumexp = counted
    try:
        course.call_limit("logsumexp")
        timed = len(calls)
        cases = sorted({c for check in course.assignment.checks if check.function == "logsumexp" for c in check.cases})
        assert timed == len(cases) > 0
        for case in cases:
            out = course.call_reference("logsumexp", course.inputs("logsumexp", case))
            assert not out["lse"].flags.writeable
        assert len(calls) == timed
    finally:
        course.reference.logsumexp = real
