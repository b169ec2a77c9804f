"""How a decode step's linears run on this CPU, per row count: measured, not assumed.

A linear over ``rows`` rows (2 per guided take) can run three ways under MLX:

- ``x @ W.T`` on MKL (the checkpoint's layout; what every row count did at first);
- ``(W @ x.T).T`` on MKL (layers.matmul_t): the same arithmetic with the weight as the GEMM's
  long side, which MKL splits over its threads better on some hosts;
- either form on OpenBLAS, through the row router (oscgen/_blas_rows.py), where it is installed
  (the same 2-core EPYC, 2026-12-02: 4 rows as (W @ x.T).T 20 ms a 256 MB pass on OpenBLAS, 29
  on MKL, whose x @ W.T took 36);
- ``x @ W.T`` on the router's own small-row kernel (_gemm_rows.c; AVX2 + FMA), which streams the
  weight once for all rows (a 2-core Zen 1 EPYC, 2026-12-02: 2 rows 13 ms a 302 MB pass, MKL's
  best 19).

Which is fastest is a per-host fact (a 2-core AMD EPYC, 2026-12-02: one take 67 / 44 / 93 ms a
pass over musicgen-small's decoder weights, four takes 109 / 75 / 69 ms; an Intel Xeon earlier:
``x @ W.T`` for one take, ``(W @ x.T).T`` from four), so calibrate.py times all four at each of
PLAN_ROWS and ``choose_plan`` turns the times into the settings the engine reads: the row
range the router sends to OpenBLAS, the row ranges that run as ``(W @ x.T).T``, and the row
ranges that run padded with zero rows to a larger measured count that streams faster.  A measured
count's choice covers every row count up to the next measured one; beyond the last, ``x @ W.T``
on MKL (prefill, T5 and EnCodec's large GEMMs, where MKL is at home).
"""

from __future__ import annotations

import contextlib
import itertools

from oscgen import _blas

PLAN_ROWS = (1, 2, 4, 8, 16, 32)  # one unguided take up to 16 guided takes
#: The plan's ways, by name (the record's keys).
PLAIN, WXT, OPENBLAS, OPENBLAS_WXT, OWN = "x@Wt", "(W@xt)t", "openblas", "openblas (W@xt)t", "own kernel"
#: The ways the router takes one range of row counts to (the record's field for each).
RANGED = {OPENBLAS: "openblas_rows", OPENBLAS_WXT: "openblas_wxt_rows", OWN: "own_rows"}
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
    out = {}
    with router.kept() if router is not None else contextlib.nullcontext():
        for n in rows:
            one_pass = passes(weights, n)
            if router is not None:
                router.route(None)
                router.own(None)
            times = {way: best_seconds(run, repeats) for way, run in one_pass.items()}
            if router is not None:
                router.route((n, n))
                times[OPENBLAS] = best_seconds(one_pass[PLAIN], repeats)
                router.route(None, (n, n))
                times[OPENBLAS_WXT] = best_seconds(one_pass[WXT], repeats)
                router.route(None)
                if router.own_supported():
                    router.own((n, n))
                    times[OWN] = best_seconds(one_pass[PLAIN], repeats)
                    router.own(None)
            out[n] = times
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
    """{"openblas_rows": [lo, hi] or None, "openblas_wxt_rows": [lo, hi] or None, "own_rows":
    [lo, hi] or None, "wxt_rows": [[lo, hi], ...], "pad_rows": [[lo, hi, to], ...]}.  The router
    takes one range of counts to each of its ways (RANGED): each way's the run of consecutive
    measured counts where it beats both MKL forms that saves the most, the ways chosen one after
    another among the counts left, in whichever order costs less in all; elsewhere (W @ x.T).T
    on MKL where it beats x @ W.T.  Each by more than MARGIN."""
    counts = sorted(times)
    plans = [_plan(times, counts, order) for order in itertools.permutations(RANGED)]
    ways = min(plans, key=lambda ways: sum(times[n][w] for n, w in zip(counts, ways)))
    spans = {way: _spans(counts, [w == way for w in ways]) for way in RANGED}
    return {**{field: (spans[way][0] if spans[way] else None) for way, field in RANGED.items()},
            "wxt_rows": _spans(counts, [w in (WXT, OPENBLAS_WXT) for w in ways]),
            "pad_rows": _padding(counts, [times[n][w] for n, w in zip(counts, ways)])}


def _plan(times: dict[int, dict[str, float]], counts: list[int], order: tuple[str, ...]) -> list[str]:
    """Each count's way when the router's ways take their runs in ``order``."""
    best_mkl = {n: min(times[n][PLAIN], times[n][WXT]) for n in counts}
    ways: list[str | None] = [None] * len(counts)
    for way in order:
        run = _best_run(counts, [None if ways[i] else _saved(times[n], way, best_mkl[n]) for i, n in enumerate(counts)])
        ways = [way if r else w for r, w in zip(run, ways)]
    return [w or (WXT if times[n][WXT] < times[n][PLAIN] * MARGIN else PLAIN) for n, w in zip(counts, ways)]


def _saved(times: dict[str, float], way: str, best: float) -> float | None:
    """What ``way`` saves against ``best`` where it was measured and wins by MARGIN, else None."""
    return best - times[way] if way in times and times[way] < best * MARGIN else None


def _best_run(counts: list[int], saved: list[float | None]) -> list[bool]:
    """Which counts form the run of consecutive wins (saved not None) that saves the most."""
    run, best, i = [False] * len(counts), 0.0, 0
    while i < len(counts):
        j = i
        while j < len(counts) and saved[j] is not None:
            j += 1
        if j > i and sum(saved[i:j]) > best:
            best, run = sum(saved[i:j]), [i <= k < j for k in range(len(counts))]
        i = j + 1
    return run


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


def measure_pool_threads(weights: list, counts: list[int], way: str = OPENBLAS, rows: int = 8,
                         repeats: int = 3) -> dict[int, float]:
    """Seconds of one pass at ``rows`` rows on the router's OpenBLAS or own kernel (``way``) at
    each of its thread counts (the router's route is left as it was; the caller sets the
    threads it chooses)."""
    from oscgen.calibrate import best_seconds

    router = _blas.router
    one_pass = passes(weights, rows)[PLAIN]
    with router.kept():
        if way == OWN:
            router.route(None)
        else:
            router.route((rows, rows))
            router.own(None)
        best = {}
        for n in counts:
            if way == OWN:
                router.own((rows, rows), threads=n)
            else:
                router.set_threads(n)
            best[n] = best_seconds(one_pass, repeats)
        return best


def most_threads_near_best(seconds: dict[int, float]) -> int:
    """The most threads within 2 % of the fastest count (host noise); calibrate.choose decides a
    timed step by it too."""
    best = min(seconds.values())
    return max(n for n, t in seconds.items() if t <= best * 1.02)


def measure(weights: list, thread_counts: list[int]) -> dict:
    """The record's plan fields: OpenBLAS's and the own kernel's thread counts (where the router
    is loaded; the own kernel's at one take's 2 rows, the rows it is for), the times, and the
    choice.  MKL runs at the count it has now."""
    fields = {}
    router = _blas.router
    if router is not None:
        fields["openblas_threads"] = most_threads_near_best(measure_pool_threads(weights, thread_counts))
        router.set_threads(fields["openblas_threads"])
        if router.own_supported():
            fields["own_threads"] = most_threads_near_best(measure_pool_threads(weights, thread_counts, OWN, rows=2))
            router.own(router.own_rows, threads=fields["own_threads"])
    # chosen from the rounded times the record keeps, so that the record explains its choice
    # (unrounded, a tie within MARGIN could fall the other way)
    ms = {n: {way: round(t * 1e3, 1) for way, t in ways.items()} for n, ways in measure_plan(weights).items()}
    fields["plan_ms"] = {str(n): ways for n, ways in ms.items()}
    fields.update(choose_plan(ms))
    return fields


def describe(record: dict) -> str:
    """The plan's part of ``doctor``'s calibration line."""
    if not record.get("plan_ms"):
        return ""
    rows, on_wxt, own = record.get("openblas_rows"), record.get("openblas_wxt_rows"), record.get("own_rows")
    wxt = record.get("wxt_rows") or []
    pool = f" ({record['own_threads']} threads)" if record.get("own_threads") else ""
    parts = ([f"rows {own[0]}-{own[1]} on oscgen's kernel{pool}"] if own else []) + [
             f"rows {rows[0]}-{rows[1]} on OpenBLAS ({record.get('openblas_threads')} threads)" if rows else "no rows on OpenBLAS",
             ("as (W @ x.T).T: rows " + ", ".join(f"{a}-{b}" for a, b in wxt)) if wxt else "x @ W.T elsewhere"]
    if on_wxt:
        parts.insert(len(parts) - 1, f"rows {on_wxt[0]}-{on_wxt[1]} on OpenBLAS as (W @ x.T).T")
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
