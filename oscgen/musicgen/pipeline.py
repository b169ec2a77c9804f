"""Text → codes → audio: T5 encoder, ``enc_to_dec_proj``, the MusicGen decoder with the codebook
delay pattern and classifier-free guidance, and the EnCodec decoder.

Generation follows transformers' ``MusicgenForConditionalGeneration.generate``:

- the text is encoded once; for guidance the batch gets a second, unconditional row whose
  encoder states and attention mask are zero (transformers concatenates zeros to the T5 output
  and a zero mask, and its forward multiplies the projected states by the mask);
- every codebook starts from the decoder start token; codebook k is delayed by d_k positions
  (k mono, k // 2 stereo: see codebooks.py), so the delay pads are forced to the start/pad
  token and ``frames + max(d)`` decoding steps fill the sequence;
- undoing the delay takes positions d_k+1 .. frames+d_k of codebook k;
- stereo checkpoints interleave left and right codebooks, each channel decoded (and prompts
  encoded) by the same mono EnCodec.

The decode step (decoder + guidance + sampling + delay mask) is one ``mx.compile``d function
with fixed shapes per cache window: the self-attention cache grows a block of positions at a
time (no per-step concatenation), the cross-attention keys/values are computed once, and the
position, PRNG key and the knobs are array inputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from oscgen import _blas
from oscgen.musicgen import crossfold
from oscgen.musicgen import decoder as decoder_lib
from oscgen.musicgen import codebooks, encodec, encodec_encoder, quantize, weights
from oscgen.musicgen.cuda.step import FusedStep
from oscgen.musicgen import t5 as t5_lib
from oscgen.musicgen.layers import on_gpu
from oscgen.musicgen.sampling import classifier_free_guidance, sample
from oscgen.musicgen.tokenizer import T5Tokenizer

# The self-attention cache grows by this many positions at a time and attention reads all of it
# (later positions masked), so a step compiles once per window, not once per position or job.
CACHE_BLOCK = 256
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
# Bump when convert_weights changes, so cached conversions are redone.
CONVERSION_TAG = "oscgen-musicgen-v3"  # v2: fused self-attention q/k/v and codebook heads; v3: EnCodec encoder
# Share of the progress bar given to decoding; EnCodec takes the rest.
DECODE_SHARE = 0.95


class MusicGen(nn.Module):
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
        self.name: str | None = None  # what from_pretrained was asked for
        self.model_dir: Path | None = None
        self.random_weights = False  # True for oscgen's tiny random model: its output is noise

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

    def _conditioning(self, input_ids: mx.array, guided: bool):
        """Encoder states + 1/0 mask for the decoder batch: [conditional, unconditional] rows
        when guided, padded with masked zeros to a multiple of TEXT_BLOCK."""
        mask = mx.ones(input_ids.shape, dtype=mx.int32)
        states = self.encode_text(input_ids, mask)
        if guided:
            states = mx.concatenate([states, mx.zeros_like(states)], axis=0)
            mask = mx.concatenate([mask, mx.zeros_like(mask)], axis=0)
        pad = -states.shape[1] % TEXT_BLOCK
        if pad:
            states = mx.pad(states, [(0, 0), (0, pad), (0, 0)])
            mask = mx.pad(mask, [(0, 0), (0, pad)])
        return states, mask

    # ---------------------------------------------------------------- decoding

    def _step(self, top_k: int, use_top_p: bool, guided: bool, fused: bool = False) -> Callable:
        """The compiled decode step for one static configuration (cached; MLX traces it again
        for each new input shape: one per cache window and text length).  ``fused``: the CUDA
        kernels' step (cuda/step.py), same inputs and outputs."""
        signature = (top_k, use_top_p, guided) + (("cuda",) if fused else ())
        if signature in self._compiled_steps:
            return self._compiled_steps[signature]
        delays = mx.array(self.codebook_delays)
        start_token = self.start_token_id
        if fused:
            def tokens_only(tokens, position, key, knobs, frames, positions_table, cache, cross_kv):
                return self._fused.step(tokens, position, key, knobs, frames, positions_table, cache, cross_kv,
                                        top_k=top_k, guided=guided, start_token=start_token, delays=delays)[0]

            compiled_fused = mx.compile(tokens_only)

            def fused_step(tokens, position, key, knobs, frames, positions_table, cache, cross_kv, cross_mask):
                # the kernels wrote this position's keys/values into the cache arrays in place
                return compiled_fused(tokens, position, key, knobs, frames, positions_table, cache, cross_kv), cache

            self._compiled_steps[signature] = fused_step
            return fused_step

        def step(tokens, position, key, knobs, frames, positions_table, cache, cross_kv, cross_mask):
            cfg_scale, temperature, top_p = knobs[0], knobs[1], knobs[2]
            rows = mx.concatenate([tokens, tokens], axis=0) if guided else tokens
            logits, cache = self.decoder.step(rows, position, positions_table, cache, cross_kv, cross_mask)
            logits = logits.astype(mx.float32)  # guidance and sampling in float32 whatever the weights
            if guided:
                logits = classifier_free_guidance(logits, cfg_scale)
            next_tokens = sample(logits, key, temperature, top_k, top_p, use_top_p)
            # delay pattern: codebook k holds codes at positions d_k+1 .. frames+d_k, pads elsewhere
            next_position = position + 1
            inside = (next_position > delays) & (next_position <= frames + delays)
            return mx.where(inside, next_tokens, start_token), cache

        compiled = mx.compile(step)
        self._compiled_steps[signature] = compiled
        return compiled

    def _fit_to_device(self) -> None:
        """On an NVIDIA GPU, the decode step's CUDA kernels where the decoder's layout fits
        (cuda/step.py); on another GPU, self-attention laid out for MLX's fused attention
        kernel, once (decoder.pad_heads_for_fused_attention).  Compiled steps are retraced."""
        if self._fused is None and FusedStep.usable(self.decoder):
            self._fused = FusedStep(self.decoder)
            self._compiled_steps.clear()
        elif self._fused is None and on_gpu() and decoder_lib.pad_heads_for_fused_attention(self.decoder):
            self._compiled_steps.clear()

    def _uses_fused(self, cross_kv, rows: int, use_top_p: bool) -> bool:
        """Whether this job's steps run on the CUDA kernels (else the portable step)."""
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

    def _cross_attention(self, states: mx.array, mask: mx.array, steps: int):
        """Per-job cross-attention inputs of the step: text keys/values per layer (folded into
        the projections when that pays) and the additive text mask, in the decoder's dtype."""
        dtype = self.decoder.dtype  # float16/bfloat16 decoders (quantize.convert_decoder) run in it
        cross_kv = self.decoder.cross_kv(states.astype(dtype))
        # clipped to the dtype's range: float16 would turn float32's most negative into -inf, and
        # the all-masked unconditional row into NaN
        cross_mask = mx.maximum(decoder_lib.additive_mask(mask), mx.finfo(dtype).min).astype(dtype)
        # (the CUDA step takes only the folded form, and folding costs a GPU next to nothing)
        long_enough = steps >= FOLD_MIN_STEPS or self._fused is not None
        if FOLD_CROSS_ATTENTION and long_enough and crossfold.worth_folding(self.decoder, states.shape[1]):
            # row 0 is the prompt; the unconditional row's text states are zeros (see _conditioning)
            cross_kv = [crossfold.fold(layer.encoder_attn, k, v, cross_mask)
                        for layer, (k, v) in zip(self.decoder.layers, cross_kv)]
        return cross_kv, cross_mask

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
        """input_ids (1, length) → codes (1, num_codebooks, frames) int32, delay undone.

        ``progress(fraction)`` gets the decoded share of the job (up to DECODE_SHARE) after
        every step; if it raises, decoding stops there and the exception propagates."""
        if input_ids.shape[0] != 1:
            raise ValueError("generate_codes takes one prompt at a time (input_ids of shape (1, length))")
        self._fit_to_device()
        guided = cfg_scale > 1.0  # as transformers: guidance (and its second row) only above 1
        states, mask = self._conditioning(input_ids, guided)
        K = self.num_codebooks
        steps = codebooks.steps_for(frames, self.codebook_delays)
        cross_kv, cross_mask = self._cross_attention(states, mask, steps)
        cache = self.decoder.new_cache(states.shape[0], CACHE_BLOCK)
        positions_table = self._positions_table(steps)
        keys = mx.random.split(mx.random.key(seed), steps)
        knobs = mx.array([cfg_scale, temperature, top_p], dtype=mx.float32)
        frames_arr = mx.array(frames, dtype=mx.int32)
        use_top_p = 0.0 < top_p < 1.0
        fused = self._uses_fused(cross_kv, states.shape[0], use_top_p)
        step = self._step(top_k, use_top_p, guided, fused)
        mx.eval(cross_kv, cross_mask, cache, positions_table, keys)

        tokens = mx.full((1, K), self.start_token_id, dtype=mx.int32)
        generated = []
        for t in range(steps):
            if t == cache[0].shape[3]:  # a block more of cache, once every CACHE_BLOCK steps
                cache = self.decoder.grow_cache(cache, t + CACHE_BLOCK)
            tokens, cache = step(
                tokens, mx.array(t, dtype=mx.int32), keys[t], knobs, frames_arr,
                positions_table, cache, cross_kv, cross_mask,
            )
            mx.async_eval(tokens, cache)
            generated.append(tokens)
            if progress is not None and t > 0:
                # wait for the previous step only: the device already has this one queued
                mx.eval(generated[-2])
                progress(DECODE_SHARE * t / steps)
        mx.eval(generated[-1])
        if fused:
            self._fused.check()
        if progress is not None:
            progress(DECODE_SHARE)

        # generated[t] holds position t+1
        return codebooks.undelay(mx.stack(generated, axis=-1), self.codebook_delays, frames)

    def warm_up(
        self, max_frames: int, *, top_k: int = 250, top_p: float = 0.0, cfg_scale: float = 3.0, audio_frames: int = 50
    ) -> dict[str, float]:
        """Trace, compile and run once what a job of up to ``max_frames`` frames with these knobs
        and a prompt of up to max(WARM_TEXT_LENGTHS) tokens runs: T5, the cross-attention fold,
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

        self._fit_to_device()
        guided = cfg_scale > 1.0
        K = self.num_codebooks
        steps = codebooks.steps_for(max_frames, self.codebook_delays)
        use_top_p = 0.0 < top_p < 1.0
        positions_table = self._positions_table(steps)
        knobs = mx.array([cfg_scale, 1.0, top_p], dtype=mx.float32)
        tokens = mx.full((1, K), self.start_token_id, dtype=mx.int32)
        for text in WARM_TEXT_LENGTHS:
            input_ids = mx.zeros((1, text), dtype=mx.int32)  # any prompt of this block: shapes are what count
            states, mask = self._conditioning(input_ids, guided)
            cross_kv, cross_mask = self._cross_attention(states, mask, max(steps, FOLD_MIN_STEPS))
            mx.eval(cross_kv, cross_mask)
            step = self._step(top_k, use_top_p, guided, self._uses_fused(cross_kv, states.shape[0], use_top_p))
            lap(f"text {text}")
            for window in range(CACHE_BLOCK, steps + CACHE_BLOCK, CACHE_BLOCK):
                cache = self.decoder.new_cache(states.shape[0], window)
                out = step(tokens, mx.array(window - 1, dtype=mx.int32), mx.random.key(0), knobs,
                           mx.array(max_frames, dtype=mx.int32), positions_table, cache, cross_kv, cross_mask)
                mx.eval(out)
                lap(f"step {window}/{text}")
        if not on_gpu():  # a CPU has nothing to plan per length (EnCodec's convs are matmuls there)
            audio_frames = min(audio_frames, 50)
        mx.eval(self.decode_audio(mx.zeros((1, K, audio_frames), dtype=mx.int32)))
        lap("audio")
        return seconds

    def decode_audio(self, codes: mx.array, progress: Callable[[float], None] | None = None) -> mx.array:
        """codes (batch, codebooks, frames) → audio (batch, channels, frames * samples_per_frame),
        evaluated: nothing else runs meanwhile, so a CPU's BLAS gets every core for it.  Stereo:
        both channels in one EnCodec batch.  ``progress`` gets the job's fraction from
        DECODE_SHARE towards 1 as EnCodec's stages finish (the bar moves instead of waiting)."""
        stage = None if progress is None else (lambda f: progress(DECODE_SHARE + (1.0 - DECODE_SHARE) * f))
        with _blas.all_cores():
            audio = self.audio_decoder.decode(codebooks.split_channels(mx.array(codes), self.audio_channels), stage)
            audio = audio.reshape(-1, self.audio_channels, audio.shape[-1])
            mx.eval(audio)
        return audio

    def encode_audio(self, audio) -> mx.array:
        """audio (batch, channels, samples) at ``sample_rate`` → codes (batch, num_codebooks,
        ceil(samples / samples_per_frame)) int32, laid out as the decoder predicts them (stereo:
        each channel through the mono EnCodec, interleaved)."""
        audio = mx.array(audio, dtype=mx.float32)
        if audio.ndim != 3 or audio.shape[1] != self.audio_channels:
            raise ValueError(f"audio must be (batch, {self.audio_channels}, samples) for this "
                             f"{'stereo' if self.audio_channels == 2 else 'mono'} model, got shape {tuple(audio.shape)}")
        with _blas.all_cores():
            mono = audio.reshape(-1, 1, audio.shape[-1])  # (batch·channels, 1, samples), left before right
            codes = self.audio_encoder.encode(mono, self.audio_decoder.quantizer)
            codes = codebooks.join_channels(codes, self.audio_channels)
            mx.eval(codes)
        return codes

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


def decoder_start_token_id(config: dict) -> int:
    """transformers' _get_decoder_start_token_id: the config's decoder_start_token_id, else the
    decoder's bos_token_id (both 2048 == vocab_size in the released checkpoints)."""
    value = config.get("decoder_start_token_id")
    if value is None:
        value = config["decoder"].get("bos_token_id", config["decoder"].get("vocab_size", 2048))
    return int(value)


def convert_weights(hf_weights: dict[str, mx.array]) -> dict[str, mx.array]:
    """Flat transformers MusicgenForConditionalGeneration weights → this module's parameters."""
    groups: dict[str, dict[str, mx.array]] = {"text_encoder": {}, "decoder": {}, "audio_encoder": {}, "enc_to_dec_proj": {}}
    for key, value in hf_weights.items():
        prefix, _, rest = key.partition(".")
        if prefix in groups:
            groups[prefix][rest] = value
    params = {}
    params.update({f"text_encoder.{k}": v for k, v in t5_lib.sanitize(groups["text_encoder"]).items()})
    params.update({f"enc_to_dec_proj.{k}": v for k, v in groups["enc_to_dec_proj"].items()})
    params.update({f"decoder.{k}": v for k, v in decoder_lib.sanitize(groups["decoder"]).items()})
    params.update({f"audio_decoder.{k}": v for k, v in encodec.sanitize(groups["audio_encoder"]).items()})
    params.update({f"audio_encoder.{k}": v for k, v in encodec.sanitize(groups["audio_encoder"], "encoder").items()})
    return params
