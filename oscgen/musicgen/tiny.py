"""The built-in tiny random MusicGen: a complete checkpoint in the transformers layout, written
without torch, for demos, docs and tests on machines without real weights.

Its structure is MusicGen's (T5 encoder, text projection, a decoder over 4 codebooks of 2048
codes at 50 frames/s, EnCodec 32 kHz with upsampling ratios 8·5·4·4), only every dimension is
tiny.  Its weights are random, so what it generates is NOISE.  transformers'
``MusicgenForConditionalGeneration.from_pretrained`` loads it with no missing or unexpected keys.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from oscgen.musicgen.shapes import (  # noqa: F401 (tiny.musicgen_shapes and the rest, re-exported)
    encodec_shapes, musicgen_decoder_shapes, musicgen_shapes, num_quantizers, t5_encoder_shapes,
)

#: Present in every folder this module writes; weights.is_random_weights() looks for it.
MARKER_FILE = "oscgen-random-weights.json"
#: Bump when the tiny checkpoint changes, so cached copies are rewritten.
TINY_VERSION = 2
NOISE_WARNING = (
    "tiny-random has RANDOM WEIGHTS: its output is noise. It exists to test and demo the "
    "pipeline without real weights; use musicgen-small or musicgen-medium for music."
)

# Dimensions: tiny, but with MusicGen's real structure (text d_model != decoder hidden, so the
# enc_to_dec projection exists; 4 codebooks of 2048; EnCodec 32 kHz-style hop of 640 samples).
_SPM_VOCAB = 256
_T5_EXTRA_IDS = 100
_SIZES = {
    "tiny": dict(
        text=dict(vocab_size=384, d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2),
        decoder=dict(hidden_size=64, num_attention_heads=4, ffn_dim=128, num_hidden_layers=2),
        audio=dict(num_filters=4, hidden_size=16),
    ),
    # The real checkpoints' dimensions (t5-base text encoder, EnCodec 32 kHz), for shape tests
    # and for benchmarks on random weights at full size.
    "small": dict(
        text=dict(vocab_size=32128, d_model=768, d_kv=64, num_heads=12, d_ff=3072, num_layers=12),
        decoder=dict(hidden_size=1024, num_attention_heads=16, ffn_dim=4096, num_hidden_layers=24),
        audio=dict(num_filters=64, hidden_size=128),
    ),
    "medium": dict(
        text=dict(vocab_size=32128, d_model=768, d_kv=64, num_heads=12, d_ff=3072, num_layers=12),
        decoder=dict(hidden_size=1536, num_attention_heads=24, ffn_dim=6144, num_hidden_layers=48),
        audio=dict(num_filters=64, hidden_size=128),
    ),
    "large": dict(
        text=dict(vocab_size=32128, d_model=768, d_kv=64, num_heads=12, d_ff=3072, num_layers=12),
        decoder=dict(hidden_size=2048, num_attention_heads=32, ffn_dim=8192, num_hidden_layers=48),
        audio=dict(num_filters=64, hidden_size=128),
    ),
}
# facebook/musicgen-stereo-*: the mono architecture with 8 decoder codebooks (left and right
# interleaved) over the same mono EnCodec, which codes each channel with 4 ("stereo-tiny": the
# built-in tiny model's stereo twin, for tests and demos).
STEREO_PREFIX = "stereo-"
_SIZES.update({STEREO_PREFIX + name: {**dims, "stereo": True} for name, dims in list(_SIZES.items())})
SIZES = tuple(_SIZES)

# Sentencepiece training text: prompts of the kind musicians type.  Fixed, so the model is too.
_SPM_TEXT = """\
upbeat jazz piano solo with walking bass and brushed drums
ambient synth pad, slow evolving textures, reverb, 80 bpm
lo-fi hip hop beat with vinyl crackle and mellow rhodes chords
driving techno kick, acid bassline, 130 bpm, dark warehouse
cinematic orchestral strings rising to a big brass climax
funky disco groove with slap bass, wah guitar and handclaps
gentle acoustic guitar fingerpicking, folk ballad in a minor key
heavy metal riff with double kick drums and distorted guitars
bossa nova with nylon guitar, soft flute and light percussion
80s synthwave with gated reverb snare and arpeggiated bass
drum and bass breakbeat, rolling sub bass, 174 bpm, energetic
a calm cello melody over a string quartet, romantic and slow
reggae skank guitar, deep bass, one drop rhythm, dub echoes
epic trailer music with taiko drums, choir and huge hits
chiptune melody with square waves, 8-bit video game music
latin salsa with congas, timbales, piano montuno and horns
minimal house with deep chords, shuffled hats and a warm bass
blues shuffle, harmonica, electric guitar licks, slow tempo
bright pop song with catchy vocal chops and punchy drums
meditative tibetan bowls, drones and soft rain sounds
country twang, pedal steel, banjo rolls and a happy melody
trap beat with rolling hi-hats, 808 bass and dark bells
baroque harpsichord fugue, counterpoint, ornamented lines
"""


def text_encoder_config(size: str = "tiny") -> dict:
    """A T5 encoder config (relu feed-forward, like t5-base)."""
    dims = _SIZES[size]["text"]
    return {
        "model_type": "t5",
        "architectures": ["T5EncoderModel"],
        **dims,
        "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128,
        "num_decoder_layers": dims["num_layers"],
        "feed_forward_proj": "relu",
        "dense_act_fn": "relu",
        "is_gated_act": False,
        "layer_norm_epsilon": 1e-6,
        "dropout_rate": 0.1,
        "initializer_factor": 1.0,
        "classifier_dropout": 0.0,
        "is_encoder_decoder": False,
        "is_decoder": False,
        "use_cache": False,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
        "tie_word_embeddings": True,
    }


def audio_encoder_config(size: str = "tiny") -> dict:
    """An EnCodec config shaped like facebook/encodec_32khz (non-causal, reflect padding)."""
    dims = _SIZES[size]["audio"]
    return {
        "model_type": "encodec",
        "architectures": ["EncodecModel"],
        **dims,
        "codebook_dim": dims["hidden_size"],
        "codebook_size": 2048,
        "upsampling_ratios": [8, 5, 4, 4],
        "target_bandwidths": [2.2],
        "sampling_rate": 32000,
        "audio_channels": 1,
        "normalize": False,
        "chunk_length_s": None,
        "overlap": None,
        "num_residual_layers": 1,
        "norm_type": "weight_norm",
        "kernel_size": 7,
        "last_kernel_size": 7,
        "residual_kernel_size": 3,
        "dilation_growth_rate": 2,
        "use_causal_conv": False,
        "pad_mode": "reflect",
        "compress": 2,
        "num_lstm_layers": 2,
        "trim_right_ratio": 1.0,
        "use_conv_shortcut": False,
    }


def decoder_config(size: str = "tiny") -> dict:
    stereo = _SIZES[size].get("stereo", False)
    return {
        "model_type": "musicgen_decoder",
        **_SIZES[size]["decoder"],
        "num_codebooks": 8 if stereo else 4,
        "vocab_size": 2048,
        "max_position_embeddings": 2048,
        "activation_function": "gelu",
        "dropout": 0.1,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "layerdrop": 0.0,
        "initializer_factor": 0.02,
        "scale_embedding": False,
        "use_cache": True,
        "audio_channels": 2 if stereo else 1,
        "pad_token_id": 2048,
        "bos_token_id": 2048,
        "tie_word_embeddings": False,
    }


def musicgen_config(size: str = "tiny") -> dict:
    """A complete MusicGen config.json: "tiny" (the built-in model), or a real architecture:
    "small", "medium", "large", "stereo-small", "stereo-medium", "stereo-large"."""
    if size not in _SIZES:
        raise ValueError(f"size must be one of {', '.join(_SIZES)}, got {size!r}")
    return {
        "model_type": "musicgen",
        "architectures": ["MusicgenForConditionalGeneration"],
        "is_encoder_decoder": True,
        "initializer_factor": 0.02,
        "dtype": "float32",
        "torch_dtype": "float32",
        "text_encoder": text_encoder_config(size),
        "audio_encoder": audio_encoder_config(size),
        "decoder": decoder_config(size),
    }


def generation_config() -> dict:
    """MusicGen's hub generation defaults (sampling, top-k 250, guidance 3, 30 s max)."""
    bos = 2048
    return {"bos_token_id": bos, "decoder_start_token_id": bos, "pad_token_id": bos,
            "do_sample": True, "top_k": 250, "guidance_scale": 3.0, "max_length": 1500}


# ---- random values -----------------------------------------------------------------------


def _random_tensor(rng: np.random.Generator, name: str, shape: tuple) -> np.ndarray:
    """Values that keep activations O(1) so the output is audible noise, not silence or NaN."""
    leaf = name.rsplit(".", 1)[-1]
    if name.endswith("codebook.inited"):
        return np.ones(shape, np.float32)
    if name.endswith("codebook.cluster_size"):
        return np.ones(shape, np.float32)
    if "layer_norm" in name or leaf == "weight" and len(shape) == 1:
        return (np.ones(shape) if leaf == "weight" else np.zeros(shape)).astype(np.float32)
    if leaf == "bias" or leaf.startswith("bias_"):
        return rng.uniform(-0.05, 0.05, shape).astype(np.float32)
    if name.endswith(("codebook.embed", "codebook.embed_avg")):
        return rng.standard_normal(shape).astype(np.float32)
    if leaf.startswith("weight_ih") or leaf.startswith("weight_hh"):
        bound = 1.0 / np.sqrt(shape[1])
        return rng.uniform(-bound, bound, shape).astype(np.float32)
    if leaf == "weight_v":
        fan_in = shape[1] * shape[2]
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
    if name.startswith("decoder.") and len(shape) == 2:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)  # transformers' init
    return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)


def random_weights(config: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic random tensors for every parameter of ``config`` (sorted-name order)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in sorted(musicgen_shapes(config).items()):
        weights[name] = _random_tensor(rng, name, shape)
    # weight norm: g = ||v|| makes the folded weight equal v, a well-scaled random conv
    for name in [n for n in weights if n.endswith(".weight_g")]:
        v = weights[name[: -len("weight_g")] + "weight_v"]
        weights[name] = np.sqrt((v.astype(np.float64) ** 2).sum(axis=(1, 2), keepdims=True)).astype(np.float32)
    # the last decoder conv makes the waveform: scale it so the noise peaks well inside [-1, 1]
    last = max(int(n.split(".")[3]) for n in weights if n.startswith("audio_encoder.decoder.layers."))
    weights[f"audio_encoder.decoder.layers.{last}.conv.weight_g"] *= np.float32(0.2)
    for name in [n for n in weights if n.endswith("codebook.embed_avg")]:
        weights[name] = weights[name[: -len("_avg")]].copy()
    return weights


# ---- sentencepiece ------------------------------------------------------------------------


def train_spiece_model(vocab_size: int = _SPM_VOCAB) -> bytes:
    """A T5-style unigram sentencepiece model (pad 0, </s> 1, <unk> 2, no <s>), trained on the
    built-in text.  In-memory input and output keep it byte-for-byte reproducible."""
    import sentencepiece as spm

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_SPM_TEXT.splitlines()),
        model_writer=out,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    return out.getvalue()


def _tokenizer_files() -> dict[str, dict]:
    extra = [f"<extra_id_{i}>" for i in range(_T5_EXTRA_IDS)]
    special = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
               "additional_special_tokens": extra}
    return {
        "special_tokens_map.json": special,
        "tokenizer_config.json": {"tokenizer_class": "T5Tokenizer", "model_max_length": 512,
                                  "extra_ids": _T5_EXTRA_IDS, "legacy": True, **special},
    }


# ---- writing ------------------------------------------------------------------------------


def _save_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    save_file(tensors, str(path), metadata={"format": "pt"})


def write_tiny_model(path, seed: int = 0, shards: int = 1) -> Path:
    """Write the tiny random MusicGen checkpoint into ``path`` (created if needed).

    ``shards > 1`` writes ``model-0000N-of-0000M.safetensors`` + ``model.safetensors.index.json``
    instead of one ``model.safetensors`` (the layout of larger hub checkpoints).
    """
    return write_random_model(path, "tiny", seed=seed, shards=shards)


def write_random_model(path, size: str = "tiny", seed: int = 0, shards: int = 1) -> Path:
    """Write a random-weight MusicGen checkpoint of ``size`` (one of SIZES: "tiny", or the real
    dimensions for benchmarks, "small" .. "stereo-large") into ``path``.  Same seed, same bytes."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = musicgen_config(size)
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (path / "generation_config.json").write_text(json.dumps(generation_config(), indent=2) + "\n")
    for name, content in _tokenizer_files().items():
        (path / name).write_text(json.dumps(content, indent=2) + "\n")
    (path / "spiece.model").write_bytes(train_spiece_model())

    weights = random_weights(config, seed)
    if shards <= 1:
        _save_safetensors(path / "model.safetensors", weights)
    else:
        names = sorted(weights)
        groups = [names[i::shards] for i in range(shards)]
        weight_map = {}
        for n, group in enumerate(groups, start=1):
            shard = f"model-{n:05d}-of-{shards:05d}.safetensors"
            _save_safetensors(path / shard, {k: weights[k] for k in group})
            weight_map.update({k: shard for k in group})
        total = sum(w.nbytes for w in weights.values())
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        (path / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")

    (path / "README.md").write_text(
        f"# random MusicGen, {size} (oscgen)\n\n**RANDOM WEIGHTS -> NOISE.** " + NOISE_WARNING + "\n\n"
        "A MusicGen checkpoint in the transformers layout with MusicGen's structure (T5 encoder, "
        f"decoder over {config['decoder']['num_codebooks']} codebooks of 2048 codes at 50 frames/s, EnCodec 32 kHz) and "
        f"{size} dimensions, written by oscgen.musicgen.tiny.write_random_model(size={size!r}, seed={seed}).\n"
    )
    marker = {"random_weights": True, "warning": NOISE_WARNING, "size": size, "seed": seed,
              "version": TINY_VERSION}
    (path / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")
    return path


def ensure_tiny_model(path) -> Path:
    """The tiny model at ``path``, written there first if absent or from an older oscgen.

    Written into a temporary sibling folder and renamed into place, so concurrent processes
    (the daemon's worker and a CLI run) never see half a checkpoint.
    """
    path = Path(path)
    if _is_current_tiny(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        write_tiny_model(tmp)
        if _is_current_tiny(path):  # another process wrote it meanwhile: keep theirs
            return path
        if path.exists():  # an older version: move it aside first, then swap in the new one
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}-old-", dir=path.parent))
            os.replace(path, old / "model")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, path)
        except OSError:  # another process won the race: its copy is as good as ours
            if not _is_current_tiny(path):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _is_current_tiny(path: Path) -> bool:
    try:
        return json.loads((path / MARKER_FILE).read_text()).get("version") == TINY_VERSION
    except (OSError, ValueError, AttributeError):
        return False
