"""How long `gradgrader similarity` takes on a large class, and whether it finds the copies.

    python benchmarks/bench_similarity.py                 # 1,000 submissions (figures in docs/performance.md)
    python benchmarks/bench_similarity.py --n 200 --copydetect 200   # + copydetect 0.5.0 on 200

1. Generates ``n`` synthetic softmax submissions of ~100 lines: the starter's docstrings
   (as students keep them), each of the six functions in one of several styles written
   here, identifiers drawn per student, functions in a random order, random comments,
   debug prints and a few lines of the student's own scratch code; then plants ``--copies``
   disguised copies (every identifier renamed, functions reordered, comments changed,
   prints added) in place of independent submissions.
2. Times `similarity.analyse` (read, normalise, fingerprint, index, compare, measure)
   on them with the starter subtracted, single process, and reports where the planted
   pairs rank. A timing is printed, never asserted.
3. With ``--copydetect N``: times the copydetect package (pip install copydetect) on the
   first N files with the same starter as boilerplate: all N(N-1)/2 pairs compared, and
   the time extrapolated to ``n`` by the pair count (its loop is over pairs).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradgrader import similarity as sim  # noqa: E402

STARTER = ROOT / "assignments" / "softmax" / "starter.py"

# Each function in several styles; {names} are drawn per student.
STYLES: dict[str, list[str]] = {
    "logsumexp": [
        "def logsumexp({z}):\n    {m} = np.max({z})\n    return float({m} + np.log(np.sum(np.exp({z} - {m}))))\n",
        "def logsumexp({z}):\n    {z} = np.asarray({z}, dtype=float)\n    {m} = {z}.max()\n    {s} = np.exp({z} - {m}).sum()\n    return float({m} + np.log({s}))\n",
        "def logsumexp({z}):\n    {vals} = sorted(np.ravel({z}))\n    {m} = {vals}[-1]\n    {s} = 0.0\n    for {v} in {vals}:\n        {s} += math.exp({v} - {m})\n    return {m} + math.log({s})\n",
        "def logsumexp({z}):\n    {m} = np.amax({z})\n    if not np.isfinite({m}):\n        return float({m})\n    return float({m} + np.log(np.exp({z} - {m}).sum()))\n",
    ],
    "softmax": [
        "def softmax({Z}):\n    {E} = np.exp({Z} - {Z}.max(axis=1, keepdims=True))\n    return {E} / {E}.sum(axis=1, keepdims=True)\n",
        "def softmax({Z}):\n    {m} = np.max({Z}, axis=-1)[:, None]\n    {E} = np.exp({Z} - {m})\n    {s} = np.sum({E}, axis=-1)[:, None]\n    return {E} / {s}\n",
        "def softmax({Z}):\n    {out} = np.zeros_like({Z}, dtype=float)\n    for {n} in range({Z}.shape[0]):\n        {r} = {Z}[{n}] - np.max({Z}[{n}])\n        {out}[{n}] = np.exp({r}) / np.exp({r}).sum()\n    return {out}\n",
    ],
    "softmax_jacobian": [
        "def softmax_jacobian({z}):\n    {s} = softmax({z}[None, :])[0]\n    return np.diag({s}) - np.outer({s}, {s})\n",
        "def softmax_jacobian({z}):\n    {s} = softmax(np.atleast_2d({z})).ravel()\n    {J} = -np.outer({s}, {s})\n    {J}[np.diag_indices_from({J})] += {s}\n    return {J}\n",
        "def softmax_jacobian({z}):\n    {s} = softmax({z}.reshape(1, -1))[0]\n    {K} = {s}.size\n    {J} = np.empty(({K}, {K}))\n    for {k} in range({K}):\n        for {l} in range({K}):\n            {J}[{k}, {l}] = {s}[{k}] * ((1.0 if {k} == {l} else 0.0) - {s}[{l}])\n    return {J}\n",
    ],
    "log_partition_grad": [
        "def log_partition_grad({theta}, {T}):\n    {p} = softmax(({T} @ {theta})[None, :])[0]\n    return {T}.T @ {p}\n",
        "def log_partition_grad({theta}, {T}):\n    {a} = {T}.dot({theta})\n    {a} = {a} - {a}.max()\n    {p} = np.exp({a}) / np.exp({a}).sum()\n    return {p}.dot({T})\n",
        "def log_partition_grad({theta}, {T}):\n    {g} = np.zeros({T}.shape[1])\n    {lse} = logsumexp({T} @ {theta})\n    for {m} in range({T}.shape[0]):\n        {g} += np.exp({T}[{m}] @ {theta} - {lse}) * {T}[{m}]\n    return {g}\n",
    ],
    "log_likelihood_grad": [
        "def log_likelihood_grad({theta}, {tau}, {T}):\n    return {tau} - log_partition_grad({theta}, {T})\n",
        "def log_likelihood_grad({theta}, {tau}, {T}):\n    {e} = log_partition_grad({theta}, {T})\n    {g} = np.array({tau}, dtype=float) - {e}\n    return {g}\n",
    ],
    "softmax_loss": [
        "def softmax_loss({W}, {X}, {y}, {reg}):\n    {N} = {X}.shape[0]\n    {P} = softmax({X} @ {W}.T)\n"
        "    {loss} = -np.mean(np.log({P}[np.arange({N}), {y}])) + 0.5 * {reg} * np.sum({W} * {W})\n"
        "    {P}[np.arange({N}), {y}] -= 1\n    {dW} = {P}.T @ {X} / {N} + {reg} * {W}\n    return {loss}, {dW}\n",
        "def softmax_loss({W}, {X}, {y}, {reg}):\n    {N} = len({y})\n    {S} = {X}.dot({W}.T)\n    {S} -= {S}.max(axis=1, keepdims=True)\n"
        "    {lse} = np.log(np.exp({S}).sum(axis=1))\n    {loss} = np.mean({lse} - {S}[np.arange({N}), {y}]) + {reg} / 2 * np.sum({W} ** 2)\n"
        "    {Y} = np.eye({W}.shape[0])[{y}]\n    {P} = np.exp({S} - {lse}[:, None])\n    {dW} = ({P} - {Y}).T.dot({X}) / {N} + {reg} * {W}\n    return {loss}, {dW}\n",
        "def softmax_loss({W}, {X}, {y}, {reg}):\n    {N}, {D} = {X}.shape\n    {loss} = 0.0\n    {dW} = np.zeros_like({W})\n"
        "    for {n} in range({N}):\n        {p} = softmax(({W} @ {X}[{n}])[None, :])[0]\n        {loss} -= np.log({p}[{y}[{n}]])\n"
        "        {p}[{y}[{n}]] -= 1\n        {dW} += np.outer({p}, {X}[{n}])\n"
        "    {loss} = {loss} / {N} + 0.5 * {reg} * ({W} ** 2).sum()\n    return {loss}, {dW} / {N} + {reg} * {W}\n",
    ],
}
NAMES = [
    "a", "b", "c", "m", "s", "t", "u", "v", "w", "x", "z", "acc", "arr", "big", "col", "cur", "data", "delta",
    "diff", "ex", "expo", "grad", "hi", "idx", "key", "lo", "mat", "mx", "norm", "out", "peak", "prob", "res",
    "row", "scores", "shift", "tmp", "top", "total", "val", "vec", "weights", "alpha", "beta", "gamma", "kappa",
]
COMMENTS = [
    "# stable: subtract the max first", "# see lecture 4", "# vectorised", "# TODO tidy up", "# checked numerically",
    "# shape (N, K)", "# the gradient from the notes", "# works on the examples", "# careful with overflow",
]
OPS = ["+", "-", "*", "/", "**", "//", "@", "%"]
FUNCS = [
    "np.sqrt", "np.abs", "np.tanh", "np.log1p", "np.cos", "np.sin", "np.exp", "np.square", "np.clip", "np.cumsum",
    "np.sort", "np.argmax", "np.argmin", "np.round", "np.floor", "np.ceil", "np.sign", "np.mean", "np.median",
    "np.std", "np.var", "np.prod", "np.diff", "np.flip", "np.tile", "np.ravel", "np.atleast_1d", "np.copy",
    "np.nan_to_num", "np.real", "np.expm1", "np.log2", "np.log10", "np.hypot", "np.maximum", "np.minimum",
    "math.fabs", "math.sqrt", "float", "abs", "len", "sum", "max", "min",
]
KWARGS = ["", "", "", ", axis=0", ", axis=-1", ", keepdims=True", ", dtype=float", ", out=None"]


def expression(rng: random.Random, names: list[str], depth: int = 0) -> str:
    """A random numpy expression over ``names``: the student's own code, different each time."""
    if depth > 1 or rng.random() < 0.3:
        return rng.choice(names) if rng.random() < 0.7 else str(rng.randint(1, 9))
    kind = rng.random()
    if kind < 0.5:
        return f"{rng.choice(FUNCS)}({expression(rng, names, depth + 1)}{rng.choice(KWARGS)})"
    if kind < 0.8:
        return f"({expression(rng, names, depth + 1)} {rng.choice(OPS)} {expression(rng, names, depth + 1)})"
    return f"{rng.choice(names)}[{rng.choice([':', '0', '-1', '::2', '1:', 'None'])}]"


def docstrings() -> dict[str, str]:
    """Each starter function's def line and docstring, as students keep them."""
    text = STARTER.read_text(encoding="utf-8")
    out = {}
    for m in re.finditer(r"^def (\w+)\(.*?\n(    \"\"\".*?\"\"\"\n)", text, flags=re.S | re.M):
        out[m.group(1)] = m.group(2)
    return out


DOCS = docstrings()


def _names(rng: random.Random, template: str) -> dict[str, str]:
    fields = sorted(set(re.findall(r"{(\w+)}", template)))
    pool = rng.sample(NAMES, len(fields))
    return dict(zip(fields, pool, strict=True))


def scratch(rng: random.Random, fn: str) -> str:
    """A few lines of the student's own: an experiment left in the file."""
    arg = rng.choice(NAMES)
    lines = [f"def _try_{fn}_{rng.randrange(10**6)}({arg}):"]
    names = [arg]
    for _ in range(rng.randint(2, 5)):
        new = rng.choice(NAMES)
        lines.append(f"    {new} = {expression(rng, names)}")
        names.append(new)
    lines.append(f"    return {names[-1]}")
    return "\n".join(lines) + "\n"


def own_lines(rng: random.Random, names: list[str]) -> str:
    """One or two lines of a student's own inside a function (a check, a reshaping)."""
    return "".join(f"    {rng.choice(NAMES)}_ = {expression(rng, names)}\n" for _ in range(rng.randint(1, 2)))


def student(rng: random.Random) -> str:
    parts = ['"""Softmax homework."""\n\nimport math\n\nimport numpy as np\n']
    order = list(STYLES)
    rng.shuffle(order)
    for fn in order:
        template = rng.choice(STYLES[fn])
        names = _names(rng, template)
        body = template.format(**names)
        head, _, rest = body.partition("\n")
        if rng.random() < 0.7:
            rest = own_lines(rng, list(names.values())) + rest
        code = head + "\n" + (DOCS.get(fn, "") if rng.random() < 0.6 else "") + rest
        if rng.random() < 0.5:
            code = code.replace("\n    return", f"\n    {rng.choice(COMMENTS)}\n    return", 1)
        if rng.random() < 0.3:
            code = code.replace("\n    return", "\n    print('debug')\n    return", 1)
        parts.append(code)
        if rng.random() < 0.4:
            parts.append(scratch(rng, fn))
    return "\n\n".join(parts)


IDENT = re.compile(r"(?<![.\w])[A-Za-z_]\w*\b")  # a name, not an attribute
KEEP = {"def", "return", "for", "in", "if", "else", "not", "range", "len", "float", "sorted", "import", "np", "math",
        "numpy", "None", "print", "dtype", "axis", "keepdims", "True", "False"}


def disguise(source: str, rng: random.Random) -> str:
    """A planted copy: local names renamed, functions reordered, comments changed, prints added."""
    blocks = re.split(r"\n(?=def )", source)
    head, funcs = blocks[0], blocks[1:]
    rng.shuffle(funcs)
    out = []
    for f in funcs:
        name = re.match(r"def (\w+)", f)
        fname = name.group(1) if name else ""
        body_start = f.find("):") + 2
        doc_end = f.find('"""', f.find('"""') + 3) + 3 if '"""' in f else body_start
        sig_and_doc, code = f[:doc_end], f[doc_end:]
        renamed = IDENT.sub(lambda m: m.group(0) if m.group(0) in KEEP or m.group(0) in STYLES else m.group(0) + "_", code)
        params = IDENT.sub(
            lambda m, keep=fname: m.group(0) if m.group(0) in KEEP or m.group(0) == keep else m.group(0) + "_",  # type: ignore[misc]
            sig_and_doc[:body_start],
        )
        renamed = re.sub(r"#.*", "# " + rng.choice(COMMENTS)[2:][::-1], renamed)
        renamed = renamed.replace("\n    return", "\n    print('here')\n    return", 1)
        out.append(params + sig_and_doc[body_start:] + renamed)
    return head + "\n" + "\n".join(out)


def make_class(folder: Path, n: int, copies: int, seed: int) -> set[frozenset[str]]:
    rng = random.Random(seed)
    sources = {f"s{i:04d}": student(rng) for i in range(n)}
    planted: set[frozenset[str]] = set()
    ids = list(sources)
    rng.shuffle(ids)
    for k in range(copies):
        original, copy = ids[2 * k], ids[2 * k + 1]
        sources[copy] = disguise(sources[original], rng)
        planted.add(frozenset({original, copy}))
    folder.mkdir(parents=True, exist_ok=True)
    for sid, text in sources.items():
        (folder / f"{sid}.py").write_text(text, encoding="utf-8")
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="submissions (default 1000)")
    parser.add_argument("--copies", type=int, default=20, help="planted copy pairs (default 20)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: one per core)")
    parser.add_argument("--copydetect", type=int, default=0, metavar="N", help="also time copydetect on N files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        planted = make_class(folder, args.n, args.copies, args.seed)
        files = sorted(folder.glob("*.py"))
        lines = [len(p.read_text().splitlines()) for p in files]
        print(f"{len(files)} submissions, {sum(lines) / len(lines):.0f} lines on average "
              f"({min(lines)}–{max(lines)}); {len(planted)} planted copy pairs")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")

        subs = [(p.stem, p) for p in files]
        started = time.perf_counter()
        report = sim.analyse(subs, [STARTER], jobs=args.jobs)
        elapsed = time.perf_counter() - started
        ranks = {frozenset({m.a, m.b}): i for i, m in enumerate(report.matches, 1)}
        found = [ranks[p] for p in planted if p in ranks]
        print(f"gradgrader similarity (--jobs {args.jobs}): {elapsed:.2f} s for {len(files)} files "
              f"({len(files) * (len(files) - 1) // 2:,} pairs), {len(report.matches)} pairs reported")
        print(f"planted pairs found: {len(found)}/{len(planted)}; ranks {sorted(found)}")

        if args.copydetect:
            from copydetect import CopyDetector  # pip install copydetect

            few = Path(tmp) / "few"
            few.mkdir()
            for p in files[: args.copydetect]:
                (few / p.name).write_text(p.read_text())
            boiler = Path(tmp) / "boiler"
            boiler.mkdir()
            (boiler / "starter.py").write_text(STARTER.read_text())
            started = time.perf_counter()
            detector = CopyDetector(test_dirs=[str(few)], boilerplate_dirs=[str(boiler)], extensions=["py"],
                                    display_t=0.5, silent=True, autoopen=False)
            detector.run()
            cd = time.perf_counter() - started
            m = args.copydetect
            scale = (len(files) * (len(files) - 1)) / (m * (m - 1))
            print(f"copydetect 0.5.0: {cd:.2f} s for {m} files; about {cd * scale:.0f} s for {len(files)} "
                  f"(extrapolated by the number of pairs)")


if __name__ == "__main__":
    main()
