"""gradgrader.sandbox.session: gradient descent driven in the student's process
(``Session.descend``, #17) — one request for a training loop, every guarantee of a call
kept: each step's own time limit, fresh arguments, a hang stops the function once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import attack, limited_session, module, write_submission

from gradgrader.sandbox import ChildLimits, Returned, Sandbox, Session
from gradgrader.sandbox import session as session_module
from gradgrader.sandbox.layers import probe
from gradgrader.sandbox.model import Problem

# Per step. No test below relies on a step finishing in time except the hang test:
# every other call gets a limit no load makes a microsecond step reach.
STEP_LIMIT = 30.0
# The hang test's limit: the production floor (3 s); its steps before the hang take
# microseconds, and the hang is stopped whatever the machine's speed.
HANG_LIMIT = 3.0
RATE = 0.5
W0 = np.zeros((2, 3))


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory):
    with Sandbox(tmp_path_factory.mktemp("scratch"), probe()) as sandbox:
        yield sandbox


def session(box: Sandbox, folder: Path, body: str) -> Session:
    """A session on a file whose ``f(W, c)`` returns ``(loss, dW)``: ``body`` is its code."""
    source = "import numpy as np\n\nCALLS = []\n\n\ndef f(W, c):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    path = write_submission(folder, source, name="train.py")
    s = Session(box, path, "train", ["f"], ChildLimits(memory_mb=512), budget=30)
    assert s.load.ok, s.load
    return s


def descend(s: Session, steps: int = 5, c: float = 1.0, limit: float = STEP_LIMIT) -> list[Returned | Problem]:
    return s.descend("f", [W0, c], ["loss", "dW"], limit, variable=0, gradient="dW", rate=RATE, steps=steps,
                     shapes=[(), (2, 3)])


def test_each_step_answers_for_the_graders_own_iterate(box: Sandbox, tmp_path: Path) -> None:
    """The loss reports the W the child was given: it is the iterate the grader computes
    from the returned gradients, to the last bit, even for a float32 gradient."""
    with session(box, tmp_path, "return float(W.sum()), (W - c).astype(np.float32) / 3\n") as s:
        got = descend(s, steps=6, c=0.7)
        assert s.calls == 6
    assert len(got) == 6 and all(isinstance(g, Returned) for g in got)
    W = W0.copy()
    for g in got:
        assert isinstance(g, Returned)
        assert g.values[0] == W.sum()
        assert np.array_equal(g.values[1], ((W - 0.7).astype(np.float32) / 3).astype(np.float64))
        W = W - RATE * g.values[1]


def test_a_step_that_mutates_its_arguments_changes_nothing_after_it(box: Sandbox, tmp_path: Path) -> None:
    with session(box, tmp_path, "loss = float(W.sum())\nW *= 100.0\nreturn loss, np.ones_like(W)\n") as s:
        got = descend(s, steps=3)
    assert [g.values[0] for g in got if isinstance(g, Returned)] == [0.0, -3.0, -6.0]


@pytest.mark.parametrize(
    ("body", "made", "kind"),
    [
        ("CALLS.append(1)\nif len(CALLS) == 3:\n    raise ValueError('boom')\nreturn 0.0, np.ones_like(W)\n", 3, "exception"),
        ("CALLS.append(1)\nreturn (float('nan') if len(CALLS) == 2 else 0.0), np.ones_like(W)\n", 2, None),
        ("CALLS.append(1)\nreturn 0.0, (np.ones((3, 2)) if len(CALLS) == 4 else np.ones_like(W))\n", 4, None),
        ("return np.ones(2), np.ones_like(W)\n", 1, None),  # a loss of the wrong shape
    ],
    ids=["exception", "not-finite", "gradient-of-another-shape", "loss-of-another-shape"],
)
def test_the_child_stops_where_the_loop_stops(box: Sandbox, tmp_path: Path, body: str, made: int, kind: str | None) -> None:
    with session(box, tmp_path, body) as s:
        got = descend(s, steps=10)
        alive = isinstance(descend(s, steps=1)[0], Returned) or kind == "exception"
    assert len(got) == made
    assert all(isinstance(g, Returned) for g in got[:-1])
    if kind is not None:
        assert isinstance(got[-1], Problem) and got[-1].kind == kind
    assert alive  # the process answers the next request


def test_a_step_that_hangs_costs_one_time_out_and_stops_the_function(box: Sandbox, tmp_path: Path) -> None:
    with session(box, tmp_path, "CALLS.append(1)\nwhile len(CALLS) == 3:\n    pass\nreturn 0.0, np.ones_like(W)\n") as s:
        got = descend(s, steps=10, limit=HANG_LIMIT)
        again = descend(s, steps=10)
        call = s.call("f", [W0, 1.0], ["loss", "dW"], STEP_LIMIT)
        assert s.timeouts == 1
    assert len(got) == 3 and isinstance(got[-1], Problem) and got[-1].kind == "timeout"
    assert len(again) == 1 and isinstance(again[0], Problem) and again[0].message.startswith("not run: f timed out earlier")
    assert isinstance(call, Problem) and call.message.startswith("not run: f timed out earlier")


def test_a_process_that_died_in_a_descent_is_restarted_for_the_next_request(box: Sandbox, tmp_path: Path) -> None:
    body = "CALLS.append(1)\nif len(CALLS) == 2:\n    import os\n    os._exit(3)\nreturn 0.0, np.ones_like(W)\n"
    with session(box, tmp_path, body) as s:
        got = descend(s, steps=5)
        after = descend(s, steps=1)
    assert len(got) == 2 and isinstance(got[-1], Problem) and got[-1].kind == "crashed"
    assert isinstance(after[0], Problem)  # a function that kills its process is not run again


def test_a_flood_of_bool_arrays_is_refused_before_it_is_decoded(tmp_path):
    path = attack("wire-bool-flood", tmp_path / "s")
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        got = s.call("softmax_jacobian", [np.zeros(3)], ["J"], 10.0)
        assert isinstance(got, Returned), got
        assert got.values == (None,)
        problem = got.problems[0]
        assert problem is not None and problem.kind == "wrong-type"
        # refused by the decoded cap: the per-array byte cap counted in float64 elements
        # (16 MiB of bools used to pass, as 16 Mi elements, and decode to 128 MiB)
        assert str(ChildLimits().max_output_bytes // 8) in problem.message


def test_outputs_not_asked_for_are_refused_undecoded(tmp_path):
    path = attack("wire-unrequested", tmp_path / "s")
    args = [np.ones((3, 4)), np.ones((5, 4)), np.zeros(5, dtype=np.int64), 0.1]
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        only_loss = s.call_many("softmax_loss", [args], ["loss", "dW"], 10.0, want=["loss"])[0]
        assert isinstance(only_loss, Problem) and "not asked for" in only_loss.message
    with Sandbox(tmp_path / "box2") as box, limited_session(box, path) as s:
        # every output asked for, but one more array than the outputs name
        both = s.call("softmax_loss", args, ["loss", "dW"], 10.0)
        assert isinstance(both, Problem) and "not asked for" in both.message


def test_the_call_memo_is_bounded_in_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "MEMO_BYTES", 1 << 20)
    path = module(tmp_path / "s", """
        import numpy as np
        def big(x):
            return np.full(1 << 15, float(x[0]))  # 256 KiB
    """)
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        for i in range(12):
            got = s.call("big", [np.array([float(i)])], ["v"], 10.0)
            assert isinstance(got, Returned) and got.values[0][0] == i
        assert s._memo_bytes <= 1 << 20
        assert len(s._memo) < 12
        calls = s.calls
        again = s.call("big", [np.array([0.0])], ["v"], 10.0)  # evicted: run again, same answer
        assert isinstance(again, Returned) and again.values[0][0] == 0.0 and s.calls == calls + 1


def test_decoded_bytes_are_capped_per_submission(tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "SUBMISSION_DECODE_CAP", 1 << 20)
    path = module(tmp_path / "s", """
        import numpy as np
        def big(x):
            return np.full(1 << 15, float(x[0]))  # 256 KiB decoded
    """)
    with Sandbox(tmp_path / "box") as box, limited_session(box, path) as s:
        got = [s.call("big", [np.array([float(i)])], ["v"], 10.0) for i in range(6)]
    assert all(isinstance(g, Returned) and g.values[0] is not None for g in got[:4])
    for g in got[4:]:
        assert isinstance(g, Returned) and g.values[0] is None
        assert g.problems[0] is not None and g.problems[0].kind in {"too-large", "wrong-type"}


def test_a_descent_on_a_number_runs_like_one_on_an_array(box: Sandbox, tmp_path: Path) -> None:
    """The variable may be a plain number: the child's iterate is then a 0-d array, and
    each step still answers for the grader's own iterate."""
    with session(box, tmp_path, "return float((W - c) ** 2), 2.0 * (W - c)\n") as s:
        got = s.descend("f", [1.0, 0.25], ["loss", "dW"], STEP_LIMIT, variable=0, gradient="dW", rate=RATE, steps=4,
                        shapes=[(), ()])
    assert len(got) == 4 and all(isinstance(g, Returned) for g in got)
    w = 1.0
    for g in got:
        assert isinstance(g, Returned)
        assert g.values[0] == (w - 0.25) ** 2
        w = w - RATE * float(g.values[1])
