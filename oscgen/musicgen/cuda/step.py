"""The decode step as ~26 launches on an NVIDIA GPU: embed, one kernel per decoder layer, head.

MLX spends ~11 µs of host time per primitive on a CUDA step (encoding its graph), and the plain
musicgen-small step has ~458 of them: host-bound at ~5-8 ms while the GPU needs ~1 ms.  Here
every layer is one launch (kernels.py), so the step costs the host ~30 primitives.

Used by the pipeline when ``FusedStep.usable`` says the decoder's layout fits and the job's
cross-attention is folded (crossfold.py); everything else runs the portable step.
"""

from __future__ import annotations

import os

import mlx.core as mx
import mlx.nn as nn

from oscgen.musicgen.cuda import kernels
from oscgen.musicgen.sampling import gumbel_noise

#: Off switch: OSCGEN_CUDA_STEP=0 in the environment, or set it (benchmarks compare both paths).
ENABLED = os.environ.get("OSCGEN_CUDA_STEP", "1") != "0"
# The layer kernel stages B rows of its widest input in shared memory (T): keep well under the
# 227 KB a Hopper block can have.
MAX_SHARED_BYTES = 200_000


def cuda_backend() -> bool:
    """Whether MLX runs on its CUDA backend now (an Apple GPU is a GPU too, with Metal)."""
    return mx.default_device().type == mx.gpu and mx.cuda.is_available()


def score_rows(folded, hidden: int) -> mx.array | None:
    """A folded cross-attention's score matrix as (heads·text, hidden) rows, the layout the
    layer kernel reads; None where the job's fold is not one text shared by the conditional rows
    (a text per take gives the matrices a leading axis) or the cross-attention is not folded."""
    if not isinstance(folded, dict):
        return None
    rows = folded["a"]
    return rows if rows.ndim == 2 and rows.shape[1] == hidden else None


class FusedStep:
    """Kernel launches for one decoder's step.  Reads the decoder's parameters when called, so
    a later dtype conversion is picked up (the pipeline retraces its compiled steps then)."""

    def __init__(self, decoder):
        self.decoder = decoder
        self.blocks = kernels.multiprocessors()
        # grid-barrier words (arrivals, generation, timeout flag, spare), shared by every launch,
        # then the warp attention's per-(row, head) split counters (each left at zero)
        self.bar = mx.zeros((4 + kernels.PAIR_COUNTERS,), dtype=mx.uint32)
        mx.eval(self.bar)

    @staticmethod
    def usable(decoder) -> bool:
        """The layout the kernels take: plain bias-free linears (no quantization, no padded
        heads), heads of 64, exact GELU, float32/float16/bfloat16."""
        config = decoder.config
        if not (ENABLED and cuda_backend()) or decoder.padded_head_dim:
            return False
        if config.head_dim != 64 or config.activation_function != "gelu" or config.hidden_size % 256:
            return False
        if decoder.dtype not in (mx.float32, mx.float16, mx.bfloat16):
            return False
        linears = [decoder.lm_head]
        for layer in decoder.layers:
            linears += [layer.self_attn.qkv_proj, layer.self_attn.out_proj, layer.fc1, layer.fc2]
        return all(type(m) is nn.Linear and "bias" not in m for m in linears)

    def fits(self, cross_kv, rows: int, use_top_p: bool) -> bool:
        """Whether a job can run here: folded cross-attention, no top-p (the head kernel draws
        from top-k only), its rows' activations within shared memory."""
        config = self.decoder.config
        if use_top_p or not cross_kv or any(score_rows(kv, config.hidden_size) is None for kv in cross_kv):
            return False
        widest = max(config.hidden_size, config.ffn_dim, score_rows(cross_kv[0], config.hidden_size).shape[0])
        dtype = self.decoder.dtype
        staged = kernels.staged_bytes(rows, widest, dtype.size)
        return staged + (kernels.mma_scratch_bytes(rows) if kernels.tensor_cores(rows, dtype) else 0) <= MAX_SHARED_BYTES

    def _layer_weights(self, layer) -> dict:
        return {"ln1_w": layer.self_attn_layer_norm.weight, "ln1_b": layer.self_attn_layer_norm.bias,
                "w_qkv": layer.self_attn.qkv_proj.weight, "w_o": layer.self_attn.out_proj.weight,
                "ln2_w": layer.encoder_attn_layer_norm.weight, "ln2_b": layer.encoder_attn_layer_norm.bias,
                "ln3_w": layer.final_layer_norm.weight, "ln3_b": layer.final_layer_norm.bias,
                "w_fc1": layer.fc1.weight, "w_fc2": layer.fc2.weight}

    def hidden(self, tokens, position, positions_table, cache, cross_kv, guided: bool) -> mx.array:
        """(prompts, codebooks) tokens at ``position`` → the last layer's (rows, hidden) states;
        each layer writes this position's keys/values into its ``cache`` array in place."""
        decoder = self.decoder
        rows = tokens.shape[0] * (2 if guided else 1)
        x = kernels.embed(tokens, position, positions_table, [e.weight for e in decoder.embed_tokens], rows)
        heads = decoder.config.num_attention_heads
        # what each launch reads first, prefetched by the launch before it: the next layer's q/k/v
        # and, after the last layer, the codebook heads
        following = [layer.self_attn.qkv_proj.weight for layer in decoder.layers[1:]] + [decoder.lm_head.weight]
        for layer, layer_cache, folded, next_weight in zip(decoder.layers, cache, cross_kv, following):
            cross = {"a": score_rows(folded, decoder.config.hidden_size), "bt": folded["bt"], "mask": folded["mask"],
                     "cond": folded["conditional"]}
            x, _ = kernels.layer(x, position, self._layer_weights(layer), layer_cache, cross, self.bar, heads,
                                 self.blocks, next_weight)
        return x

    def step(self, tokens, position, key, knobs, frames, positions_table, cache, cross_kv, *, top_k: int, guided: bool,
             start_token: int, delays: mx.array) -> tuple[mx.array, mx.array]:
        """The whole step: next tokens (prompts, codebooks) int32 (delay pattern applied: codebook
        k lags by ``delays[k]``) and the guided logits (prompts, codebooks·vocab) float32 they
        were drawn from.  ``knobs`` (3,) or (prompts, 3) and ``frames`` () or (prompts,): for the
        job or per take; ``key``: one PRNG key, or one per take where the sampler takes those."""
        decoder = self.decoder
        x = self.hidden(tokens, position, positions_table, cache, cross_kv, guided)
        config = decoder.config
        prompts, codebooks = tokens.shape
        vocab = config.vocab_size
        top_k = top_k if 0 < top_k < vocab else 0
        # the same noise as the portable sampler (sampling.sample), from the same key(s)
        noise = (mx.zeros((1,), dtype=mx.float32) if top_k == 1
                 else gumbel_noise((prompts, codebooks, vocab), key))
        weights = {"lnf_w": decoder.layer_norm.weight, "lnf_b": decoder.layer_norm.bias, "w_head": decoder.lm_head.weight}
        # top_k as data, not a template constant: a performer's top-k knob must not recompile
        return kernels.head(x, weights, noise, knobs, mx.array([top_k], dtype=mx.int32), position, frames,
                            delays.astype(mx.int32), decoder.layers[0].self_attn.qkv_proj.weight, self.bar,
                            prompts=prompts, guided=guided, codebooks=codebooks, greedy=top_k == 1,
                            start_token=start_token, blocks=self.blocks)

    def timed_out(self) -> bool:
        """Whether a grid barrier ever gave up waiting (the step's numbers are then wrong)."""
        return bool(self.bar[2].item())

    def check(self) -> None:
        """After a job: a barrier that timed out means its blocks were not all resident (another
        program holding the GPU's multiprocessors), so the codes are garbage; say so."""
        if self.timed_out():
            raise RuntimeError("the CUDA decode step's grid barrier timed out (another program holding this GPU?); "
                               "the take is invalid: run again, or set OSCGEN_CUDA_STEP=0 for MLX's portable step")
