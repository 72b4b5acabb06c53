"""gradgrader/tui/views.py: what the review app's detail screen shows for a result
(checks_view)."""

from __future__ import annotations

from conftest import ADVICE, STARTER, _text, result_with_advice, text_of

from gradgrader.tui.views import checks_view


def test_review_detail_view_collapses_a_stub_function():
    from gradgrader.tui.views import checks_view

    text = _text(checks_view(STARTER))
    assert "softmax_loss  0/4  not implemented yet (4 check(s))" in text
    assert "softmax_loss.gradient" not in text and "raises NotImplementedError" not in text


def test_review_detail_screen_shows_advice_under_a_function_whose_checks_all_pass():
    text = text_of(checks_view(result_with_advice().to_json()))
    assert "all 2 check(s) pass" in text
    assert "advice, not scored: softmax_loss.stable: " + ADVICE in text
