"""ATTACK lookup-the-pack
Computes nothing: it answers every call with the reference's output recorded in the
student pack of `softmax` (`expected.json` + `expected.npz`, copied beside this file),
found by matching the arguments against the pack's recorded public inputs. Against the
pack's own inputs it gets full marks; course grading must give it (almost) nothing,
because the inputs graded come from the course's secret (issue 16).

tests/test_secret.py copies this file to a student's softmax.py, next to a copy
of a fresh pack's recording.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

ARGS = {
    "logsumexp": ["z"],
    "softmax": ["Z"],
    "softmax_jacobian": ["z"],
    "log_partition_grad": ["theta", "T"],
    "log_likelihood_grad": ["theta", "tau", "T"],
    "softmax_loss": ["W", "X", "y", "reg"],
}
HERE = Path(__file__).resolve().parent


def _value(entry, arrays):
    if "array" in entry:
        return np.array(arrays[entry["array"]])
    if "int" in entry:
        return int(entry["int"])
    return float(entry["float"])


def _key(function, args):
    # the pack's key of a reference call: the function and the exact bytes of its arguments
    h = hashlib.sha1(function.encode())
    for a in args:
        if isinstance(a, np.ndarray):
            h.update(hashlib.sha1(str((a.dtype.str, a.shape)).encode() + np.ascontiguousarray(a).tobytes()).digest())
        else:
            h.update(repr((type(a).__name__, a)).encode())
    return h.hexdigest()


def _load():
    index = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
    table = {}
    with np.load(HERE / "expected.npz", allow_pickle=False) as arrays:
        for key, entry in index.items():
            if "named" in entry:
                table[key] = {n: _value(v, arrays) for n, v in entry["named"].items()}
            else:
                table[key] = _value(entry["value"], arrays)
    answers = {}  # function -> [(recorded args, recorded outputs)]
    for key, value in table.items():
        if not key.startswith("inputs:"):
            continue
        _, function, _case = key.split(":", 2)
        ordered = [value[a] for a in ARGS[function]]
        outputs = table.get("ref:" + _key(function, ordered))
        if outputs is not None:
            answers.setdefault(function, []).append((ordered, outputs))
    return answers


ANSWERS = _load()


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and np.array_equal(a, b)
    return a == b


def _lookup(function, *args):
    for ordered, outputs in ANSWERS.get(function, []):
        if all(_same(x, y) for x, y in zip(args, ordered)):
            return outputs
    raise NotImplementedError(f"{function}: these inputs are not in the pack")


def logsumexp(z):
    return _lookup("logsumexp", z)["lse"]


def softmax(Z):
    return _lookup("softmax", Z)["S"]


def softmax_jacobian(z):
    return _lookup("softmax_jacobian", z)["J"]


def log_partition_grad(theta, T):
    return _lookup("log_partition_grad", theta, T)["grad"]


def log_likelihood_grad(theta, tau, T):
    return _lookup("log_likelihood_grad", theta, tau, T)["grad"]


def softmax_loss(W, X, y, reg):
    out = _lookup("softmax_loss", W, X, y, reg)
    return out["loss"], out["dW"]
