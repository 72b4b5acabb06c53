"""gradgrader/_lazy.py: a package's names resolved on first use."""

from __future__ import annotations

import pytest

from gradgrader._lazy import lazy_names


def test_a_name_is_imported_when_first_asked_for_and_kept():
    namespace: dict = {}
    get = lazy_names("gradgrader", {"ConfigError": "errors"}, namespace)
    from gradgrader.errors import ConfigError

    assert get("ConfigError") is ConfigError and namespace["ConfigError"] is ConfigError
    with pytest.raises(AttributeError, match="module 'gradgrader' has no attribute 'Nope'"):
        get("Nope")
