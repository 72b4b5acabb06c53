"""gradgrader/tui/views.py: what the review app's detail screen shows for a result (checks_view)."""

from __future__ import annotations

from conftest import STARTER, _text


def test_review_detail_view_collapses_a_stub_function():
    from gradgrader.tui.views import checks_view

    text = _text(checks_view(STARTER))
    assert "softmax_loss  0/4  not implemented yet (4 check(s))" in text
    assert "softmax_loss.gradient" not in text and "raises NotImplementedError" not in text
