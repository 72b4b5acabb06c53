"""Dataclass methods from code remembered between processes (gradgrader._compiled, #17)."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from gradgrader._compiled import HEADER, RememberedCode, code_file, read

# Defined without ``from __future__ import annotations`` (as the engine's modules are not
# all): the generated __init__ must carry the annotations as objects, as it does without
# remembered code — compiled with this test module's future flags it would hold strings.
CLASS_SOURCE = '''
import dataclasses

@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float = 0.0
    tags: tuple = ()

@dataclasses.dataclass(order=True)
class Ranked:
    score: int
    name: str = dataclasses.field(default="", compare=False)
'''


def _classes() -> dict:
    namespace: dict = {}
    exec(compile(CLASS_SOURCE, "<classes>", "exec", dont_inherit=True), namespace)
    return namespace


def _behaviour(ns: dict) -> list:
    Point, Ranked = ns["Point"], ns["Ranked"]
    p = Point(1.0, tags=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2.0  # type: ignore[misc]
    return [
        repr(p), p == Point(1.0, 0.0, ("a",)), hash(p) == hash(Point(1.0, 0.0, ("a",))),
        Point.__init__.__annotations__, repr(sorted([Ranked(3, "c"), Ranked(1, "a")])), Ranked(1, "x") == Ranked(1, "y"),
        [f.name for f in dataclasses.fields(Point)],
    ]


def _made_with(path: Path) -> tuple[list, int]:
    """The classes' behaviour, made with the code remembered in ``path``, and how many
    methods had to be compiled."""
    code = RememberedCode(path)
    code.install()
    try:
        return _behaviour(_classes()), code.compiled
    finally:
        code.close()


def test_classes_made_from_remembered_code_behave_as_without_it(tmp_path: Path) -> None:
    plain = _behaviour(_classes())
    assert plain[3] == {"x": float, "y": float, "tags": tuple, "return": None}
    made, compiled = _made_with(tmp_path / "code.marshal")
    assert compiled > 0 and made == plain
    remembered, compiled = _made_with(tmp_path / "code.marshal")
    assert compiled == 0  # every method's code came from the file
    assert remembered == plain


def test_the_dataclasses_module_is_put_back(tmp_path: Path) -> None:
    code = RememberedCode(tmp_path / "code.marshal")
    code.install()
    assert vars(dataclasses)["exec"] == code.exec
    code.close()
    assert "exec" not in vars(dataclasses)
    code.close()  # twice is harmless
    _classes()
    assert code.compiled == 0  # classes made afterwards do not use it


def _sealed(payload: bytes) -> bytes:
    """``payload`` behind its CRC-32, as ``write`` stores it."""
    return zlib.crc32(payload).to_bytes(4, "big") + payload


@pytest.mark.parametrize(
    "content",
    [b"", _sealed(b"not marshal at all"), _sealed(marshal.dumps(("another python", {}))), _sealed(marshal.dumps([1, 2])),
     _sealed(marshal.dumps((HEADER, {"text": 42}))), marshal.dumps((HEADER, {}))],
    ids=["empty", "garbage", "other-python", "not-a-table", "not-code", "no-crc"],
)
def test_a_file_it_cannot_use_is_ignored_and_rewritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "code.marshal"
    path.write_bytes(content)
    assert read(path) == {}
    code = RememberedCode(path)
    code.install()
    try:
        assert _behaviour(_classes())[0] == "Point(x=1.0, y=0.0, tags=('a',))"
    finally:
        code.close()
    assert code.compiled > 0 and len(read(path)) == code.compiled


def test_a_folder_that_cannot_be_written_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = RememberedCode(blocker / "code.marshal")  # its folder is a file
    code.install()
    try:
        _classes()
    finally:
        code.close()
    assert code.compiled > 0 and not (blocker / "code.marshal").exists()


def test_a_command_remembers_the_code_and_the_next_compiles_none(tmp_path: Path) -> None:
    env = {**os.environ, "GRADGRADER_CACHE_DIR": str(tmp_path)}
    probe = (
        "import sys, gradgrader.cli as cli, gradgrader._compiled as c\n"
        "made = []\n"
        "real = c.RememberedCode.close\n"
        "c.RememberedCode.close = lambda self: (made.append(self.compiled), real(self))\n"
        "sys.argv = ['gradgrader', 'assignments']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print('COMPILED', made[0])\n"
    )
    counts = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
        counts.append(int(out.rsplit("COMPILED", 1)[1]))
    assert counts[0] > 0 and counts[1] == 0
    assert code_file().name in os.listdir(tmp_path)


def test_a_damaged_real_file_is_ignored_not_loaded(tmp_path: Path) -> None:
    """A truncated file, or one with a bit flipped anywhere (marshal would load a flipped
    bit of bytecode as other code, or raise SystemError), is ignored."""
    path = tmp_path / "code.marshal"
    code = RememberedCode(path)
    code.install()
    try:
        _classes()
    finally:
        code.close()
    good = path.read_bytes()
    assert read(path)
    damaged = [good[: len(good) // 2]] + [
        good[:i] + bytes([good[i] ^ (1 << bit)]) + good[i + 1:] for i in range(0, len(good), max(len(good) // 97, 1)) for bit in (0, 5)
    ]
    for content in damaged:
        path.write_bytes(content)
        assert read(path) == {}
