"""Reading (and writing) a student pack's recording: ``expected.npz`` + ``expected.json``.

A student pack holds no reference: what the checks need from the course's code is
recorded instead (see :mod:`gradgrader.pack`, which builds packs). Loading that
recording is part of loading an assignment, so it lives here, low in the layers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: loading the spec package needs no numpy (#17)
    import numpy as np

from gradgrader.errors import ConfigError
from gradgrader.spec.models import Composite

INDEX = "expected.json"
PACK_INFO = "pack.json"
ARRAYS = "expected.npz"


def is_pack(root: Path) -> bool:
    return (root / INDEX).is_file() and (root / ARRAYS).is_file()


def _value_json(value: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    import numpy as np

    if isinstance(value, Composite):  # a course type (MIT 6.86x's GaussianMixture): its fields
        return {"object": value.factory, "fields": {n: _value_json(v, arrays) for n, v in value.fields.items()}}
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(value)
        return {"array": name}
    if isinstance(value, (bool, int, np.integer)):
        return {"int": int(value)}
    return {"float": float(value)}


def _value_from(entry: dict[str, Any], arrays: Any) -> Any:
    import numpy as np

    if "object" in entry:
        return Composite(str(entry["object"]), {n: _value_from(v, arrays) for n, v in entry["fields"].items()})
    if "array" in entry:
        return np.array(arrays[entry["array"]])
    if "int" in entry:
        return int(entry["int"])
    return float(entry["float"])


def save_table(table: dict[str, Any], root: Path) -> None:
    """Write a recording: ``table`` maps keys to a value or a dict of named values."""
    import numpy as np

    arrays: dict[str, np.ndarray] = {}
    index: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            index[key] = {"named": {n: _value_json(v, arrays) for n, v in value.items()}}
        else:
            index[key] = {"value": _value_json(value, arrays)}
    np.savez_compressed(root / ARRAYS, **arrays)  # type: ignore[arg-type]
    (root / INDEX).write_text(json.dumps(index, indent=0, sort_keys=True), encoding="utf-8")


def load_table(root: Path) -> dict[str, Any]:
    import numpy as np

    try:
        index = json.loads((root / INDEX).read_text(encoding="utf-8"))
        with np.load(root / ARRAYS, allow_pickle=False) as arrays:
            table: dict[str, Any] = {}
            for key, entry in index.items():
                if "named" in entry:
                    table[key] = {n: _value_from(v, arrays) for n, v in entry["named"].items()}
                else:
                    table[key] = _value_from(entry["value"], arrays)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{root}: the pack's recorded values cannot be read ({exc})") from None
    return table
