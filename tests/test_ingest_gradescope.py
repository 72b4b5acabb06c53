"""gradgrader/ingest/gradescope.py: a Gradescope export and the warnings it gives."""

from __future__ import annotations

from conftest import GOOD

from gradgrader.ingest import open_class


def test_gradescope_warnings_reach_the_terminal_escaped(tmp_path):
    root = tmp_path / "gs"
    (root / "submission_1").mkdir(parents=True)
    (root / "submission_1" / "softmax.py").write_text(GOOD)
    (root / "submission_metadata.yml").write_text(
        'submission_1:\n  :submitters: []\n"submission_\\e[2J\\a":\n  :submitters: []\n'
    )
    warnings = open_class(root, "softmax.py", tmp_path / "work").warnings
    assert warnings and all("\x1b" not in w and "\x07" not in w for w in warnings)
    assert any("\\x1b[2J" in w for w in warnings)  # shown, escaped
