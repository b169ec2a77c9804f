"""oscgen: text-to-music (MusicGen on MLX) for live performance.

``import oscgen as ma; ma.generate("upbeat jazz piano solo", duration=10.0)`` is a drop-in for
the ``mlx_audio`` seed API.  The heavy parts (MLX, the model) load on first use, so the daemon's
OSC process and ``oscgen --help`` start fast.
"""

from oscgen import _blas  # noqa: F401  (must run before anything imports mlx.core)

__version__ = "0.1.0"

__all__ = ["generate", "generate_take", "generate_variations", "generate_batch", "generate_continuation", "generate_long",
           "GenerationResult", "AudioData",
           "__version__"]


def __getattr__(name):
    if name in ("generate", "GenerationResult", "AudioData"):
        from oscgen import api

        return getattr(api, name)
    if name in ("generate_variations", "generate_batch"):  # several takes in one pass (oscgen/variations.py)
        from oscgen import variations

        return getattr(variations, name)
    if name == "generate_take":  # bar-exact, looped, DAW-ready takes (oscgen/take.py)
        from oscgen.take import generate_take

        return generate_take
    if name in ("generate_continuation", "generate_long"):  # audio prompts, takes past 30 s
        from oscgen import continuation

        return getattr(continuation, name)
    raise AttributeError(f"module 'oscgen' has no attribute {name!r}")
