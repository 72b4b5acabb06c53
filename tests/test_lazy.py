"""gradgrader/_lazy.py: a package's names resolved on first use."""

from __future__ import annotations

import sys

import pytest

from gradgrader._lazy import lazy_names


def test_a_name_is_imported_when_first_asked_for_and_kept():
    namespace: dict = {}
    get = lazy_names("gradgrader", {"ConfigError": "errors"}, namespace)
    from gradgrader.errors import ConfigError

    assert get("ConfigError") is ConfigError and namespace["ConfigError"] is ConfigError
    with pytest.raises(AttributeError, match="module 'gradgrader' has no attribute 'Nope'"):
        get("Nope")


def test_the_spec_package_loads_its_models_only_when_a_model_is_asked_for():
    import subprocess

    code = (
        "import sys, gradgrader.spec as s\n"
        "before = 'gradgrader.spec.models' in sys.modules\n"
        "s.Assignment\n"
        "print(before, 'gradgrader.spec.models' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
