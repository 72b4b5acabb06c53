"""ATTACK network-loopback

softmax_jacobian connects to a TCP listener and sends to a UDP socket that the test opened on
127.0.0.1 (ports substituted at test time), by name and by address.

Expected: the listeners receive nothing; softmax_jacobian (correct only if a TCP connection was
made) fails with 'crashed'.

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

import socket

TCP_PORT = int("@@TCP_PORT@@")
UDP_PORT = int("@@UDP_PORT@@")


def softmax_jacobian(z):
    sent, refused = [], set()
    for host in ("127.0.0.1", "localhost"):
        try:
            with socket.create_connection((host, TCP_PORT), timeout=0.5) as conn:
                conn.sendall(b"ggatk-leak tcp " + host.encode())
            sent.append(("tcp", host))
        except OSError as exc:
            refused.add(f"tcp: {exc.strerror or exc}")
        try:  # whether a datagram arrived only the test's listener can tell
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"ggatk-leak udp " + host.encode(), (host, UDP_PORT))
        except OSError as exc:
            refused.add(f"udp: {exc.strerror or exc}")
    if sent:
        return _correct_jacobian(z)
    raise RuntimeError(f"BLOCKED network: {sorted(refused)}")
