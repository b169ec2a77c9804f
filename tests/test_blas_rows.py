"""Batch-shaped matmuls on OpenBLAS, the rest on MKL, inside one process (oscgen/_blas_rows.py):
MLX really calls the router, each row count reaches the library its route says, the results
are the same matmul either way (the range's rule: test_calibrate.py).  Which library is faster on this host decides nothing here (benchmarks measure that)."""

import platform
import sys

import numpy as np
import pytest

import _checkpoints as ckpt
from oscgen import _blas
from tests._io_fixtures import run_python

# setup.sh installs both (MKL from pyproject, OpenBLAS inside numpy's wheel): on x86-64 Linux a
# missing router is a broken install, not a reason to skip
X86_LINUX = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")
needs_x86_linux = pytest.mark.skipif(not X86_LINUX, reason="MKL and OpenBLAS go under MLX on x86-64 Linux only")


@pytest.fixture
def router():
    assert _blas.router is not None, f"no BLAS row router: {_blas.ROUTER_MISSING or _blas.ACTIVE_BLAS}"
    with _blas.router.kept():
        yield _blas.router


def _matmul(rows: int, seed: int = 0):
    import mlx.core as mx

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 384)).astype(np.float32)
    w = rng.standard_normal((256, 384)).astype(np.float32)
    return np.array(mx.array(x) @ mx.array(w).T), x @ w.T


@needs_x86_linux
def test_mlx_matmuls_go_where_the_route_sends_them(router):
    router.route((4, 16))
    assert [router.wide(n) for n in (1, 2, 3, 4, 8, 16, 17, 64)] == [False] * 3 + [True] * 3 + [False] * 2
    for rows, to_openblas in ((2, False), (4, True), (16, True), (32, False)):
        before = router.calls()
        got, want = _matmul(rows)
        after = router.calls()
        assert after[to_openblas] > before[to_openblas] and after[not to_openblas] == before[not to_openblas], rows
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    router.route(None)  # no range: every call to MKL
    before = router.calls()
    _matmul(8)
    assert router.calls()[1] == before[1] and router.calls()[0] > before[0]


@needs_x86_linux
def test_the_transposed_forms_calls_go_by_their_columns(router):
    """(W @ xᵀ)ᵀ with a decoder-sized weight: the GEMM's columns are x's rows; a narrower
    weight (EnCodec's convs) stays on MKL whatever its columns."""
    import mlx.core as mx

    router.route(None, (4, 8))
    assert [router.wide(1024, n, 1024) for n in (2, 4, 8, 16)] == [False, True, True, False]
    assert not router.wide(512, 4, 1024) and not router.wide(1024, 4, 64) and not router.wide(4)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1024, 1024)).astype(np.float32)
    for rows, to_openblas in ((2, False), (4, True), (8, True), (16, False)):
        x = rng.standard_normal((rows, 1024)).astype(np.float32)
        before = router.calls()
        got = np.array((mx.array(w) @ mx.array(x).T).T)
        after = router.calls()
        assert after[to_openblas] > before[to_openblas] and after[not to_openblas] == before[not to_openblas], rows
        np.testing.assert_allclose(got, x @ w.T, rtol=1e-4, atol=1e-3)


def _teacher_forced_logits(engine, steps: int = 6) -> np.ndarray:
    """Decoder logits of 4 guided takes (8 rows) at positions 0 .. steps-1, fixed random tokens."""
    import mlx.core as mx

    takes = [engine.take(f"take {i} of a test", 12, seed=i) for i in range(4)]
    states, mask, texts = engine._batch_conditioning(takes, True)
    cross_kv, cross_mask = engine._cross_attention(states, mask, steps, len(takes), texts)
    cache, table = engine.decoder.new_cache(states.shape[0], 16), engine._positions_table(16)
    tokens = np.random.default_rng(0).integers(0, engine.vocab_size, (steps, states.shape[0], engine.num_codebooks))
    out = []
    for t in range(steps):
        logits, cache = engine.decoder.step(mx.array(tokens[t], dtype=mx.int32), mx.array(t, dtype=mx.int32), table,
                                            cache, cross_kv, cross_mask)
        out.append(np.array(logits))
    return np.stack(out)


@needs_x86_linux
def test_both_libraries_give_the_same_batched_logits(router):
    """Eight rows through the tiny model's decoder, their matmuls on OpenBLAS and then on MKL:
    the same logits to float32 rounding (the same sums in another order: ~sqrt(K) x 6e-8
    relative per GEMM, K <= 4 x the width here; 1e-4 of the largest logit leaves room for the
    layers compounding it), and OpenBLAS really took the first run's calls."""
    from oscgen import api

    engine = api.load_model("tiny-random")
    logits = {}
    for route in ((4, 64), None):
        router.route(route)
        before = router.calls()
        logits[route] = _teacher_forced_logits(engine)
        assert router.calls()[1] > before[1] if route else router.calls()[1] == before[1]
    scale = np.abs(logits[None]).max()
    assert scale > 0.1  # real logits (seen 0.73 here, the libraries 2.4e-7 apart)
    np.testing.assert_allclose(logits[(4, 64)], logits[None], rtol=0, atol=1e-4 * scale)


@needs_x86_linux
def test_a_fresh_process_routes_as_its_host_was_calibrated(tmp_path):
    env = {"OSCGEN_BLAS": None, "MKL_NUM_THREADS": None, "OSCGEN_CPU_THREADS": None,
           "OSCGEN_CACHE": str(tmp_path / "cache")}
    show = "import oscgen, json\nfrom oscgen import _blas\nprint(_blas.router and _blas.router.rows)\n"
    assert run_python(show, env=env).stdout.strip() == "None"  # uncalibrated: MKL takes everything
    write = ("import oscgen, json\nfrom oscgen import _blas\np = _blas.calibration_file()\n"
             "p.parent.mkdir(parents=True)\np.write_text(json.dumps({'key': _blas.host_key(), "
             "'decode_threads': 1, 'openblas_threads': 1, 'openblas_rows': [4, 16]}))\n")
    assert run_python(write, env=env).returncode == 0
    assert run_python(show, env=env).stdout.strip() == "(4, 16)"
    # OSCGEN_BLAS=mkl: no router at all, as before it existed
    assert run_python(show, env={**env, "OSCGEN_BLAS": "mkl"}).stdout.strip() == "None"


@needs_x86_linux
def test_the_openblas_under_the_router_is_built_for_every_x86_core(router):
    """A single-target build (cmeel-openblas is SKYLAKEX only) dies of SIGILL on an AVX2-only
    host such as a 2-core AMD EPYC (Zen 3): the router takes numpy's DYNAMIC_ARCH one."""
    assert "DYNAMIC_ARCH" in router.version(), router.version()


def _dot_bound(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The float32 rounding bound of x @ w.T in any summation order: k · 2^-24 · sum |x_i w_i|
    per output (Higham's gamma_k), which the kernel's blocked sums must meet on any host."""
    return x.shape[1] * 2.0 ** -24 * (np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)).T)


needs_own_kernel = pytest.mark.skipif(not X86_LINUX or _blas.router is None or not _blas.router.own_supported(),
                                      reason="the router's own kernel needs x86-64 with AVX2 and FMA")


@needs_own_kernel
def test_the_own_kernel_computes_x_at_w_transposed_for_its_rows(router):
    """Rows in the kernel's range over a weight of 256+ a side run on it (odd rows, a last block
    of fewer than 4 outputs, 256 to 4096 inputs: a decoder's linears, the folded cross-attention's
    256-wide matrices, T5's 768), to float32 rounding, and the same bits on 1 and 2 threads (each
    output is one thread's sum in a fixed order)."""
    import mlx.core as mx

    rng = np.random.default_rng(1)
    for rows, outputs, inputs in ((1, 1024, 1024), (2, 3075, 1024), (3, 1027, 4096), (5, 1025, 1024), (8, 1030, 1024),
                                  (16, 1024, 2048), (2, 256, 1024), (2, 1024, 256), (4, 257, 768)):
        x = rng.standard_normal((rows, inputs)).astype(np.float32)
        w = rng.standard_normal((outputs, inputs)).astype(np.float32)
        got = {}
        for threads in (1, 2):
            router.own((1, 16), threads)
            before = router.calls()
            got[threads] = np.array(mx.array(x) @ mx.array(w).T)
            after = router.calls()
            assert after[2] == before[2] + 1 and after[:2] == before[:2], (rows, threads)
        want = x.astype(np.float64) @ w.astype(np.float64).T
        assert np.all(np.abs(got[2] - want) <= _dot_bound(x, w)), (rows, outputs, inputs)
        assert np.array_equal(got[1], got[2])


@needs_own_kernel
def test_attention_per_head_products_run_on_the_own_kernel_while_it_is_routed(router):
    """A decode step's attention calls the BLAS once per (row, head): scores q @ Kᵀ (64 inputs, a
    window of 256+ keys) and values p @ V (64 outputs).  While the kernel is routed they run on
    it, on both threads, to float32 rounding and the same bits on 1 and 2 threads (the values'
    partial sums are added in a fixed order); MLX's attention over a cache gives the same as
    numpy; other head sizes stay on MKL, and so does everything when the kernel is not routed."""
    import mlx.core as mx

    rng = np.random.default_rng(4)
    for rows, window in ((1, 256), (1, 512), (2, 300), (4, 1000)):
        q = rng.standard_normal((rows, 64)).astype(np.float32)
        kv = rng.standard_normal((2, window, 64)).astype(np.float32)
        p = rng.random((rows, window)).astype(np.float32)
        got = {}
        for threads in (1, 2):
            router.own((1, 16), threads)
            before = router.calls()
            got[threads] = np.array(mx.array(q) @ mx.array(kv[0]).T), np.array(mx.array(p) @ mx.array(kv[1]))
            assert router.calls()[2] == before[2] + 2, (rows, window, threads)
        assert np.all(np.abs(got[2][0] - q.astype(np.float64) @ kv[0].astype(np.float64).T) <= _dot_bound(q, kv[0]))
        assert np.all(np.abs(got[2][1] - p.astype(np.float64) @ kv[1].astype(np.float64)) <= _dot_bound(p, kv[1].T))
        assert all(np.array_equal(a, b) for a, b in zip(got[1], got[2]))
    q = rng.standard_normal((2, 16, 1, 64)).astype(np.float32)
    k, v = rng.standard_normal((2, 2, 16, 512, 64)).astype(np.float32)
    mask = np.arange(512) <= 400
    before = router.calls()
    out = np.array(mx.fast.scaled_dot_product_attention(mx.array(q), mx.array(k), mx.array(v), scale=0.125,
                                                        mask=mx.array(mask)[None, None, None]))
    assert router.calls()[2] >= before[2] + 2 * 32  # each (row, head): scores and values
    scores = np.where(mask, np.einsum("bhqd,bhkd->bhqk", q, k) * 0.125, -np.inf)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(out, (probs / probs.sum(-1, keepdims=True)) @ v, rtol=1e-5, atol=1e-6)
    for form in ("scores of 128-wide heads", "values of 128-wide heads", "not routed"):
        router.own(None if form == "not routed" else (1, 16), 2)
        width = 128 if "128" in form else 64
        a = mx.array(rng.standard_normal((1, width if "scores" in form else 512)).astype(np.float32))
        b = mx.array(rng.standard_normal((512, width)).astype(np.float32))
        before = router.calls()
        mx.eval(a @ b.T if "scores" in form else a @ b)
        assert router.calls()[2] == before[2], form


@needs_own_kernel
def test_a_decode_step_on_the_own_kernel_gives_what_it_gives_on_mkl(router, monkeypatch):
    """The tiny parity models are below the kernel's 256-a-side limit, so this decoder is not:
    width 256, heads of 64, a 256-slot cache.  Its steps (linears, cross-attention, attention
    over the cache, the codebook heads) with the kernel routed give MKL's logits to float32
    rounding: both sum at most 1024 products per output in their own order, ~1e-6 relative
    apart a product, and 1e-4 on logits of order 1 leaves room for two layers' growth while a
    wrong kernel would be off by order 1."""
    import mlx.core as mx

    from oscgen.musicgen import layers

    monkeypatch.setattr(layers, "DECODE_ATTENTION", None)  # attention through the BLAS, per head
    decoder, cross_kv, table, tokens = ckpt.random_step_decoder(width=256, ffn=1024, rows=2, window=256, seed=5)

    def steps(own):
        router.own((1, 31) if own else None, 2)
        before, cache, logits = router.calls()[2], decoder.new_cache(2, 256), []
        for t in range(3):
            out, cache = decoder.step(tokens, mx.array(t, dtype=mx.int32), table, cache, cross_kv, None)
            logits.append(np.array(out))
        return np.stack(logits), router.calls()[2] - before

    (on_mkl, calls_mkl), (on_own, calls_own) = steps(False), steps(True)
    assert calls_mkl == 0 and calls_own >= 3 * 2 * (4 + 2 * 2 * 4)  # linears, and each row's heads' attention
    assert np.abs(on_mkl).max() > 0.1
    np.testing.assert_allclose(on_own, on_mkl, rtol=1e-4, atol=1e-4)


@needs_own_kernel
def test_calls_the_own_kernel_does_not_take_stay_on_the_libraries(router):
    """Rows outside its range, a weight under 256 on either side (except attention's, below),
    inputs not a multiple of 8 and other layouts go to MKL; an accumulating GEMM (beta = 1, MLX's addmm) is right on the kernel."""
    import mlx.core as mx

    router.own((2, 8), 2)
    rng = np.random.default_rng(2)
    cases = [(1, 1024, 1024, "x"), (16, 1024, 1024, "x"), (4, 248, 1024, "x"), (4, 1024, 248, "x"), (4, 1024, 1020, "x"),
             (8, 512, 64, "x"), (4, 1024, 1024, "wxt")]  # (8, 512, 64): 8 queries a head (a prefill's)
    for rows, outputs, inputs, form in cases:
        x = rng.standard_normal((rows, inputs)).astype(np.float32)
        w = rng.standard_normal((outputs, inputs)).astype(np.float32)
        before = router.calls()
        got = np.array(mx.array(x) @ mx.array(w).T if form == "x" else (mx.array(w) @ mx.array(x).T).T)
        after = router.calls()
        assert after[2] == before[2] and after[0] > before[0], (rows, outputs, inputs, form)
        np.testing.assert_allclose(got, x @ w.T, rtol=1e-4, atol=1e-3)
    x = rng.standard_normal((4, 1024)).astype(np.float32)
    w = rng.standard_normal((1024, 1024)).astype(np.float32)
    c = rng.standard_normal((4, 1024)).astype(np.float32)
    before = router.calls()
    got = np.array(mx.addmm(mx.array(c), mx.array(x), mx.array(w).T))
    assert router.calls()[2] == before[2] + 1
    assert np.all(np.abs(got - (c + x.astype(np.float64) @ w.astype(np.float64).T)) <= _dot_bound(x, w) + 1e-6 * np.abs(c) + 1e-6)


@needs_own_kernel
def test_two_mlx_streams_share_the_own_kernel_safely(router):
    """Two CPU streams' matmuls run at once: one call holds the kernel's threads and the other
    takes MKL, both right."""
    import mlx.core as mx

    router.own((1, 16), 2)
    rng = np.random.default_rng(3)
    w = [rng.standard_normal((2048, 1024)).astype(np.float32) for _ in range(2)]
    x = [rng.standard_normal((4, 1024)).astype(np.float32) for _ in range(2)]
    streams = [mx.new_stream(mx.cpu) for _ in range(2)]
    outs = [[mx.matmul(mx.array(x[i]), mx.array(w[i]).T, stream=streams[i]) for _ in range(20)] for i in range(2)]
    mx.eval(outs)
    for i in range(2):
        for out in outs[i]:
            assert np.all(np.abs(np.array(out) - x[i].astype(np.float64) @ w[i].astype(np.float64).T) <= _dot_bound(x[i], w[i]))
