"""gradgrader/sandbox/environment.py: the packages a course declares, the stubs, what doctor lists, and what a numpy-only course never pays for."""

from __future__ import annotations


def test_a_numpy_only_course_never_lists_the_installed_distributions(monkeypatch) -> None:
    # Listing them costs ~50 ms of a single `check`; only declared packages need it.
    from gradgrader.sandbox import environment

    def refuse() -> dict:
        raise AssertionError("listed the installed distributions")

    monkeypatch.setattr(environment, "_providers", refuse)
    environment.course_environment.cache_clear()
    try:
        env = environment.course_environment((), ("matplotlib",))
        assert env.modules == () and env.stubs == ("matplotlib",)
    finally:
        environment.course_environment.cache_clear()
