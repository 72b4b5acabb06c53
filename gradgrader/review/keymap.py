"""A user's own key bindings for the review UI."""

from __future__ import annotations

from pathlib import Path


def load_keymap(path: Path) -> dict[str, str]:
    """A user's key remapping: a TOML file with a ``[keymap]`` table of binding id =
    "keys" (comma-separated), e.g. ``next-failing = "j,n"``. Missing file: ``{}``."""
    from gradgrader._toml import load_toml
    from gradgrader.errors import ConfigError

    if not path.is_file():
        return {}
    data = load_toml(path)
    table = data.get("keymap", {})
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise ConfigError(
            f'{path}: [keymap] must map binding ids to key strings, e.g. next-failing = "j"'
        )
    return dict(table)
