"""ATTACK ptrace-procmem

softmax_jacobian tries to read its parent's memory: ptrace(PTRACE_ATTACH), /proc/<ppid>/mem,
/proc/<ppid>/maps, process_vm_readv, and /proc/kcore.

Expected: all refused; softmax_jacobian (correct only if one worked) fails with 'crashed'.

The honest part is the reference solution's functions (docstrings dropped).
"""

import numpy as np


# ------------------------------------------------------------------ honest part
def _as_float(a: object) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _row_max(Z: np.ndarray) -> np.ndarray:
    m = np.max(Z, axis=-1, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0)


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    shifted = Z - _row_max(Z)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def logsumexp(z: np.ndarray) -> float:
    z = _as_float(z).ravel()
    c = float(np.max(z))
    if not np.isfinite(c):
        return c
    return c + float(np.log(np.sum(np.exp(z - c))))


def softmax(Z: np.ndarray) -> np.ndarray:
    Z = _as_float(Z)
    E = np.exp(Z - _row_max(Z))
    return E / np.sum(E, axis=-1, keepdims=True)


def log_partition_grad(theta: np.ndarray, T: np.ndarray) -> np.ndarray:
    theta = _as_float(theta).ravel()
    T = _as_float(T)
    p = softmax(T @ theta)
    return T.T @ p


def log_likelihood_grad(theta: np.ndarray, tau: np.ndarray, T: np.ndarray) -> np.ndarray:
    tau = _as_float(tau).ravel()
    return tau - log_partition_grad(theta, T)


def softmax_loss(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    W = _as_float(W)
    X = _as_float(X)
    y = np.asarray(y).astype(np.intp).ravel()
    reg = float(reg)
    N = X.shape[0]
    rows = np.arange(N)
    log_P = _log_softmax(X @ W.T)
    loss = -float(np.mean(log_P[rows, y])) + 0.5 * reg * float(np.sum(W * W))
    G = np.exp(log_P)
    G[rows, y] -= 1.0
    dW = G.T @ X / N + reg * W
    return (loss, dW)


# ------------------------------------------------------------------ attack
def _correct_jacobian(z):
    """The right answer, returned only when the attack got through (so a leak shows as points)."""
    s = softmax(np.asarray(z, dtype=float).ravel())
    return np.diag(s) - np.outer(s, s)

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _ptrace_attach(pid):
    if _libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    _libc.ptrace(17, pid, None, None)  # PTRACE_DETACH


def _vm_read(pid):
    buf = ctypes.create_string_buffer(8)
    local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
    remote = (ctypes.c_void_p * 2)(0x400000, 8)
    if _libc.syscall(310, pid, local, 1, remote, 1, 0) < 0:  # process_vm_readv
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def _read(path):
    with open(path, "rb") as f:
        f.read(64)


def softmax_jacobian(z):
    ppid = os.getppid()
    worked, refused = [], set()
    for what, fn in [("ptrace", lambda: _ptrace_attach(ppid)), ("mem", lambda: _read(f"/proc/{ppid}/mem")),
                     ("maps", lambda: _read(f"/proc/{ppid}/maps")), ("vm_readv", lambda: _vm_read(ppid)),
                     ("kcore", lambda: _read("/proc/kcore"))]:
        try:
            fn()
            worked.append(what)
        except OSError as exc:
            refused.add(f"{what}: {exc.strerror}")
    if worked:
        return _correct_jacobian(z)
    raise RuntimeError(f"BLOCKED memory access: {sorted(refused)}")
