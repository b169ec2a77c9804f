"""How a decode step's linears run on this CPU, per row count: measured, not assumed.

A linear over ``rows`` rows (2 per guided take) can run three ways under MLX:

- ``x @ W.T`` on MKL (the checkpoint's layout; what every row count did at first);
- ``(W @ x.T).T`` on MKL (layers.matmul_t): the same arithmetic with the weight as the GEMM's
  long side, which MKL splits over its threads better on some hosts;
- ``x @ W.T`` on OpenBLAS, through the row router (oscgen/_blas_rows.py), where it is installed.

Which is fastest is a per-host fact (a 2-core AMD EPYC, 2026-12-02: one take 67 / 44 / 93 ms a
pass over musicgen-small's decoder weights, four takes 109 / 75 / 69 ms; an Intel Xeon earlier:
``x @ W.T`` for one take, ``(W @ x.T).T`` from four), so calibrate.py times all three at each of
PLAN_ROWS and ``choose_plan`` turns the times into the settings the engine reads: the row
range the router sends to OpenBLAS, the row ranges that run as ``(W @ x.T).T``, and the row
ranges that run padded with zero rows to a larger measured count that streams faster.  A measured
count's choice covers every row count up to the next measured one; beyond the last, ``x @ W.T``
on MKL (prefill, T5 and EnCodec's large GEMMs, where MKL is at home).
"""

from __future__ import annotations

from oscgen import _blas

PLAN_ROWS = (1, 2, 4, 8, 16, 32)  # one unguided take up to 16 guided takes
#: The plan's three ways, by name (the record's keys).
PLAIN, WXT, OPENBLAS = "x@Wt", "(W@xt)t", "openblas"
#: A challenger must beat x @ W.T on MKL by this much: noise keeps the default.
MARGIN = 0.95


def passes(weights: list, rows: int) -> dict:
    """{PLAIN: one pass of x @ W.T, WXT: one pass of (W @ x.T).T} over ``weights`` (each waits for
    its result), x random with ``rows`` rows; which library PLAIN reaches is the router's route."""
    import mlx.core as mx

    xs = [mx.random.normal((rows, w.shape[1])) for w in weights]
    mx.eval(xs)
    return {PLAIN: lambda: mx.eval([x @ w.T for x, w in zip(xs, weights)]),
            WXT: lambda: mx.eval([(w @ x.T).T for x, w in zip(xs, weights)])}


def measure_plan(weights: list, rows=PLAN_ROWS, repeats: int = 2) -> dict[int, dict[str, float]]:
    """Seconds of one pass over ``weights`` at each row count, each way (OpenBLAS only where
    the router is loaded); the router's route is left as it was."""
    from oscgen.calibrate import best_seconds

    router = _blas.router
    before = router.rows if router is not None else None
    out = {}
    try:
        for n in rows:
            one_pass = passes(weights, n)
            if router is not None:
                router.route(None)
            times = {way: best_seconds(run, repeats) for way, run in one_pass.items()}
            if router is not None:
                router.route((n, n))
                times[OPENBLAS] = best_seconds(one_pass[PLAIN], repeats)
            out[n] = times
    finally:
        if router is not None:
            router.route(before)
    return out


def _spans(counts: list[int], chosen: list[bool]) -> list[list[int]]:
    """Row ranges [lo, hi] covered by the chosen measured counts (each up to the next count - 1,
    the last count itself), adjacent ones merged."""
    spans: list[list[int]] = []
    for i, (n, yes) in enumerate(zip(counts, chosen)):
        if not yes:
            continue
        hi = counts[i + 1] - 1 if i + 1 < len(counts) else n
        if spans and spans[-1][1] == n - 1:
            spans[-1][1] = hi
        else:
            spans.append([n, hi])
    return spans


def choose_plan(times: dict[int, dict[str, float]]) -> dict:
    """{"openblas_rows": [lo, hi] or None, "wxt_rows": [[lo, hi], ...]}: OpenBLAS for the run of
    consecutive measured counts where it beats both MKL forms that saves the most (the router
    takes one range); elsewhere (W @ x.T).T where it beats x @ W.T.  Each by more than MARGIN."""
    counts = sorted(times)
    best_mkl = {n: min(times[n][PLAIN], times[n][WXT]) for n in counts}
    saved = [best_mkl[n] - times[n][OPENBLAS] if OPENBLAS in times[n] and times[n][OPENBLAS] < best_mkl[n] * MARGIN
             else None for n in counts]
    run, best, i = [False] * len(counts), 0.0, 0
    while i < len(counts):
        j = i
        while j < len(counts) and saved[j] is not None:
            j += 1
        if j > i and sum(saved[i:j]) > best:
            best, run = sum(saved[i:j]), [i <= k < j for k in range(len(counts))]
        i = j + 1
    openblas = _spans(counts, run)
    wxt = [not r and times[n][WXT] < times[n][PLAIN] * MARGIN for n, r in zip(counts, run)]
    cost = [times[n][OPENBLAS if r else WXT if w else PLAIN] for n, r, w in zip(counts, run, wxt)]
    return {"openblas_rows": openblas[0] if openblas else None, "wxt_rows": _spans(counts, wxt),
            "pad_rows": _padding(counts, cost)}


def _padding(counts: list[int], cost: list[float]) -> list[list[int]]:
    """[[lo, hi, to], ...]: the rows of a measured count's span that run padded with zero rows to
    the larger measured count ``to``, where a pass there costs less than at their own count by
    more than MARGIN (a 2-core AMD EPYC, 2026-12-02: 8 rows 136 ms a pass over musicgen-small's
    decoder in their best way, 16 rows 99: MKL's kernels for 16 columns suit it better)."""
    pads: list[list[int]] = []
    for i, n in enumerate(counts):
        j = min(range(i, len(counts)), key=lambda k: (cost[k], k))
        if j == i or cost[j] >= cost[i] * MARGIN:
            continue
        hi = counts[i + 1] - 1 if i + 1 < len(counts) else n
        if pads and pads[-1][1] == n - 1 and pads[-1][2] == counts[j]:
            pads[-1][1] = hi
        else:
            pads.append([n, hi, counts[j]])
    return pads


def measure_openblas_threads(weights: list, counts: list[int], rows: int = 8, repeats: int = 3) -> dict[int, float]:
    """Seconds of one pass at ``rows`` rows on OpenBLAS at each of its thread counts (the
    router's route is left as it was; the caller sets the threads it chooses)."""
    from oscgen.calibrate import best_seconds

    router = _blas.router
    one_pass, before = passes(weights, rows)[PLAIN], router.rows
    router.route((rows, rows))
    try:
        best = {}
        for n in counts:
            router.set_threads(n)
            best[n] = best_seconds(one_pass, repeats)
        return best
    finally:
        router.route(before)


def measure(weights: list, thread_counts: list[int]) -> dict:
    """The record's plan fields: OpenBLAS's thread count (where the router is loaded), the
    times, and the choice."""
    fields = {}
    if _blas.router is not None:
        pool = measure_openblas_threads(weights, thread_counts)
        best = min(pool.values())
        fields["openblas_threads"] = max(n for n, t in pool.items() if t <= best * 1.02)
        _blas.router.set_threads(fields["openblas_threads"])
    times = measure_plan(weights)
    fields["plan_ms"] = {str(n): {way: round(t * 1e3, 1) for way, t in ways.items()} for n, ways in times.items()}
    fields.update(choose_plan(times))
    return fields


def describe(record: dict) -> str:
    """The plan's part of ``doctor``'s calibration line."""
    if not record.get("plan_ms"):
        return ""
    rows = record.get("openblas_rows")
    wxt = record.get("wxt_rows") or []
    parts = [f"rows {rows[0]}-{rows[1]} on OpenBLAS ({record.get('openblas_threads')} threads)" if rows else "no rows on OpenBLAS",
             ("as (W @ x.T).T: rows " + ", ".join(f"{a}-{b}" for a, b in wxt)) if wxt else "x @ W.T elsewhere"]
    parts += [f"rows {a}-{b} padded to {to}" for a, b, to in record.get("pad_rows") or []]
    table = "; ".join(f"{n} rows " + " / ".join(f"{t:.0f}" for t in ways.values())
                      for n, ways in record["plan_ms"].items())
    ways = " / ".join(next(iter(record["plan_ms"].values())))
    return f"{', '.join(parts)} (ms {ways}: {table})"


def pass_ms(record: dict | None, rows: int) -> float | None:
    """The plan's measured ms of a pass at ``rows`` rows: the fastest way at any measured row
    count from ``rows`` up (a count covers the rows below it; padding reaches the larger ones);
    None without a plan or past it."""
    measured = [min(ways.values()) for n, ways in ((record or {}).get("plan_ms") or {}).items() if int(n) >= rows]
    return min(measured) if measured else None


def pad_rows(record: dict | None) -> tuple[tuple[int, int, int], ...]:
    """layers.PAD_ROWS from a calibration record; none where it has no padding."""
    return tuple((int(a), int(b), int(to)) for a, b, to in (record or {}).get("pad_rows") or [])


def wxt_rows(record: dict | None) -> tuple[tuple[int, int], ...] | None:
    """layers.WXT_ROWS from a calibration record; None where it has no plan."""
    if not record or "wxt_rows" not in record:
        return None
    return tuple((int(a), int(b)) for a, b in record["wxt_rows"])
