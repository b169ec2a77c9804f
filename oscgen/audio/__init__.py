"""Audio after the model: atomic files (``files``), set-ready takes (``takes``: bar cuts,
loops, fades), levels and sample rate (``levels``), tempo/loop WAV chunks (``riff``), and the
pipeline that strings them together (``finish``)."""

from oscgen.audio.files import DEFAULT_SUBTYPE, atomic_write, remove_temps, sound_format, write_audio
from oscgen.audio.finish import Finish, Take, finish, stopped
from oscgen.audio.takes import Bars

__all__ = ["DEFAULT_SUBTYPE", "Bars", "Finish", "Take", "atomic_write", "finish", "remove_temps", "sound_format",
           "stopped", "write_audio"]
