"""The EnCodec decoder (codes -> waveform) in MLX, with transformers' ``EncodecModel.decode``
semantics: residual-VQ lookup, then the SEANet decoder (conv, LSTM with skip, ELU + transposed
conv upsampling with residual blocks, ELU, conv), padding and trimming as the config says.

Arrays run channels-last (batch, time, channels), MLX's conv layout; conv weights are stored as
(out, kernel, in), the layout of MLX's conv ops and of ``nn.Conv1d``/``nn.ConvTranspose1d``.  The
convs run as matmuls on the CPU and as MLX's conv ops on a GPU (see ``use_mlx_convs``).  Only the
decoder side of the checkpoint is kept (see ``sanitize``).
"""

from __future__ import annotations

import math
import re

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from oscgen.musicgen.encodec_convs import matmul_conv1d, matmul_conv_transpose1d, matmul_strided_conv1d  # noqa: F401
from oscgen.musicgen.encodec_lstm import LSTM, use_numpy
from oscgen.musicgen.layers import on_gpu


# Two forms because MLX's CPU conv kernels are 5-30x slower than MKL matmuls (a 10 s decode took ~50 s,
# torch ~3 s), while on a GPU (cuDNN) the matmul forms made EnCodec 2-5x torch (120-275 ms).  "auto"
# decides by the default device at each call; tests force "matmul" or "mlx".
CONV_IMPL = "auto"


def use_mlx_convs() -> bool:
    """Whether the decoder's convs run as MLX's conv ops (True) or as the matmul forms (False)."""
    if CONV_IMPL == "auto":
        return on_gpu()
    if CONV_IMPL not in ("matmul", "mlx"):
        raise ValueError(f"encodec.CONV_IMPL must be 'auto', 'matmul' or 'mlx', not {CONV_IMPL!r}")
    return CONV_IMPL == "mlx"


@mx.compile
def _elu(x):
    return mx.where(x > 0, x, mx.expm1(mx.minimum(x, 0)))


def _elu_numpy(x):
    """ELU on the CPU through numpy's SIMD expm1: MLX's CPU exp is scalar, ~12 ns an element
    even compiled (244 ms for the last stage's 320k samples x 64 channels, ~1.1 s of a 10 s
    decode), numpy's ~4 ns with the copy back into MLX (76 ms; 2-core AMD EPYC, 2026-12-02)."""
    a = np.asarray(x)  # evaluates x; a view of its buffer, not a copy
    out = np.minimum(a, np.float32(0))
    np.expm1(out, out=out)
    np.maximum(a, out, out=out)  # x > 0: x; else expm1(x), which is >= x
    return mx.array(out)


class ELU(nn.Module):
    """ELU (alpha 1): one fused kernel on a GPU (nn.ELU's separate passes cost ~3x at 320k
    samples x 64), numpy's on a CPU (_elu_numpy)."""

    def __call__(self, x):
        return _elu_numpy(x) if use_numpy(x) else _elu(x)


class Conv1d(nn.Module):
    """EnCodec's padded conv: same-length output (non-causal: split padding; causal: left)."""

    def __init__(self, cfg: dict, c_in: int, c_out: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel, stride, dilation=dilation)
        if cfg["norm_type"] == "time_group_norm":
            self.norm = nn.GroupNorm(1, c_out, pytorch_compatible=True)
        self.causal = cfg["use_causal_conv"]
        self.pad_mode = cfg["pad_mode"]
        self.stride = stride
        self.dilation = dilation
        self.kernel = (kernel - 1) * dilation + 1  # effective kernel with dilation
        self.padding_total = self.kernel - stride

    def __call__(self, x):
        length = x.shape[1]
        # extra right padding so the last window is complete (transformers' _get_extra_padding_for_conv1d)
        n_frames = math.ceil((length - self.kernel + self.padding_total) / self.stride + 1) - 1
        extra = n_frames * self.stride + self.kernel - self.padding_total - length
        if self.causal:
            left, right = self.padding_total, extra
        else:
            right = self.padding_total // 2
            left, right = self.padding_total - right, right + extra
        x = pad1d(x, left, right, self.pad_mode)
        if use_mlx_convs():
            x = self.conv(x)  # mx.conv1d with this stride and dilation
        elif self.stride == 1:
            x = matmul_conv1d(x, self.conv.weight, self.conv.bias, self.dilation)
        else:  # only the encoder downsamples, never with dilation
            x = matmul_strided_conv1d(x, self.conv.weight, self.conv.bias, self.stride)
        if "norm" in self:
            x = self.norm(x)
        return x


def pad1d(x, left: int, right: int, mode: str):
    """Pad the time axis (1) like transformers' EncodecConv1d._pad1d: zeros, or reflection that
    first zero-extends inputs too short to reflect."""
    if left == 0 and right == 0:
        return x
    if mode != "reflect":
        value = 0.0
        if mode not in ("constant", "zero", "zeros"):
            raise ValueError(f"EnCodec pad_mode {mode!r} is not supported (use 'reflect' or 'constant')")
        return mx.pad(x, [(0, 0), (left, right), (0, 0)], constant_values=value)
    length = x.shape[1]
    extra = max(0, max(left, right) - length + 1)
    if extra:
        x = mx.pad(x, [(0, 0), (0, extra), (0, 0)])
    n = x.shape[1]
    # reflection excludes the edge sample: x[left..1] on the left, x[n-2..n-1-right] on the right
    parts = [x]
    if left:
        parts.insert(0, mx.take(x, mx.array(list(range(left, 0, -1))), axis=1))
    if right:
        parts.append(mx.take(x, mx.array(list(range(n - 2, n - 2 - right, -1))), axis=1))
    out = mx.concatenate(parts, axis=1)
    return out[:, : out.shape[1] - extra] if extra else out


class ConvTranspose1d(nn.Module):
    """EnCodec's upsampling conv: trims kernel - stride samples (right-only when causal)."""

    def __init__(self, cfg: dict, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__()
        self.conv = nn.ConvTranspose1d(c_in, c_out, kernel, stride)
        self.stride = stride
        if cfg["norm_type"] == "time_group_norm":
            self.norm = nn.GroupNorm(1, c_out, pytorch_compatible=True)
        padding_total = kernel - stride
        if cfg["use_causal_conv"]:
            self.trim_right = math.ceil(padding_total * cfg.get("trim_right_ratio", 1.0))
        else:
            self.trim_right = padding_total // 2
        self.trim_left = padding_total - self.trim_right

    def __call__(self, x):
        if use_mlx_convs():
            x = self.conv(x)  # mx.conv_transpose1d with this stride
        else:
            x = matmul_conv_transpose1d(x, self.conv.weight, self.conv.bias, self.stride)
        if "norm" in self:
            x = self.norm(x)
        return x[:, self.trim_left : x.shape[1] - self.trim_right]


class ResnetBlock(nn.Module):
    def __init__(self, cfg: dict, dim: int, dilation: int):
        super().__init__()
        hidden = dim // cfg["compress"]
        # indices 1 and 3 (0 and 2 are ELUs) so parameter names match the checkpoint's
        self.block = [ELU(), Conv1d(cfg, dim, hidden, cfg["residual_kernel_size"], dilation=dilation),
                      ELU(), Conv1d(cfg, hidden, dim, 1)]
        self.shortcut = Conv1d(cfg, dim, dim, 1) if cfg.get("use_conv_shortcut", True) else None

    def __call__(self, x):
        y = x
        for layer in self.block:
            y = layer(y)
        return (self.shortcut(x) if self.shortcut is not None else x) + y


class SEANetDecoder(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        filters = cfg["num_filters"]
        scale = 2 ** len(cfg["upsampling_ratios"])
        layers = [Conv1d(cfg, cfg["hidden_size"], scale * filters, cfg["kernel_size"]),
                  LSTM(scale * filters, cfg["num_lstm_layers"])]
        for ratio in cfg["upsampling_ratios"]:
            dim = scale * filters
            layers += [ELU(), ConvTranspose1d(cfg, dim, dim // 2, 2 * ratio, ratio)]
            layers += [ResnetBlock(cfg, dim // 2, cfg["dilation_growth_rate"] ** j)
                       for j in range(cfg["num_residual_layers"])]
            scale //= 2
        layers += [ELU(), Conv1d(cfg, filters, cfg["audio_channels"], cfg["last_kernel_size"])]
        self.layers = layers

    def __call__(self, x, progress=None):
        # one stage evaluated at a time: as one graph MLX keeps several stages' intermediates
        # alive at once (musicgen-small, 10 s: 799 MB over the weights, 30 s: 2.4 GB; staged 451 MB
        # and 1.35 GB), and the staged decode is faster too (3.33 -> 2.78 s on a 2-core CPU).
        # ``progress(fraction)`` after each stage but the last (the caller reports the end).
        for i, layer in enumerate(self.layers):
            x = layer(x)
            mx.eval(x)
            if progress is not None and i + 1 < len(self.layers):
                progress((i + 1) / len(self.layers))
        return x


class Codebook(nn.Module):
    def __init__(self, size: int, dim: int):
        super().__init__()
        self.embed = mx.zeros((size, dim))


class ResidualVectorQuantizer(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        from oscgen.musicgen.tiny import num_quantizers

        dim = cfg.get("codebook_dim") or cfg["hidden_size"]
        self.codebook_size = cfg["codebook_size"]
        self.layers = [Codebook(cfg["codebook_size"], dim) for _ in range(num_quantizers(cfg))]

    def decode(self, codes):
        """(batch, codebooks, frames) codes -> (batch, frames, dim): sum of the codebooks' vectors."""
        out = self.layers[0].embed[codes[:, 0]]
        for k in range(1, codes.shape[1]):
            out = out + self.layers[k].embed[codes[:, k]]
        return out


def supported(audio_config: dict) -> dict:
    """A copy of an ``audio_encoder`` config section this module (and encodec_encoder) runs, with
    norm_type defaulted; ValueError for what MusicGen's 32 kHz EnCodec never uses."""
    cfg = dict(audio_config)
    if cfg.get("chunk_length_s") is not None:
        raise ValueError("chunked EnCodec configs (chunk_length_s set, e.g. 48 kHz) are not supported; "
                         "MusicGen's 32 kHz EnCodec codes in one chunk")
    if cfg.get("norm_type", "weight_norm") not in ("weight_norm", "time_group_norm"):
        raise ValueError(f"EnCodec norm_type {cfg['norm_type']!r} is not supported")
    cfg.setdefault("norm_type", "weight_norm")
    return cfg


class EncodecDecoder(nn.Module):
    """EnCodec codes -> audio, built from a checkpoint's ``audio_encoder`` config section."""

    def __init__(self, audio_config: dict):
        super().__init__()
        cfg = supported(audio_config)
        self.config = cfg
        self.sampling_rate = cfg["sampling_rate"]
        self.hop_length = math.prod(cfg["upsampling_ratios"])
        self.quantizer = ResidualVectorQuantizer(cfg)
        self.decoder = SEANetDecoder(cfg)

    @property
    def num_codebooks(self) -> int:
        return len(self.quantizer.layers)

    def decode(self, codes, progress=None) -> mx.array:
        """int codes (batch, num_codebooks, frames) -> float32 audio (batch, channels, frames * hop);
        ``progress(fraction < 1)`` as the decoder's stages finish."""
        x = self.quantizer.decode(self.checked(codes))
        audio = self.decoder(x, progress)
        return audio.transpose(0, 2, 1)

    def checked(self, codes) -> mx.array:
        """``codes`` as int32 (batch, codebooks, frames); ValueError if that is not what they are."""
        codes = mx.array(codes)
        if codes.ndim != 3:
            raise ValueError(f"codes must be (batch, codebooks, frames), got shape {tuple(codes.shape)}")
        if not 1 <= codes.shape[1] <= self.num_codebooks:
            raise ValueError(f"codes have {codes.shape[1]} codebooks; this EnCodec has {self.num_codebooks}")
        if codes.shape[2] < 1:
            raise ValueError("codes must have at least one frame")
        bad = (codes < 0) | (codes >= self.quantizer.codebook_size)
        if bad.any().item():  # an out-of-range gather would read garbage, not fail
            raise ValueError(f"codes must lie in [0, {self.quantizer.codebook_size}); "
                             "strip the decoder's pad/delay tokens before decoding")
        return codes.astype(mx.int32)


def _fold_weight_norm(g, v):
    """weight = g * v / ||v||, the norm over every axis but the first (torch's weight_norm dim=0)."""
    v = v.astype(mx.float32)
    norm = mx.sqrt(mx.sum(v * v, axis=tuple(range(1, v.ndim)), keepdims=True))
    return g.astype(mx.float32) * v / norm


_WN_SUFFIXES = {"weight_g": "g", "weight_v": "v",
                "parametrizations.weight.original0": "g", "parametrizations.weight.original1": "v"}


def sanitize(weights: dict, part: str = "decoder") -> dict:
    """Checkpoint EnCodec tensors (``audio_encoder.`` prefix removed) -> one side's parameters:
    ``part`` "decoder" (the SEANet decoder and the codebooks) or "encoder" (the SEANet encoder
    alone: it quantizes with the decoder's codebooks, see encodec_encoder).

    Drops the other side and the codebooks' training buffers; folds weight norm from either layout
    (``weight_g``/``weight_v`` as in hub checkpoints, or ``parametrizations.weight.original0/1`` as
    recent transformers save); merges each LSTM layer's two biases; moves conv weights to MLX's
    (out, kernel, in) layout.
    """
    if part not in ("decoder", "encoder"):
        raise ValueError(f"part must be 'decoder' or 'encoder', not {part!r}")
    layer_keys = [k for k in weights if k.startswith(f"{part}.layers.")]
    if not layer_keys:
        raise ValueError(f"no EnCodec {part} tensors ({part}.layers.*) in the checkpoint")
    last_layer = max(int(k.split(".")[2]) for k in layer_keys)

    out, halves = {}, {}
    for key, value in weights.items():
        if key.startswith("quantizer."):
            if part == "decoder" and key.endswith(".codebook.embed"):
                out[key.replace(".codebook.embed", ".embed")] = value.astype(mx.float32)
            continue  # inited, cluster_size, embed_avg: training state
        if not key.startswith(part + "."):
            continue
        for suffix, half in _WN_SUFFIXES.items():
            if key.endswith("." + suffix):
                halves.setdefault(key[: -len(suffix)] + "weight", {})[half] = value
                break
        else:
            out[key] = value.astype(mx.float32)
    for key, parts in halves.items():
        if set(parts) != {"g", "v"}:
            raise ValueError(f"weight-normed tensor {key} has only its {'g' if 'g' in parts else 'v'} half")
        out[key] = _fold_weight_norm(parts["g"], parts["v"])

    lstm = re.compile(rf"^({part}\.layers\.\d+\.lstm)\.(weight|bias)_(ih|hh)_l(\d+)$")
    result = {}
    for key, value in out.items():
        m = lstm.match(key)
        if m:
            prefix, kind, which, layer = m.groups()
            if kind == "weight":
                result[f"{prefix}.{layer}.{'Wx' if which == 'ih' else 'Wh'}"] = value
            elif which == "ih":  # MLX's LSTM has one bias: b_ih + b_hh
                result[f"{prefix}.{layer}.bias"] = value + out[f"{prefix}.bias_hh_l{layer}"]
            continue
        if key.endswith(".conv.weight") and value.ndim == 3:
            layer = int(key.split(".")[2])
            # upsampling convs are the decoder's direct convs other than its first and last
            transposed = (part == "decoder" and re.fullmatch(r"decoder\.layers\.\d+\.conv\.weight", key)
                          and 0 < layer < last_layer)
            # torch: Conv1d (out, in, k), ConvTranspose1d (in, out, k); MLX: (out, k, in)
            value = value.transpose(1, 2, 0) if transposed else value.transpose(0, 2, 1)
        result[key] = value
    return result
