"""Tempo and loop metadata in a WAV: the ``acid`` chunk (tempo, beats, meter: what ACID, Ableton
Live and libsndfile's loop info read) and the ``smpl`` chunk (sample loops: what samplers, Live
and libsndfile's instrument info read).

Written by hand because no well-kept Python library writes them: soundfile (libsndfile) writes
neither (it can read both), and pedalboard / wave / scipy know only the format and data chunks.
The chunks are appended after soundfile's ``data`` chunk, so the 44-byte header that naive
readers (and Pd's soundfiler) expect is untouched; every RIFF reader skips unknown chunks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# acid chunk flags (the ACID file format as ACID Pro writes it and libsndfile reads it)
ACID_ONE_SHOT = 0x01  # play once, no tempo sync
ACID_ROOT_NOTE = 0x02  # root_note is meaningful (we do not know the key: never set)
ACID_STRETCH = 0x04  # tempo-aware: a DAW may stretch it to the session's tempo
ACID_DISK_BASED = 0x08
MIDI_C4 = 60  # the root note field's default when no key is known


@dataclass(frozen=True)
class Tempo:
    """The musical time of a take: ``beats`` beats at ``bpm`` in ``beats_per_bar``/4."""

    bpm: float
    beats: int
    beats_per_bar: int = 4
    one_shot: bool = False


@dataclass(frozen=True)
class Loop:
    """A forward loop over samples ``start`` .. ``end`` - 1 (``end`` exclusive, like a slice)."""

    start: int
    end: int


def acid_chunk(tempo: Tempo) -> bytes:
    """The 24-byte ``acid`` chunk body: flags, root note, two reserved fields, beats, meter
    denominator and numerator, tempo (little-endian, as libsndfile's wav_read_acid_chunk reads it)."""
    if not tempo.bpm > 0:
        raise ValueError(f"tempo must be > 0 bpm, got {tempo.bpm!r}")
    flags = ACID_ONE_SHOT if tempo.one_shot else ACID_STRETCH
    return struct.pack("<IHHfIHHf", flags, MIDI_C4, 0x8000, 0.0, int(tempo.beats), 4,
                       int(tempo.beats_per_bar), float(tempo.bpm))


def smpl_chunk(loops: list[Loop], sample_rate: int) -> bytes:
    """The ``smpl`` chunk body: the sampler header (sample period in ns, unity note C4) and one
    forward, endlessly repeating loop per entry.  The format's loop end is the LAST sample played
    (inclusive), hence ``end - 1``; libsndfile adds the 1 back when it reads it."""
    header = struct.pack("<9I", 0, 0, round(1e9 / sample_rate), MIDI_C4, 0, 0, 0, len(loops), 0)
    body = b"".join(struct.pack("<6I", index, 0, loop.start, loop.end - 1, 0, 0) for index, loop in enumerate(loops))
    return header + body


def append_chunks(wav: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """``wav`` (a RIFF/WAVE file) with ``(fourcc, body)`` chunks appended and the RIFF size fixed.
    Each chunk is padded to an even length, as RIFF requires."""
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    out = bytearray(wav)
    if len(out) % 2:
        out += b"\0"
    for fourcc, body in chunks:
        if len(fourcc) != 4:
            raise ValueError(f"chunk id must be 4 bytes, got {fourcc!r}")
        out += fourcc + struct.pack("<I", len(body)) + body
        if len(body) % 2:
            out += b"\0"
    if len(out) - 8 > 0xFFFFFFFF:
        raise ValueError("WAV larger than 4 GiB")
    out[4:8] = struct.pack("<I", len(out) - 8)
    return bytes(out)


def metadata_chunks(tempo: Tempo | None, loop: Loop | None, sample_rate: int) -> list[tuple[bytes, bytes]]:
    chunks = []
    if tempo is not None:
        chunks.append((b"acid", acid_chunk(tempo)))
    if loop is not None:
        chunks.append((b"smpl", smpl_chunk([loop], sample_rate)))
    return chunks


# --- reading back (tests, `oscgen` tools): the same layouts, parsed --------------------------


def read_chunks(wav: bytes) -> dict[bytes, bytes]:
    """Every top-level chunk of a RIFF/WAVE file: fourcc -> body (the last one if repeated).
    Stops at the RIFF size or the end of the data, whichever is first; a chunk that claims more
    bytes than are there is an error (never a loop)."""
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    end = min(len(wav), 8 + struct.unpack_from("<I", wav, 4)[0])
    chunks, at = {}, 12
    while at + 8 <= end:
        fourcc, size = wav[at:at + 4], struct.unpack_from("<I", wav, at + 4)[0]
        if at + 8 + size > end:
            raise ValueError(f"chunk {fourcc!r} at byte {at} claims {size} bytes past the end of the file")
        chunks[fourcc] = wav[at + 8:at + 8 + size]
        at += 8 + size + (size % 2)
    return chunks


def parse_acid(body: bytes) -> Tempo:
    flags, _, _, _, beats, _denominator, numerator, bpm = struct.unpack_from("<IHHfIHHf", body)
    return Tempo(bpm=bpm, beats=beats, beats_per_bar=numerator, one_shot=bool(flags & ACID_ONE_SHOT))


def parse_smpl(body: bytes) -> tuple[int, list[Loop]]:
    """(sample period in ns, loops)."""
    fields = struct.unpack_from("<9I", body)
    loops = [Loop(start, end + 1) for _, _, start, end, _, _ in
             (struct.unpack_from("<6I", body, 36 + 24 * i) for i in range(fields[7]))]
    return fields[2], loops
