"""The CUDA kernels' algorithms in numpy (float32), stage for stage, for the CPU.

The kernels (kernels.py) only run on an NVIDIA GPU; CI has none.  These functions follow the
same data flow — what is written where, which positions attention reads, how the attention splits
combine, the bit-by-bit top-k threshold, the Gumbel draw and the delay pattern — so the suite
checks on any CPU that this algorithm computes what the portable step computes (tests/test_cuda_reference.py).
``benchmarks/cuda_check.py`` checks the kernels against the portable step on the GPU itself.
"""

from __future__ import annotations

import numpy as np


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """MLX's LayerNorm: float32 statistics, two passes."""
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x: np.ndarray) -> np.ndarray:
    from math import erf

    return (0.5 * x * (1.0 + np.vectorize(erf)(x / np.sqrt(2.0)))).astype(np.float32)


def attention_partials(q: np.ndarray, keys: np.ndarray, values: np.ndarray, n: int, splits: int) -> np.ndarray:
    """One (row, head): q (hd,) already scaled, keys/values (window, hd), positions 0..n-1 in
    ``splits`` contiguous chunks → (splits, hd + 2): unnormalised outputs, max score, sum."""
    hd = q.shape[0]
    chunk = -(-n // splits)
    out = np.zeros((splits, hd + 2), np.float32)
    for s in range(splits):
        p0, p1 = s * chunk, min(n, s * chunk + chunk)
        if p0 >= p1:
            out[s, hd] = -np.inf
            continue
        scores = keys[p0:p1] @ q
        m = scores.max()
        e = np.exp(scores - m)
        out[s, :hd] = e @ values[p0:p1]
        out[s, hd], out[s, hd + 1] = m, e.sum()
    return out


def combine_partials(partials: np.ndarray) -> np.ndarray:
    """(splits, hd + 2) → the softmax-weighted values (hd,), as the layer kernel's stage 3."""
    hd = partials.shape[1] - 2
    m = partials[:, hd].max()
    w = np.exp(partials[:, hd] - m)
    return (w @ partials[:, :hd]) / (w @ partials[:, hd + 1])


def layer(x, position: int, weights: dict, cache: np.ndarray, cross: dict, heads: int, splits: int):
    """One decoder layer on x (B, D); writes position's keys/values into ``cache``
    (2, B, heads, window, hd) in place, like the kernel.  ``cross``: the folded cross-attention
    (a (HT, D), bt (D, HT), mask (HT,), cond (B,))."""
    B, D = x.shape
    hd = cache.shape[-1]
    qkv = layer_norm(x, weights["ln1_w"], weights["ln1_b"]) @ weights["w_qkv"].T  # (B, 3D)
    q = qkv[:, :D].reshape(B, heads, hd) / np.sqrt(hd)
    cache[0, :, :, position] = qkv[:, D:2 * D].reshape(B, heads, hd)
    cache[1, :, :, position] = qkv[:, 2 * D:].reshape(B, heads, hd)
    context = np.stack([
        np.concatenate([combine_partials(attention_partials(q[b, h], cache[0, b, h], cache[1, b, h], position + 1, splits))
                        for h in range(heads)])
        for b in range(B)])
    x1 = x + context @ weights["w_o"].T
    scores = layer_norm(x1, weights["ln2_w"], weights["ln2_b"]) @ cross["a"].T + cross["mask"]  # (B, HT)
    s = scores.reshape(B, heads, -1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p = (p / p.sum(-1, keepdims=True)).reshape(B, -1)
    x2 = x1 + np.where(cross["cond"][:, None], p @ cross["bt"].T, 0)
    h = gelu(layer_norm(x2, weights["ln3_w"], weights["ln3_b"]) @ weights["w_fc1"].T)
    return x2 + h @ weights["w_fc2"].T


def order_keys(values: np.ndarray) -> np.ndarray:
    """float32 → uint32 keys in the same order (the head kernel's order_key)."""
    u = (values.astype(np.float32) + np.float32(0)).view(np.uint32)  # -0 → +0: equal floats, one key
    return np.where(u & 0x80000000, ~u, u | 0x80000000).astype(np.uint32)


def kth_largest_key(keys: np.ndarray, k: int) -> int:
    """The k-th largest key, built from the top bit down: keep a bit when at least k keys are
    >= the prefix with it set (the head kernel's threshold search, one count per bit)."""
    threshold = 0
    for bit in range(31, -1, -1):
        candidate = threshold | (1 << bit)
        if int((keys >= candidate).sum()) >= k:
            threshold = candidate
    return threshold


def draw(logits: np.ndarray, noise: np.ndarray, temperature: float, top_k: int) -> np.ndarray:
    """Next code per row of guided logits (..., V): argmax of logits / temperature + noise over
    the logits >= the k-th largest (top_k 0: all; 1: the argmax, no noise); ties → lowest id."""
    V = logits.shape[-1]
    flat, flat_noise = logits.reshape(-1, V), noise.reshape(-1, V)
    out = np.empty(flat.shape[0], np.int64)
    for r, (row, g) in enumerate(zip(flat, flat_noise)):
        keys = order_keys(row)
        threshold = kth_largest_key(keys, top_k) if 0 < top_k < V else 0
        score = row if top_k == 1 else row / np.float32(temperature) + g
        out[r] = np.argmax(np.where(keys >= threshold, score, -np.inf))
    return out.reshape(logits.shape[:-1])


def head(x, weights: dict, noise, cfg_scale: float, temperature: float, top_k: int, position: int, frames: int,
         start_token: int, guided: bool, delays):
    """Final LayerNorm, heads, guidance, draw, delay pattern (codebook k lags by delays[k]):
    x (B, D) → tokens (N, KC), guided logits."""
    KC = noise.shape[1]
    logits = layer_norm(x, weights["lnf_w"], weights["lnf_b"]) @ weights["w_head"].T  # (B, KC·V)
    if guided:
        cond, uncond = np.split(logits, 2)
        logits = uncond + (cond - uncond) * np.float32(cfg_scale)
    tokens = draw(logits.reshape(logits.shape[0], KC, -1), noise, temperature, top_k)
    d = np.asarray(delays)
    inside = (position + 1 > d) & (position + 1 <= frames + d)
    return np.where(inside, tokens, start_token), logits


def gemv_mma(W: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """decode_step.cuh's gemv_mma data flow: W (N, K) times the rows xs (B, K) → (N, B), built
    the way the kernel builds it — each lane's 16-byte slices of two W rows and one xs row put
    straight into m16n8k16 fragment slots (PTX's layout), the tiles multiplied, each lane's
    accumulators read back — so the K-permutation the kernel relies on is checked here."""
    N, K = W.shape
    B = xs.shape[0]
    NT, ST = -(-B // 8), -(-K // 32)
    out = np.zeros((N, B), dtype=np.float64)

    def load(M, row, col, rows):
        return M[row, col:col + 8].astype(np.float64) if row < rows and col < K else np.zeros(8)

    for tile in range(-(-N // 16)):
        c = np.zeros((NT, 16, 8))
        for s in range(ST):
            for j in range(2):  # the slice's two k16 steps: physical 8t + 4j + 0..3
                a, b = np.zeros((16, 16)), np.zeros((NT, 16, 8))
                for lane in range(32):
                    g, t = lane >> 2, lane & 3
                    col = s * 32 + t * 8
                    r0, r1 = load(W, tile * 16 + g, col, N), load(W, tile * 16 + g + 8, col, N)
                    regs = [r0[4 * j:4 * j + 2], r1[4 * j:4 * j + 2], r0[4 * j + 2:4 * j + 4], r1[4 * j + 2:4 * j + 4]]
                    for i, value in enumerate(np.concatenate(regs)):  # a_i: PTX's row / column of slot i
                        a[g if (i < 2 or 4 <= i < 6) else g + 8, 2 * t + (i & 1) + (8 if i >= 4 else 0)] = value
                    for n in range(NT):
                        x = load(xs, n * 8 + g, col, B)[4 * j:4 * j + 4]
                        for i, value in enumerate(x):  # b_i: row 2t + (i & 1) (+8 for i >= 2), column g
                            b[n, 2 * t + (i & 1) + (8 if i >= 2 else 0), g] = value
                c += a @ b
        for lane in range(32):  # c_i: row g (+8 for i >= 2), column 2t + (i & 1)
            g, t = lane >> 2, lane & 3
            for n in range(NT):
                for i in range(4):
                    row, col = g + (8 if i >= 2 else 0), n * 8 + 2 * t + (i & 1)
                    if tile * 16 + row < N and col < B:
                        out[tile * 16 + row, col] = c[n, row, 2 * t + (i & 1)]
    return out
