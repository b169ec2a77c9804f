"""What a job will run and need, known before it starts: the warm-up that compiles its steps,
and the memory a batch of takes will take (so a batch that cannot fit is refused up front)."""

from __future__ import annotations

import time

import mlx.core as mx

from oscgen.musicgen import batch as batch_lib
from oscgen.musicgen import codebooks
from oscgen.musicgen import pipeline  # the engine's constants, read at call time (tests patch them)
from oscgen.musicgen.batch import Take
from oscgen.musicgen.layers import on_gpu

# EnCodec's peak activations per output sample and SEANet filter, in bytes: measured with MLX's
# peak memory on musicgen-small's EnCodec (~2.3 KB a sample with its 64 filters; benchmarks/RESULTS.md).
AUDIO_BYTES_PER_SAMPLE = 40
# Temporaries the estimate does not itemise (T5, the step's activations): a share and a floor.
MEMORY_MARGIN = (0.1, 32 * 2**20)


def warm_up(
    model, max_frames: int, *, top_k: int = 250, top_p: float = 0.0, cfg_scale: float = 3.0, audio_frames: int = 50,
    takes: int = 1,
) -> dict[str, float]:
    """Trace, compile and run once what a job of ``takes`` variations of up to ``max_frames`` frames with these knobs
    and a prompt of up to max(pipeline.WARM_TEXT_LENGTHS) tokens runs: T5, the cross-attention fold,
    the decode step for every cache window the job can reach, and EnCodec on
    ``audio_frames`` frames (a GPU plans its convolutions per length; a CPU runs 50 at most).
    Returns the seconds each part took ("text <tokens>",
    "step <window>/<tokens>", "audio").

    A daemon calls this after loading so that a performer's first take is as fast as the
    next: a fresh NVIDIA GPU spends seconds compiling MLX's kernels on first use (cached on
    disk afterwards), a CPU ~0.3-1 s tracing the step for each new window."""
    seconds = {}
    clock = time.perf_counter()

    def lap(part: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[part] = now - clock
        clock = now

    model._fit_to_device()
    guided = cfg_scale > 1.0
    steps = codebooks.steps_for(max_frames, model.codebook_delays)
    use_top_p = 0.0 < top_p < 1.0
    positions_table = model._positions_table(steps)
    knobs = mx.broadcast_to(mx.array([cfg_scale, 1.0, top_p], dtype=mx.float32), (takes, 3))
    tokens = mx.full((takes, model.num_codebooks), model.start_token_id, dtype=mx.int32)
    keys = mx.zeros((takes, 2), dtype=mx.uint32)
    frames = mx.full((takes,), max_frames, dtype=mx.int32)
    for text in pipeline.WARM_TEXT_LENGTHS:
        # variations of any prompt of this block: shapes are what count
        states, mask, texts = model._batch_conditioning([Take((0,) * text, max_frames)] * takes, guided)
        cross_kv, cross_mask = model._cross_attention(states, mask, max(steps, pipeline.FOLD_MIN_STEPS), takes, texts)
        mx.eval(cross_kv, cross_mask)
        step = model._step(top_k, use_top_p, guided, model._uses_fused(cross_kv, states.shape[0], use_top_p))
        lap(f"text {text}")
        block = pipeline.cache_block()
        for window in range(block, steps + block, block):
            cache = model.decoder.new_cache(states.shape[0], window)
            out = step(tokens, mx.array(window - 1, dtype=mx.int32), keys, knobs, frames,
                       positions_table, cache, cross_kv, cross_mask)
            mx.eval(out)
            lap(f"step {window}/{text}")
    if not on_gpu():  # a CPU has nothing to plan per length (EnCodec's convs are matmuls there)
        audio_frames = min(audio_frames, 50)
    audio_rows = min(takes, pipeline.AUDIO_TAKES_PER_PASS) if on_gpu() else 1  # decode_takes' passes
    mx.eval(model.decode_audio(mx.zeros((audio_rows, model.num_codebooks, audio_frames), dtype=mx.int32)))
    lap("audio")
    return seconds


def memory_needed(model, takes: list[Take], takes_per_pass: int | None = None) -> int:
    """Bytes a batch needs beyond the loaded weights, at its peak: while decoding, the
    self-attention cache (while it grows a window, the old and the new one are alive), the
    text's keys/values and folded cross-attention matrices, the step's logits (or a prefill
    chunk's attention scores, for audio prompts); then EnCodec's
    activations for a pass of ``takes_per_pass`` takes (decode_takes); plus MEMORY_MARGIN for
    temporaries.  Checked against MLX's measured peak (tests/test_batch.py, `oscgen bench
    --batch`'s est MB column)."""
    rows = len(takes) * (2 if any(t.cfg_scale > 1.0 for t in takes) else 1)
    steps = max(codebooks.steps_for(t.frames, model.codebook_delays) for t in takes)
    block = pipeline.cache_block()
    window = -(-steps // block) * block
    text = -(-max(len(t.input_ids) for t in takes) // pipeline.TEXT_BLOCK) * pipeline.TEXT_BLOCK
    config = model.decoder.config
    head_dim = model.decoder.padded_head_dim or config.head_dim
    itemsize = model.decoder.dtype.size
    per_position = config.num_hidden_layers * 2 * rows * config.num_attention_heads * head_dim * itemsize
    cache = per_position * (2 * window - block)
    # keys/values of every row, and the folded pairs (heads x text rows of hidden size) of every take
    cross = config.num_hidden_layers * 2 * (rows + len(takes) * config.num_attention_heads) * text * config.hidden_size * itemsize
    logits = 4 * rows * model.num_codebooks * model.vocab_size * 4  # logits, guidance, noise, scores: float32
    if batch_lib.prefill_steps(takes):  # a chunk of prompt positions in one pass: its attention scores
        chunk = min(pipeline.CACHE_BLOCK, batch_lib.prefill_steps(takes))
        logits = max(logits, rows * chunk * (config.num_attention_heads * window * 4 + config.ffn_dim * itemsize))
    per_pass = min(len(takes), takes_per_pass or (pipeline.AUDIO_TAKES_PER_PASS if on_gpu() else 1))
    samples = max(t.frames for t in takes) * model.samples_per_frame * model.audio_channels
    audio = per_pass * samples * AUDIO_BYTES_PER_SAMPLE * model.audio_decoder.config["num_filters"]
    return int(max(cache + cross + logits, audio) * (1 + MEMORY_MARGIN[0]) + MEMORY_MARGIN[1])
