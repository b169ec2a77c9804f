"""Helpers shared by the weights / tokenizer / EnCodec / tiny-model tests: reference models from
transformers (test extra only) and checkpoint folders written the way the hub and
``save_pretrained`` write them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent

#: A 32 kHz-style EnCodec, tiny: hop 8*5*4*4 = 640 samples (50 frames/s), 4 codebooks of 2048.
SMALL_ENCODEC = dict(
    sampling_rate=32000, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2], codebook_size=2048,
    num_filters=4, hidden_size=16, codebook_dim=16, num_lstm_layers=2, num_residual_layers=1,
    use_causal_conv=False, pad_mode="reflect", use_conv_shortcut=False, compress=2,
)


def torch_encodec(seed: int = 0, **overrides):
    """A transformers EncodecModel with every parameter and codebook randomised (its own init
    zeroes the codebooks, which would make any decoder look right)."""
    import torch
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(seed)
    model = EncodecModel(EncodecConfig(**{**SMALL_ENCODEC, **overrides})).eval()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                scale = 1.0 if "codebook" in name or "original0" in name else 0.3
                tensor.copy_(torch.randn_like(tensor) * scale)
    return model


def to_hub_weight_norm(weights: dict) -> dict:
    """Rename recent transformers' weight-norm parametrization keys to the hub's weight_g/weight_v."""
    renamed = {}
    for key, value in weights.items():
        key = key.replace("parametrizations.weight.original0", "weight_g")
        renamed[key.replace("parametrizations.weight.original1", "weight_v")] = value
    return renamed


def state_dict_numpy(model) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def run_python(code: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with this checkout importable."""
    return _run([sys.executable, "-c", code], env, timeout)


def run_oscgen(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the ``oscgen`` command line (``python -m oscgen ARGS``) as a real subprocess."""
    return _run([sys.executable, "-m", "oscgen", *args], env, timeout)


def child_env(env: dict | None = None) -> dict:
    """This process's environment with the checkout importable, plus ``env`` (a None value
    removes that variable)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), full_env.get("PYTHONPATH")]))
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    return full_env


def _run(argv, env, timeout):
    return subprocess.run(argv, env=child_env(env), capture_output=True, text=True, timeout=timeout)


def read_json(path) -> dict:
    return json.loads(Path(path).read_text())
