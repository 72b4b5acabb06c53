"""gradgrader/spec/feedback.py: feedback_for and the texts of feedback.toml: each explanation
fits its function, and none hands over the answer in code."""

from __future__ import annotations

import re

import pytest

from gradgrader.assignment import load_assignment


@pytest.mark.parametrize("name", ["softmax", "gmm"])
def test_a_mistake_nameable_on_several_functions_falls_back_to_text_that_names_no_function(name):
    # sign-flipped (a scale of −1) and transposed (a layout) are tested on every
    # function's output, so their plain [mistake] text must fit any function: the
    # function-specific math lives in [mistake.FUNCTION] tables.
    from gradgrader.spec import feedback_for

    spec = load_assignment(name)
    specific = {"softmax": ["∇_W J", "dW", "J(W)", "∂s_k", "τ"], "gmm": ["Λ", "μ_k", "A⁻ᵀ", "xᵀAx"]}[name]
    for mistake in ("sign-flipped", "transposed"):
        generic = spec.feedback.get(mistake)
        if generic is None:
            continue
        text = generic.title + generic.explanation + generic.next_step
        assert not [m for m in specific if m in text], (mistake, text)
        for fn in spec.functions:
            assert feedback_for(spec, mistake, fn) is not None


# Code that computes a graded output: a matrix product, or the numpy calls the answers
# are made of. A next step points at the step of the derivation that went wrong; it
# never hands over the finished expression (the example: the naive loop's
# feedback printing the vectorised answer X.T @ (P - Y) / N + 2 * reg * W).
ANSWER_CODE = re.compile(r" @ |\.T\b|np\.outer\(|np\.diag\(|np\.linalg\.(inv|det|solve)\(|np\.einsum\(")


@pytest.mark.parametrize("name", ["softmax", "gmm", "cs231n-softmax", "mit686x-em", "cs229-gmm"])
def test_no_feedback_text_hands_over_the_answer_in_code(name):
    spec = load_assignment(name)
    texts = [(f"feedback [{k}]", f.title + " " + f.explanation + " " + f.next_step) for k, f in spec.feedback.items()]
    texts += [(f"next_step of {c.id}", c.next_step or "") for c in spec.checks]
    leaks = [(where, text) for where, text in texts if ANSWER_CODE.search(text)]
    assert not leaks, leaks
