"""gradgrader/submission: the Submission model; ids that are distinct, stable and printable
whatever the students' names."""

from __future__ import annotations

from conftest import GOOD, by_id, student

from gradgrader.ingest import discover
from gradgrader.ingest.submission import Submission, distinct_ids


def test_a_leading_space_does_not_take_alices_id(tmp_path):
    cls = tmp_path / "class"
    student(cls, " alice", "# impostor\n" + GOOD)
    student(cls, "alice")
    subs = discover(cls, "softmax.py", tmp_path / "cache")
    ids = [s.id for s in subs]
    assert "alice" in ids and len(set(ids)) == 2
    assert by_id(subs)["alice"].path == cls / "alice" / "softmax.py"
    other = next(i for i in ids if i != "alice")
    assert other.startswith("alice~") and " " not in other


def test_names_equal_once_cleaned_get_distinct_stable_ids_and_the_class_is_graded(tmp_path):
    cls = tmp_path / "class"
    student(cls, "bob")
    student(cls, "bob\x07")
    student(cls, "bob\u202e")
    subs = discover(cls, "softmax.py", tmp_path / "cache")
    ids = [s.id for s in subs]
    assert len(set(ids)) == 3 and "bob" in ids
    assert by_id(subs)["bob"].path == cls / "bob" / "softmax.py"
    # stable: the same ids whatever order the folders come in
    assert sorted(s.id for s in distinct_ids(list(reversed([Submission(s.raw_id, s.path) for s in subs])))) == sorted(ids)


def test_the_submission_model_loads_the_notebook_converter_only_for_a_notebook(tmp_path) -> None:
    """A .py submission (every `check` of one) does not pay for the notebook reader."""
    import ast
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gradgrader.submission import Submission\n"
        f"Submission('a', Path({str(tmp_path / 'softmax.py')!r}))\n"
        "print('gradgrader.submission.notebook' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert ast.literal_eval(out.strip()) is False
