"""Text → codes → audio: T5 encoder, ``enc_to_dec_proj``, the MusicGen decoder with the codebook
delay pattern and classifier-free guidance, and the EnCodec decoder.

Generation follows transformers' batched ``MusicgenForConditionalGeneration.generate``, and
every kind of job (one take, variations, a batch of prompts, continuations) goes through one
core, ``generate_takes``, a batch of takes (batch.py) decoded in one pass:

- the texts are encoded once, right-padded and masked; for guidance the batch gets as many
  unconditional rows after the conditional ones, whose encoder states and attention mask are
  zero (transformers concatenates zeros to the T5 output and a zero mask, and its forward
  multiplies the projected states by the mask);
- every codebook starts from the decoder start token; codebook k is delayed by d_k positions
  (k mono, k // 2 stereo: see codebooks.py), so the delay pads are forced to the start/pad
  token and ``frames + max(d)`` decoding steps fill the sequence;
- undoing the delay takes positions d_k+1 .. frames+d_k of codebook k;
- prompt codes (audio prompts) are forced at their delayed positions, as transformers does
  with ``decoder_input_ids``;
- stereo checkpoints interleave left and right codebooks, each channel decoded (and prompts
  encoded) by the same mono EnCodec.

The decode step (decoder + guidance + sampling + delay mask, pipeline_step.py) is one ``mx.compile``d function
with fixed shapes per cache window: the self-attention cache grows a block of positions at a
time (no per-step concatenation), the cross-attention keys/values are computed once, and the
position, the per-take PRNG keys, lengths and knobs are array inputs.

The audio side (EnCodec decode of takes, encode of audio prompts) is pipeline_audio.AudioSide.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from oscgen import _mlx_ext, calibrate
from oscgen.musicgen import batch as batch_lib
from oscgen.musicgen import crossfold
from oscgen.musicgen import decoder as decoder_lib
from oscgen.musicgen import (codebooks, encodec, encodec_encoder, fused_heads, layers, pipeline_step, planning,
                             quantize, weights)
from oscgen.musicgen.cuda.step import FusedStep
from oscgen.musicgen.decode_pass import DecodePass
from oscgen.musicgen import t5 as t5_lib
from oscgen.musicgen.layers import on_gpu
from oscgen.musicgen.batch import Stop, Take
from oscgen.musicgen.convert import CONVERSION_TAG, convert_weights, decoder_start_token_id  # noqa: F401 (re-exported)
from oscgen.musicgen.pipeline_audio import AUDIO_TAKES_PER_PASS, DECODE_SHARE, AudioSide  # noqa: F401 (re-exported)
from oscgen.musicgen.tokenizer import T5Tokenizer

# The self-attention cache grows a window of positions at a time and attention reads all of it
# (later positions masked), so a step compiles once per window, not once per position or job.
# A GPU's fused kernels are built per window: CACHE_BLOCK there.  A CPU streams the padded
# float32 window from memory every step, so it grows by at most CPU_CACHE_BLOCK and reads less
# padding: 2-core AMD EPYC, 2026-12-02, musicgen-small, decoding 4 takes of 2 s 15.0 / 11.8 /
# 11.3 s and one 8.2-9.1 s with blocks of 256 / 128 / 64 (benchmarks/RESULTS.md); each window is
# one more step shape for the warm-up to trace (a 30 s warm-up: 7 / 16 / 22 s), so 128.  Audio
# prompts are prefilled in chunks of CACHE_BLOCK positions on either.
CACHE_BLOCK = 256
CPU_CACHE_BLOCK = 128


def cache_block() -> int:
    """Positions the self-attention cache grows by on the current device."""
    return CACHE_BLOCK if on_gpu() else min(CACHE_BLOCK, CPU_CACHE_BLOCK)


# Sinusoidal position rows precomputed per engine (grown if a job needs more): a fixed-shape
# input, so jobs of different lengths share compiled steps.  30 s is 1503 positions.
POSITIONS = 2048
# Encoder states are zero-padded (and masked) to a multiple of this, so prompts of similar
# length share one compiled step.
TEXT_BLOCK = 16
# Prompt lengths (in tokens, padded to TEXT_BLOCK) the warm-up compiles the step for: most
# prompts a performer types are 5-30 T5 tokens ("upbeat jazz piano solo with brushed drums" is 19).
WARM_TEXT_LENGTHS = (TEXT_BLOCK, 2 * TEXT_BLOCK)
# Fold the cross-attention projections into per-job matrices (crossfold.py): a quarter of the
# bytes a step reads for cross-attention, same result to float rounding.
FOLD_CROSS_ATTENTION = True
# Folding costs ~0.1-0.4 s once per job on a CPU (many small matmuls) and saves ~7 ms per
# musicgen-small step there (~50 ms for medium), so only very short jobs skip it.
FOLD_MIN_STEPS = 64


class MusicGen(AudioSide, nn.Module):
    def __init__(self, config: dict, tokenizer: T5Tokenizer | None = None):
        """``config``: the whole config.json as a dict (random weights until loaded)."""
        super().__init__()
        self._config = config  # underscore: a plain dict attribute would be walked as parameters
        self.tokenizer = tokenizer
        text_cfg = t5_lib.T5Config.from_dict(config["text_encoder"])
        dec_cfg = decoder_lib.DecoderConfig.from_dict(config["decoder"])
        self.text_encoder = t5_lib.T5Encoder(text_cfg)
        # transformers projects the text states only when the widths differ and no
        # cross_attention_hidden_size is set
        if text_cfg.d_model != dec_cfg.hidden_size and config["decoder"].get("cross_attention_hidden_size") is None:
            self.enc_to_dec_proj = nn.Linear(text_cfg.d_model, dec_cfg.hidden_size, bias=True)
        else:
            self.enc_to_dec_proj = None
        self.decoder = decoder_lib.MusicgenDecoder(dec_cfg)
        self.audio_decoder = encodec.EncodecDecoder(config["audio_encoder"])
        self.audio_encoder = encodec_encoder.EncodecEncoder(config["audio_encoder"])
        self.num_codebooks = dec_cfg.num_codebooks
        self.audio_channels = dec_cfg.audio_channels
        self.codebook_delays = codebooks.delays(dec_cfg.num_codebooks, dec_cfg.audio_channels)
        if self.audio_encoder.channels != 1 or self.audio_encoder.num_codebooks * self.audio_channels != self.num_codebooks:
            raise ValueError(f"the decoder predicts {self.num_codebooks} codebooks for {self.audio_channels} channel(s), "
                             f"but its EnCodec codes {self.audio_encoder.channels} channel(s) with "
                             f"{self.audio_encoder.num_codebooks} codebooks")
        self.vocab_size = dec_cfg.vocab_size
        self.start_token_id = decoder_start_token_id(config)
        self.sample_rate = int(self.audio_decoder.sampling_rate)
        self.samples_per_frame = self.audio_decoder.hop_length
        self._compiled_steps: dict[tuple, Callable] = {}
        self._fused: FusedStep | None = None  # the CUDA kernels' step, where it applies (_fit_to_device)
        self._positions: mx.array | None = None
        # decode step seconds by rows, as passes ran (decode_pass.py); underscore: see _config
        self._step_seconds: dict[int, float] = {}
        self.name: str | None = None  # what from_pretrained was asked for
        self.model_dir: Path | None = None
        self.random_weights = False  # True for oscgen's tiny random model: its output is noise

    @property
    def step_seconds(self) -> dict[int, float]:
        """Seconds of a decode step by its rows, as this process's passes measured them."""
        return self._step_seconds

    @property
    def decoder_bytes(self) -> int:
        """Bytes of the decoder's weights (what a decode step streams, embeddings aside)."""
        from mlx.utils import tree_flatten

        return sum(v.nbytes for _, v in tree_flatten(self.decoder.parameters()))

    @property
    def config(self) -> dict:
        """The checkpoint's config.json."""
        return self._config

    # ---------------------------------------------------------------- loading

    @classmethod
    def from_pretrained(cls, model: str, dtype: str = "float32", bits: int | None = None,
                        group_size: int = quantize.GROUP_SIZE) -> "MusicGen":
        """Load ``model`` (alias, hub repo id, local folder or "tiny-random"; see
        oscgen.musicgen.weights.resolve_model_dir) with the decoder in ``dtype`` and, with
        ``bits``, quantized per-step linears (converted while loading: see
        quantize.lowered_for_loading).  The converted weights are cached on disk so a second load
        skips the conversion."""
        model_dir = weights.resolve_model_dir(model)
        config = weights.load_config(model_dir)
        instance = cls(config, tokenizer=T5Tokenizer.from_dir(model_dir))

        def read_params():
            return weights.cached_conversion(
                model_dir, CONVERSION_TAG, lambda: convert_weights(weights.load_weights(model_dir))
            )

        instance.load_converted(quantize.lowered_for_loading(instance, read_params, dtype, bits, group_size))
        if not on_gpu():  # MKL's decode thread count and each row count's GEMM plan, measured once per host
            calibrate.ensure_calibrated()
            layers.WXT_ROWS, layers.PAD_ROWS = calibrate.wxt_rows(), calibrate.pad_rows()
            layers.DECODE_ATTENTION, layers.DECODE_LAYER_NORM = _mlx_ext.decode_attention(), _mlx_ext.layer_norm()
        instance.name = model
        instance.model_dir = Path(model_dir)
        instance.random_weights = weights.is_random_weights(model_dir)
        return instance

    def load_converted(self, params: dict[str, mx.array]) -> None:
        """Load the output of ``convert_weights`` (every parameter must be there) and
        materialise it, so the first generation does not pay for reading the weights."""
        self.load_weights(list(params.items()), strict=True)
        mx.eval(self.parameters())

    # ---------------------------------------------------------------- text

    def encode_text(self, input_ids: mx.array, attention_mask: mx.array | None = None) -> mx.array:
        """input_ids (batch, length) → encoder states (batch, length, decoder hidden), projected
        and multiplied by the mask as transformers' forward does."""
        if attention_mask is None:
            attention_mask = mx.ones(input_ids.shape, dtype=mx.int32)
        states = self.text_encoder(input_ids, attention_mask)
        if self.enc_to_dec_proj is not None:
            states = self.enc_to_dec_proj(states)
        return states * attention_mask[..., None].astype(states.dtype)

    def _conditioning(self, input_ids: mx.array, guided: bool, attention_mask: mx.array | None = None):
        """Encoder states + 1/0 mask for the decoder batch: the prompts' rows, then as many
        unconditional rows when guided, padded with masked zeros to a multiple of TEXT_BLOCK."""
        mask = mx.ones(input_ids.shape, dtype=mx.int32) if attention_mask is None else attention_mask
        states = self.encode_text(input_ids, mask)
        if guided:
            states = mx.concatenate([states, mx.zeros_like(states)], axis=0)
            mask = mx.concatenate([mask, mx.zeros_like(mask)], axis=0)
        pad = -states.shape[1] % TEXT_BLOCK
        if pad:
            states = mx.pad(states, [(0, 0), (0, pad), (0, 0)])
            mask = mx.pad(mask, [(0, 0), (0, pad)])
        return states, mask

    def _batch_conditioning(self, takes: list[Take], guided: bool):
        """_conditioning for a batch of takes: one T5 pass for a shared text (variations),
        broadcast to every take; else the texts right-padded to the longest and masked.
        Returns (states, mask, texts): texts is 1 when shared, else the number of takes."""
        B = len(takes)
        if batch_lib.shared_text(takes):
            states, mask = self._conditioning(mx.array([takes[0].input_ids], dtype=mx.int32), False)
            states, mask = (mx.broadcast_to(x, (B, *x.shape[1:])) for x in (states, mask))
            texts = 1
        else:
            input_ids, attention_mask = batch_lib.padded_text(takes, 1)
            states, mask = self._conditioning(input_ids, False, attention_mask)
            texts = B
        if guided:
            states = mx.concatenate([states, mx.zeros_like(states)], axis=0)
            mask = mx.concatenate([mask, mx.zeros_like(mask)], axis=0)
        return states, mask, texts

    # ---------------------------------------------------------------- decoding

    def _step(self, top_k: int, use_top_p: bool, guided: bool, fused: bool = False, forced: bool = False,
              joined: bool = False) -> Callable:
        """The compiled decode step for one static configuration (pipeline_step.py), cached;
        MLX traces it again for each new input shape: one per cache window, text length and
        batch size.  ``fused``: on the CUDA kernels; ``forced``: with a table of prompt codes;
        ``joined``: with per-row offsets (rows that joined a running pass)."""
        signature = (top_k, use_top_p, guided) + (("cuda",) if fused else ()) + (("forced",) if forced else ()) + (
            ("joined",) if joined else ())
        if signature not in self._compiled_steps:
            self._compiled_steps[signature] = (pipeline_step.fused(self, top_k, guided) if fused else
                                               mx.compile(pipeline_step.portable(self, top_k, use_top_p, guided, joined)))
        return self._compiled_steps[signature]

    def _fit_to_device(self) -> None:
        """On an NVIDIA GPU, the decode step's CUDA kernels where the decoder's layout fits
        (cuda/step.py); on another GPU, self-attention laid out for MLX's fused attention
        kernel, once (fused_heads.pad_heads_for_fused_attention).  Compiled steps are retraced."""
        if self._fused is None and FusedStep.usable(self.decoder):
            self._fused = FusedStep(self.decoder)
            self._compiled_steps.clear()
        elif self._fused is None and on_gpu() and fused_heads.pad_heads_for_fused_attention(self.decoder):
            self._compiled_steps.clear()

    def _uses_fused(self, cross_kv, rows: int, use_top_p: bool, takes: list[Take] | None = None) -> bool:
        """Whether this job's steps run on the CUDA kernels (else the portable step): the
        kernels take one set of knobs and one length for the batch, and force no codes."""
        if takes is not None:
            knobs = {(t.cfg_scale, t.temperature, t.top_p, t.frames) for t in takes}
            if len(knobs) > 1 or any(t.prompt_codes is not None for t in takes):
                return False
        return self._fused is not None and FusedStep.usable(self.decoder) and self._fused.fits(cross_kv, rows, use_top_p)

    def _positions_table(self, length: int) -> mx.array:
        """Sinusoidal rows for at least ``length`` positions in the decoder's dtype (cached)."""
        dtype = self.decoder.dtype
        table = self._positions
        if table is None or table.shape[0] < length or table.dtype != dtype:
            rows = max(POSITIONS, -(-length // CACHE_BLOCK) * CACHE_BLOCK)
            table = decoder_lib.sinusoidal_positions(rows, self.decoder.config.hidden_size).astype(dtype)
            self._positions = table
        return table

    def _cross_attention(self, states: mx.array, mask: mx.array, steps: int, conditional: int = 1, texts: int = 1):
        """Per-job cross-attention inputs of the step: text keys/values per layer (folded into
        the projections when that pays) and the additive text mask, in the decoder's dtype.
        The first ``conditional`` rows are the prompts' (``texts`` different ones: 1 or all)."""
        dtype = self.decoder.dtype  # float16/bfloat16 decoders (quantize.convert_decoder) run in it
        # clipped to the dtype's range: float16 would turn float32's most negative into -inf, and
        # the all-masked unconditional row into NaN
        cross_mask = mx.maximum(decoder_lib.additive_mask(mask), mx.finfo(dtype).min).astype(dtype)
        # (the CUDA step takes only the folded form, and folding costs a GPU next to nothing)
        long_enough = steps >= FOLD_MIN_STEPS or self._fused is not None
        if not (FOLD_CROSS_ATTENTION and long_enough
                and crossfold.worth_folding(self.decoder, states.shape[1], *([texts] if texts > 1 else []))):
            return self.decoder.cross_kv(states.astype(dtype)), cross_mask
        # the fold reads the keys/values of the texts only: the unconditional rows' text states
        # are zeros (see _conditioning) and a shared text is one row, so only those rows are
        # projected (on a CPU these GEMMs are most of the job's set-up before its first step)
        cross_kv = self.decoder.cross_kv(states[:texts].astype(dtype))
        return [crossfold.fold(layer.encoder_attn, k, v, cross_mask, conditional=conditional, texts=texts)
                for layer, (k, v) in zip(self.decoder.layers, cross_kv)], cross_mask

    def generate_codes(
        self,
        input_ids: mx.array,
        frames: int,
        *,
        temperature: float = 1.0,
        top_k: int = 250,
        top_p: float = 0.0,
        cfg_scale: float = 3.0,
        seed: int = 0,
        progress: Callable[[float], None] | None = None,
    ) -> mx.array:
        """input_ids (1, length) → codes (1, num_codebooks, frames) int32, delay undone: one
        take through generate_takes.

        ``progress(fraction)`` gets the decoded share of the job (up to DECODE_SHARE) after
        every step; if it raises, decoding stops there and the exception propagates."""
        if input_ids.ndim != 2 or input_ids.shape[0] != 1:
            raise ValueError("generate_codes takes one prompt at a time (input_ids of shape (1, length))")
        take = Take(tuple(int(i) for i in input_ids[0].tolist()), int(frames), int(seed),
                    temperature=temperature, top_p=top_p, cfg_scale=cfg_scale)
        (codes,) = self.generate_takes([take], top_k=top_k, progress=progress)
        return codes[None]

    def generate_takes(
        self,
        takes: list[Take],
        *,
        top_k: int = 250,
        progress: Callable[[float], None] | None = None,
        stop: Stop | None = None,
    ) -> list[mx.array]:
        """THE generation core: ``takes`` (oscgen.musicgen.batch.Take: text, frames, seed,
        optional prompt codes, temperature / top-p / guidance) decoded in one pass → per take
        its codes (codebooks, frames) int32, delay undone, prompt frames included.  A take
        decoded in a batch makes what it makes alone (to float rounding of the batched GEMMs).

        ``top_k`` is the batch's (it shapes the step).  ``progress(fraction)`` gets the decoded
        share (up to DECODE_SHARE) after every step; if it raises, decoding stops and the
        exception propagates.  ``stop`` (batch.Stop) ends takes early: a stopped take returns
        its complete frames so far, and decoding ends when every take is stopped or done."""
        run = self.decode_pass(takes, top_k)

        def between(run: DecodePass) -> None:
            if progress is not None:
                progress(DECODE_SHARE * (run.t - 1) / run.longest)
            if stop is not None:
                for row in stop.stopped(len(takes)):
                    run.stop(row)  # the queued step's tokens are made too

        run.run(between if progress is not None or stop is not None else None)
        if progress is not None:
            progress(DECODE_SHARE)
        return [run.codes(i) for i in range(len(takes))]

    def decode_pass(self, takes: list[Take], top_k: int = 250) -> DecodePass:
        """A pass of ``takes`` ready to step (decode_pass.py): what generate_takes runs, for
        callers that add takes while it runs or collect each take as it finishes."""
        return DecodePass(self, takes, top_k)

    def _prefill(self, takes: list[Take], count: int, cache, positions_table, cross_kv, cross_mask, guided: bool):
        """Steps 0 .. count-1 of prompted takes, whose tokens are all known (batch.prefill_steps):
        the cache filled in forward passes (decoder.prefill) → (cache, the tokens at position
        count, the tokens of positions 1 .. count as the steps would have made them)."""
        known = mx.array(batch_lib.known_positions(takes, self.codebook_delays, self.start_token_id, count))
        while cache[0].shape[3] <= count:
            cache = self.decoder.grow_cache(cache, cache[0].shape[3] + cache_block())
        rows = known[:, :, :count]
        cache = self.decoder.prefill(mx.concatenate([rows, rows]) if guided else rows, positions_table, cache,
                                     cross_kv, cross_mask, CACHE_BLOCK)
        mx.eval(cache)
        return cache, known[:, :, count], [known[:, :, p] for p in range(1, count + 1)]

    def warm_up(self, max_frames: int, **knobs) -> dict[str, float]:
        """Compile what a job of up to ``max_frames`` frames runs (planning.warm_up)."""
        return planning.warm_up(self, max_frames, **knobs)

    def memory_needed(self, takes: list[Take], takes_per_pass: int | None = None) -> int:
        """Bytes a batch needs beyond the loaded weights at its peak (planning.memory_needed)."""
        return planning.memory_needed(self, takes, takes_per_pass)

    def take(self, prompt: str, frames: int, seed: int = 0, prompt_codes=None, **knobs) -> Take:
        """A batch row for ``prompt`` (tokenized here); ``knobs``: temperature, top_p, cfg_scale."""
        if self.tokenizer is None:
            raise ValueError("this MusicGen has no tokenizer; build batch.Take from token ids")
        return Take(tuple(self.tokenizer.encode(prompt)), int(frames), int(seed), prompt_codes, **knobs)

    def generate(
        self,
        prompt: str,
        frames: int,
        *,
        temperature: float = 1.0,
        top_k: int = 250,
        top_p: float = 0.0,
        cfg_scale: float = 3.0,
        seed: int = 0,
        progress: Callable[[float], None] | None = None,
    ) -> mx.array:
        """Prompt → audio (channels, frames * samples_per_frame) at ``sample_rate``."""
        if self.tokenizer is None:
            raise ValueError("this MusicGen has no tokenizer; call generate_codes with token ids")
        input_ids = mx.array([self.tokenizer.encode(prompt)], dtype=mx.int32)
        codes = self.generate_codes(
            input_ids, frames, temperature=temperature, top_k=top_k, top_p=top_p,
            cfg_scale=cfg_scale, seed=seed, progress=progress,
        )
        audio = self.decode_audio(codes, progress)[0]
        mx.eval(audio)
        if progress is not None:
            progress(1.0)
        return audio
