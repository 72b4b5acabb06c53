"""Deterministic inputs for the student's functions.

Every argument is generated from the assignment's ``[inputs]`` table (overridden per
case) with a generator seeded by (assignment seed, case name, argument name) only:
no clock, no order, no process. The same case therefore gives the same arrays in
every run, in any job, for every function that takes that argument.

The seed in ``assignment.toml`` is public (it is in every student pack, and in this
repository). Course grading mixes a **secret** into it (:func:`with_secret`): the
inputs graded are then unknown to anyone without the secret, so no recorded answer
of a pack and no regenerated hidden case predicts them, while the same secret still
gives the same inputs (``--resume``, re-grades, every worker of a cluster).
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradgrader.callkey import call_key as call_key  # the memo and pack key, re-exported
from gradgrader.course import hook
from gradgrader.errors import ConfigError
from gradgrader.spec import Assignment, CaseSpec, Composite, Dim, InputSpec

Value = Any  # a float, an int, a numpy array, or a Composite of those


Generator = Callable[[np.random.Generator, Mapping[str, Any], "_Env"], Value]

GENERATORS: dict[str, Generator] = {}


def generator(name: str) -> Callable[[Generator], Generator]:
    """Register a built-in generator under ``name`` (usable as ``gen = "name"`` in TOML)."""

    def register(fn: Generator) -> Generator:
        GENERATORS[name] = fn
        return fn

    return register


class _Env:
    """Resolves dimension names and other arguments while one case is generated."""

    def __init__(self, assignment: Assignment, case: CaseSpec) -> None:
        self.assignment, self.case = assignment, case
        self.values: dict[str, Value] = {}
        self._busy: set[str] = set()

    def dim(self, d: Dim | float) -> Any:
        if isinstance(d, str):
            if d not in self.case.dims:
                raise ConfigError(
                    f"case {self.case.name!r} has no dimension {d!r} (it has {', '.join(self.case.dims)})"
                )
            return self.case.dims[d]
        return d

    def shape(self, params: Mapping[str, Any]) -> tuple[int, ...]:
        return tuple(int(self.dim(d)) for d in params.get("shape", ()))

    def spec(self, name: str) -> InputSpec:
        if name in self.case.inputs:
            return self.case.inputs[name]
        if name in self.assignment.inputs:
            return self.assignment.inputs[name]
        raise ConfigError(f"no input named {name!r} in [inputs] or case {self.case.name!r}")

    def get(self, name: str) -> Value:
        if name not in self.values:
            if name in self._busy:
                raise ConfigError(f"input {name!r} depends on itself in case {self.case.name!r}")
            self._busy.add(name)
            spec = self.spec(name)
            seed = [self.assignment.seed, zlib.crc32(self.case.name.encode()), zlib.crc32(name.encode())]
            rng = np.random.default_rng(seed)
            if spec.gen in GENERATORS:
                fn = GENERATORS[spec.gen]
            elif spec.gen.startswith("hooks."):
                fn = hook(self.assignment, spec.gen[len("hooks."):], f"input {name!r}")
            else:
                raise ConfigError(
                    f"input {name!r}: unknown generator {spec.gen!r}; built-in ones are "
                    f"{', '.join(sorted(GENERATORS))}, or 'hooks.NAME' for a function of hooks.py"
                )
            self.values[name] = fn(rng, _Resolved(spec.params, self), self)
            self._busy.discard(name)
        return self.values[name]


class _Resolved(Mapping[str, Any]):
    """Generator parameters with dimension names ("K") replaced by the case's sizes."""

    def __init__(self, params: Mapping[str, Any], env: _Env) -> None:
        self._params, self._env = params, env

    def __getitem__(self, key: str) -> Any:
        value = self._params[key]
        if key in {"shape", "of", "factory", "fields"}:
            return value
        return self._env.dim(value) if isinstance(value, str) else value

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)


def grading_seed(seed: int, secret: str) -> int:
    """The seed course grading generates inputs from: SHA-256 of the public seed and the
    course's secret, as a 256-bit integer (numpy's SeedSequence takes integers of any
    size). Without the secret, knowing ``seed`` says nothing about the result."""
    digest = hashlib.sha256(b"gradgrader grading inputs\0" + str(seed).encode() + b"\0" + secret.encode("utf-8")).digest()
    return int.from_bytes(digest, "big")


def with_secret(assignment: Assignment, secret: str | None) -> Assignment:
    """``assignment`` whose inputs (and every other seeded choice of its checks) are
    generated from :func:`grading_seed`; unchanged without a secret."""
    if not isinstance(secret, str) or not secret:
        return assignment
    return dataclasses.replace(assignment, seed=grading_seed(assignment.seed, secret))


def case_inputs(assignment: Assignment, function: str, case: str) -> dict[str, Value]:
    """The arguments of ``function`` for ``case``, freshly generated (safe to mutate)."""
    env = _Env(assignment, assignment.cases[case])
    return {arg: env.get(arg) for arg in assignment.functions[function].args}


def freeze(value: Value) -> Value:
    """``value`` with every array read-only and owning its memory: safe to share
    between checks (a change raises instead of corrupting the next check's inputs),
    and hashed once per process by the call memo (see ``sandbox.session``)."""
    if isinstance(value, Composite):
        return Composite(value.factory, {k: freeze(v) for k, v in value.fields.items()})
    if isinstance(value, np.ndarray):
        if not value.flags.owndata:
            value = value.copy()
        value.flags.writeable = False
    return value


def copy_value(value: Value) -> Value:
    if isinstance(value, Composite):
        return Composite(value.factory, {k: copy_value(v) for k, v in value.fields.items()})
    return value.copy() if isinstance(value, np.ndarray) else value


# --------------------------------------------------------------------------- built-ins


@generator("constant")
def _constant(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    value = p["value"]
    return np.array(value, dtype=np.float64) if isinstance(value, list) else value


@generator("normal")
def _normal(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    """Gaussian entries, ``shift + scale * N(0, 1)``."""
    return p.get("shift", 0.0) + p.get("scale", 1.0) * rng.standard_normal(env.shape(p))


@generator("uniform")
def _uniform(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    return rng.uniform(p.get("low", 0.0), p.get("high", 1.0), env.shape(p))


@generator("labels")
def _labels(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    """Integer labels in [0, classes); every class appears when there are enough samples,
    so that no row of a gradient is zero by accident."""
    shape, k = env.shape(p), int(p["classes"])
    n = int(np.prod(shape))
    labels = rng.permutation(np.arange(n) % k) if n >= k else rng.integers(0, k, n)
    return labels.reshape(shape).astype(np.int64)


@generator("invertible")
def _invertible(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    """A non-symmetric, well-conditioned square matrix: Gaussian plus a diagonal shift.

    A symmetric matrix would hide A⁻¹ vs A⁻ᵀ; the shift of 2·√D keeps the condition
    number small (a D × D Gaussian has spectral radius about √D)."""
    shape = env.shape(p)
    d = shape[-1]
    a = rng.standard_normal(shape) + 2.0 * np.sqrt(d) * np.eye(d)
    return a


@generator("spd")
def _spd(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    """Symmetric positive definite matrices Q diag(λ) Qᵀ with λ in scale·[0.5, 2] — random
    orientation and unequal eigenvalues, so never a multiple of the identity (for D > 1)."""
    shape = env.shape(p)
    d = shape[-1]
    batch = shape[:-2]
    scale = float(p.get("scale", 1.0))
    q, _ = np.linalg.qr(rng.standard_normal(batch + (d, d)))
    lam = scale * rng.uniform(0.5, 2.0, batch + (d,))
    return np.einsum("...ij,...j,...kj->...ik", q, lam, q)


@generator("simplex")
def _simplex(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    """Probability vectors along the last axis (Dirichlet(concentration))."""
    shape = env.shape(p)
    return rng.dirichlet(np.full(shape[-1], float(p.get("concentration", 1.0))), shape[:-1])


@generator("row")
def _row(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    """A copy of one row of another input (e.g. an observed τ among the rows of T)."""
    source = env.get(p["of"])
    return np.array(source[rng.integers(0, source.shape[0])], dtype=np.float64)


@generator("object")
def _object(rng: np.random.Generator, p: Mapping[str, Any], env: _Env) -> Value:
    """``{ gen = "object", factory = "common:GaussianMixture", fields = { mu = "mu", var = "var", p = "p" } }``:
    an object of the course's type built from other inputs (a list means same names)."""
    fields = p["fields"]
    if isinstance(fields, list):
        fields = {f: f for f in fields}
    factory = p["factory"]
    if not isinstance(factory, str) or ":" not in factory:
        raise ConfigError(f"object input: factory must be 'module:callable', not {factory!r}")
    return Composite(factory, {name: env.get(src) for name, src in fields.items()})
