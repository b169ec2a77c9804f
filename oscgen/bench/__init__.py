"""``oscgen bench``: oscgen against transformers on the same random-weight checkpoint, in one run.

An autoregressive decoder runs the same number of steps whatever its weights are, so speed is
measured on random weights at the real sizes (musicgen-small, musicgen-medium), written once in
the transformers layout into the oscgen cache and loaded by each side through its normal loader.

Each side runs in its own subprocess (so peak RSS is honest and one side's threads, caches and
allocator never slow the other), with the same prompt, token ids, number of decoder steps,
sampling settings and thread count.  A side's numbers:

- ``t5_encode_ms``        text encoder time: the median of the job's encode and ``T5_REPEATS``
                          more of the same prompt after it (``t5_encode_ms_job``: the job's own,
                          ``t5_encodes_ms``: every sample)
- ``step_ms_median/p90``  one decoder step (a CFG batch of 2 rows, 4 codebooks)
- ``encodec_ms``          EnCodec decode of the job's frames to audio
- ``job_s``               the whole measured job, as a caller sees it
- ``job_s_per_10s``       whole job for 10 s of audio (measured when the job is 10 s long)
- ``rtf``                 real-time factor: job seconds / audio seconds (< 1: faster than real time)
- ``peak_rss_mb``         the process's peak resident memory (load + warm-up + job)
- ``peak_device_mb``      the GPU allocator's peak over the job (MLX or torch; GPU only)
- ``weights_mb``          oscgen: MLX memory in use after the load (the weights as kept)
- ``load_peak_mlx_mb``    oscgen: MLX's peak memory over the load, any device
- ``peak_mlx_mb``         oscgen: MLX's peak memory over the job (after warm-up), any device:
                          weights + activations, without the allocator's cache or the
                          process's libraries (which ``peak_rss_mb`` includes)
- ``first_progress_s``    from the call to the first progress report
- ``matmul_gbs``          the side's best 2-row ``x @ W.T`` read bandwidth on the decode-step shapes (oscgen: in the GEMM form its step uses on this host, gemm_plan.py)
                          (GB/s of weights read; ``read_gbs``: at each thread count 1..threads)
- ``floor_ms``            decoder weight bytes the side reads per step / the best read bandwidth
                          of the whole run: the maximum over both sides and every thread count
                          (and, on a GPU, a 2 GiB device-to-device copy, ``copy_gbs``: bytes
                          read + written per second, the HBM ceiling; the decode shapes'
                          matmuls are launch-bound there); ``report["floor"]``
                          says which measurement it was.  One floor for both sides, so a slow
                          BLAS cannot lower its own.
- ``step_over_floor``     ``step_ms_median / floor_ms`` (1.0 = every step is pure weight streaming)

Run: ``oscgen bench --model small`` (see ``oscgen bench --help``).  The subprocess entry point
is ``python -m oscgen.bench worker ...``; nothing here imports mlx or torch at module level.

Modules: ``common`` (metrics, checkpoints, shapes, worker protocol), ``oscgen_side`` and
``transformers_side`` (the two subprocess workers), ``run`` (the parent) and ``report`` (the
table).
"""

from oscgen.bench.common import (DEFAULT_SECONDS, FRAME_RATE, METRIC_KEYS, METRICS,
                                 OPTIONAL_METRICS, PROMPT, REAL_SIZES, SAMPLE_RATE, bench_cache_dir,
                                 checkpoint_dir, decode_step_shapes, decoder_weight_bytes,
                                 ensure_checkpoint, peak_rss_mb, write_random_checkpoint)
from oscgen.bench.report import format_table
from oscgen.bench.run import run_bench

__all__ = ["DEFAULT_SECONDS", "FRAME_RATE", "METRIC_KEYS", "METRICS", "OPTIONAL_METRICS", "PROMPT",
           "REAL_SIZES", "SAMPLE_RATE", "bench_cache_dir", "checkpoint_dir", "decode_step_shapes",
           "decoder_weight_bytes", "ensure_checkpoint", "format_table", "peak_rss_mb", "run_bench",
           "write_random_checkpoint"]
