"""gradgrader/_toml.py and _cache.py: TOML is parsed once per text and remembered in the
user's cache folder (#17: tomllib took ~8 ms of every command that loads an assignment);
what comes back is what tomllib gives, and errors still name the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

import gradgrader._toml as toml_module
from gradgrader._cache import cache_dir
from gradgrader.errors import ConfigError

SHIPPED = sorted([*ROOT.glob("assignments/*/*.toml"), *ROOT.glob("rubrics/*.toml")])


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _parsed_without_tomllib(monkeypatch: pytest.MonkeyPatch, path: Path) -> dict:
    def refused(text: str) -> dict:
        raise AssertionError("parsed again")

    with monkeypatch.context() as m:
        m.setattr(toml_module._parser(), "loads", refused)
        return toml_module.load_toml(path)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_remembered_parse_is_what_tomllib_gives(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = toml_module._parser().loads(path.read_text(encoding="utf-8"))
    assert toml_module.load_toml(path) == fresh  # parsed, and remembered
    again = _parsed_without_tomllib(monkeypatch, path)
    assert again == fresh
    assert repr(again) == repr(fresh)  # the same types and order, not only equal values


def test_the_cache_is_keyed_on_the_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_cache: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('x = 1\ny = [1.5, "two", -0.0, 1e300]\n[t]\nz = true\n')
    assert toml_module.load_toml(path) == {"x": 1, "y": [1.5, "two", -0.0, 1e300], "t": {"z": True}}
    assert _parsed_without_tomllib(monkeypatch, path)["x"] == 1
    path.write_text("x = 2\n")  # edited: never the old parse
    assert toml_module.load_toml(path) == {"x": 2}
    assert len(list((own_cache / "toml").iterdir())) == 2


def test_what_json_cannot_hold_is_parsed_every_time(tmp_path: Path, own_cache: Path) -> None:
    path = tmp_path / "dated.toml"
    path.write_text("when = 2026-12-05T21:00:00Z\nnan = nan\n")
    first = toml_module.load_toml(path)
    assert first["when"].year == 2026
    assert not (own_cache / "toml").exists()
    assert toml_module.load_toml(path)["when"] == first["when"]


def test_a_corrupt_or_unwritable_cache_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.toml"
    path.write_text("x = 1\n")
    toml_module.load_toml(path)
    (remembered,) = (cache_dir() / "toml").iterdir()
    remembered.write_text("{not json")
    assert toml_module.load_toml(path) == {"x": 1}
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(blocked))
    assert toml_module.load_toml(path) == {"x": 1}


def test_invalid_toml_names_the_file_and_is_not_remembered(tmp_path: Path, own_cache: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("x = [1,\n")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        toml_module.load_toml(path)
    assert not (own_cache / "toml").exists()


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GRADGRADER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "gradgrader"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "gradgrader"


def test_a_remembered_load_does_not_import_the_parser(tmp_path: Path, own_cache: Path) -> None:
    """The parser is imported only for a file not remembered yet (~2 ms of a check,
    #17), and the cache's key names it as it did when it was imported to be named: a
    cache written before stays valid."""
    import subprocess
    import sys

    parser = toml_module._parser()
    assert toml_module._parser_name() == f"{parser.__name__} {getattr(parser, '__version__', '')} {sys.version_info[:3]}"
    path = ROOT / "rubrics" / "softmax.toml"
    toml_module.load_toml(path)  # remembered in own_cache
    probe = (
        "import sys; from pathlib import Path; from gradgrader._toml import load_toml; "
        f"load_toml(Path({str(path)!r})); print('tomllib' in sys.modules, 'tomli' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "GRADGRADER_CACHE_DIR": str(own_cache)})
    assert out.stdout.split() == ["False", "False"], out.stderr
