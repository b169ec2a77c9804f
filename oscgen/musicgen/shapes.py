"""Every parameter of a transformers MusicGen checkpoint, by name and shape, from its
config.json: what the tiny random model is written with (tiny.py) and what real checkpoints are
checked against (test_real_configs.py)."""

from __future__ import annotations

import numpy as np


def t5_encoder_shapes(cfg: dict) -> dict[str, tuple]:
    d, inner, ff = cfg["d_model"], cfg["num_heads"] * cfg["d_kv"], cfg["d_ff"]
    gated = str(cfg.get("feed_forward_proj", "relu")).startswith("gated")
    shapes = {"shared.weight": (cfg["vocab_size"], d), "encoder.final_layer_norm.weight": (d,)}
    for i in range(cfg["num_layers"]):
        p = f"encoder.block.{i}.layer"
        for name in "qkv":
            shapes[f"{p}.0.SelfAttention.{name}.weight"] = (inner, d)
        shapes[f"{p}.0.SelfAttention.o.weight"] = (d, inner)
        if i == 0:  # T5 shares the relative position bias of the first block
            shapes[f"{p}.0.SelfAttention.relative_attention_bias.weight"] = (
                cfg["relative_attention_num_buckets"], cfg["num_heads"])
        shapes[f"{p}.0.layer_norm.weight"] = (d,)
        for wi in (["wi_0", "wi_1"] if gated else ["wi"]):
            shapes[f"{p}.1.DenseReluDense.{wi}.weight"] = (ff, d)
        shapes[f"{p}.1.DenseReluDense.wo.weight"] = (d, ff)
        shapes[f"{p}.1.layer_norm.weight"] = (d,)
    return shapes


def _conv_shapes(prefix: str, c_in: int, c_out: int, kernel: int, transposed: bool = False) -> dict:
    # weight norm over every axis but 0, stored the way hub checkpoints store it (weight_g/_v)
    v = (c_in, c_out, kernel) if transposed else (c_out, c_in, kernel)
    return {f"{prefix}.conv.bias": (c_out,), f"{prefix}.conv.weight_g": (v[0], 1, 1),
            f"{prefix}.conv.weight_v": v}


def _resnet_shapes(prefix: str, cfg: dict, dim: int) -> dict:
    hidden = dim // cfg["compress"]
    shapes = {**_conv_shapes(f"{prefix}.block.1", dim, hidden, cfg["residual_kernel_size"]),
              **_conv_shapes(f"{prefix}.block.3", hidden, dim, 1)}
    if cfg.get("use_conv_shortcut", True):
        shapes.update(_conv_shapes(f"{prefix}.shortcut", dim, dim, 1))
    return shapes


def _lstm_shapes(prefix: str, cfg: dict, dim: int) -> dict:
    shapes = {}
    for layer in range(cfg["num_lstm_layers"]):
        for kind in ("ih", "hh"):
            shapes[f"{prefix}.lstm.weight_{kind}_l{layer}"] = (4 * dim, dim)
            shapes[f"{prefix}.lstm.bias_{kind}_l{layer}"] = (4 * dim,)
    return shapes


def encodec_shapes(cfg: dict) -> dict[str, tuple]:
    """EnCodec (SEANet encoder + decoder + residual VQ), layer indices as in transformers."""
    filters, ratios, n_res = cfg["num_filters"], cfg["upsampling_ratios"], cfg["num_residual_layers"]
    shapes: dict[str, tuple] = {}
    # encoder: conv, [resblocks, ELU, down-conv] per ratio, LSTM, ELU, conv
    layers = [("conv", cfg["audio_channels"], filters, cfg["kernel_size"])]
    scale = 1
    for ratio in reversed(ratios):
        dim = scale * filters
        layers += [("res", dim, j) for j in range(n_res)] + [("elu",), ("conv", dim, dim * 2, ratio * 2)]
        scale *= 2
    layers += [("lstm", scale * filters), ("elu",), ("conv", scale * filters, cfg["hidden_size"], cfg["last_kernel_size"])]
    # decoder: conv, LSTM, [ELU, up-conv, resblocks] per ratio, ELU, conv
    scale = 2 ** len(ratios)
    dec = [("conv", cfg["hidden_size"], scale * filters, cfg["kernel_size"]), ("lstm", scale * filters)]
    for ratio in ratios:
        dim = scale * filters
        dec += [("elu",), ("upconv", dim, dim // 2, ratio * 2)] + [("res", dim // 2, j) for j in range(n_res)]
        scale //= 2
    dec += [("elu",), ("conv", filters, cfg["audio_channels"], cfg["last_kernel_size"])]
    for part, spec in (("encoder", layers), ("decoder", dec)):
        for i, layer in enumerate(spec):
            prefix = f"{part}.layers.{i}"
            if layer[0] in ("conv", "upconv"):
                shapes.update(_conv_shapes(prefix, *layer[1:], transposed=layer[0] == "upconv"))
            elif layer[0] == "res":
                shapes.update(_resnet_shapes(prefix, cfg, layer[1]))
            elif layer[0] == "lstm":
                shapes.update(_lstm_shapes(prefix, cfg, layer[1]))
    codebook_dim = cfg.get("codebook_dim") or cfg["hidden_size"]
    for q in range(num_quantizers(cfg)):
        p = f"quantizer.layers.{q}.codebook"
        shapes.update({f"{p}.inited": (1,), f"{p}.cluster_size": (cfg["codebook_size"],),
                       f"{p}.embed": (cfg["codebook_size"], codebook_dim),
                       f"{p}.embed_avg": (cfg["codebook_size"], codebook_dim)})
    return shapes


def num_quantizers(cfg: dict) -> int:
    """EnCodec's codebook count for its largest bandwidth (transformers' EncodecConfig.num_quantizers)."""
    hop = int(np.prod(cfg["upsampling_ratios"]))
    frame_rate = -(-cfg["sampling_rate"] // hop)
    bits = int(np.ceil(np.log2(cfg["codebook_size"])))
    return int(1000 * cfg["target_bandwidths"][-1] // (frame_rate * bits))


def musicgen_decoder_shapes(cfg: dict) -> dict[str, tuple]:
    h, ff, vocab = cfg["hidden_size"], cfg["ffn_dim"], cfg["vocab_size"]
    shapes = {}
    for k in range(cfg["num_codebooks"]):
        shapes[f"model.decoder.embed_tokens.{k}.weight"] = (vocab + 1, h)  # + the pad/bos token
        shapes[f"lm_heads.{k}.weight"] = (vocab, h)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.decoder.layers.{i}"
        for attn in ("self_attn", "encoder_attn"):
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                shapes[f"{p}.{attn}.{proj}.weight"] = (h, h)
            shapes[f"{p}.{attn}_layer_norm.weight"] = (h,)
            shapes[f"{p}.{attn}_layer_norm.bias"] = (h,)
        shapes[f"{p}.fc1.weight"] = (ff, h)
        shapes[f"{p}.fc2.weight"] = (h, ff)
        shapes[f"{p}.final_layer_norm.weight"] = (h,)
        shapes[f"{p}.final_layer_norm.bias"] = (h,)
    shapes["model.decoder.layer_norm.weight"] = (h,)
    shapes["model.decoder.layer_norm.bias"] = (h,)
    return shapes


def musicgen_shapes(config: dict) -> dict[str, tuple]:
    """Every tensor of a MusicgenForConditionalGeneration checkpoint, by transformers name."""
    shapes = {}
    for section, fn in (("text_encoder", t5_encoder_shapes), ("audio_encoder", encodec_shapes),
                        ("decoder", musicgen_decoder_shapes)):
        shapes.update({f"{section}.{k}": v for k, v in fn(config[section]).items()})
    text_d, dec_h = config["text_encoder"]["d_model"], config["decoder"]["hidden_size"]
    if text_d != dec_h and config["decoder"].get("cross_attention_hidden_size") is None:
        shapes["enc_to_dec_proj.weight"] = (dec_h, text_d)
        shapes["enc_to_dec_proj.bias"] = (dec_h,)
    return shapes
