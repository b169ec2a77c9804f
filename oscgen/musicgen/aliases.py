"""The engine's model names, in a module free of MLX: weights.py resolves them, and the
daemon's OSC process (service/models.py) lists them without loading MLX."""

#: alias -> hub repo id
KNOWN_MODELS = {
    "musicgen-small": "facebook/musicgen-small",
    "musicgen-medium": "facebook/musicgen-medium",
    "musicgen-large": "facebook/musicgen-large",
    "musicgen-stereo-small": "facebook/musicgen-stereo-small",
    "musicgen-stereo-medium": "facebook/musicgen-stereo-medium",
    "musicgen-stereo-large": "facebook/musicgen-stereo-large",
}
#: The built-in tiny random-weight model, written by oscgen itself (see tiny.py).
TINY_MODEL = "tiny-random"
