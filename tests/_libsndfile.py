"""libsndfile's own view of a WAV's tempo and loop metadata, through ctypes: soundfile (the
Python binding) exposes neither SFC_GET_LOOP_INFO (the acid chunk) nor SFC_GET_INSTRUMENT (the
smpl chunk), so the tests ask the same libsndfile that soundfile loads."""

import ctypes

import soundfile

SFM_READ, SFM_WRITE = 0x10, 0x20
SFC_GET_INSTRUMENT, SFC_SET_INSTRUMENT, SFC_GET_LOOP_INFO = 0x10D0, 0x10D1, 0x10E0
SF_FORMAT_WAV, SF_FORMAT_PCM_16 = 0x010000, 0x0002


class SF_INFO(ctypes.Structure):
    _fields_ = [("frames", ctypes.c_int64), ("samplerate", ctypes.c_int), ("channels", ctypes.c_int),
                ("format", ctypes.c_int), ("sections", ctypes.c_int), ("seekable", ctypes.c_int)]


class SF_LOOP_INFO(ctypes.Structure):
    _fields_ = [("time_sig_num", ctypes.c_short), ("time_sig_den", ctypes.c_short), ("loop_mode", ctypes.c_int),
                ("num_beats", ctypes.c_int), ("bpm", ctypes.c_float), ("root_key", ctypes.c_int),
                ("future", ctypes.c_int * 6)]


class _Loop(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int), ("start", ctypes.c_uint32), ("end", ctypes.c_uint32), ("count", ctypes.c_uint32)]


class SF_INSTRUMENT(ctypes.Structure):
    _fields_ = [("gain", ctypes.c_int), ("basenote", ctypes.c_char), ("detune", ctypes.c_char),
                ("velocity_lo", ctypes.c_char), ("velocity_hi", ctypes.c_char), ("key_lo", ctypes.c_char),
                ("key_hi", ctypes.c_char), ("loop_count", ctypes.c_int), ("loops", _Loop * 16)]


def _lib():
    lib = ctypes.CDLL(soundfile._snd._name if hasattr(soundfile._snd, "_name") else _path())
    lib.sf_open.restype = ctypes.c_void_p
    lib.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(SF_INFO)]
    lib.sf_command.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    lib.sf_close.argtypes = [ctypes.c_void_p]
    lib.sf_write_short.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    return lib


def _path():
    import re

    return re.search(r"'(.*)'", repr(soundfile._snd)).group(1)


def read_metadata(path):
    """(SF_INFO, SF_LOOP_INFO or None, SF_INSTRUMENT or None) as libsndfile reads the file."""
    lib = _lib()
    info = SF_INFO()
    handle = lib.sf_open(str(path).encode(), SFM_READ, ctypes.byref(info))
    assert handle, f"libsndfile cannot open {path}"
    try:
        loop_info, instrument = SF_LOOP_INFO(), SF_INSTRUMENT()
        has_loop = lib.sf_command(handle, SFC_GET_LOOP_INFO, ctypes.byref(loop_info), ctypes.sizeof(loop_info))
        has_inst = lib.sf_command(handle, SFC_GET_INSTRUMENT, ctypes.byref(instrument), ctypes.sizeof(instrument))
        return info, (loop_info if has_loop else None), (instrument if has_inst else None)
    finally:
        lib.sf_close(handle)


def write_with_instrument(path, samples: int, sample_rate: int, start: int, end: int):
    """A silent 16-bit WAV whose smpl chunk libsndfile itself writes (one forward loop given as
    SF_INSTRUMENT start/end): the reference for the chunk's end-point convention."""
    lib = _lib()
    info = SF_INFO(0, sample_rate, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0, 0)
    handle = lib.sf_open(str(path).encode(), SFM_WRITE, ctypes.byref(info))
    assert handle
    inst = SF_INSTRUMENT()
    inst.basenote, inst.velocity_hi, inst.key_hi = b"\x3c", b"\x7f", b"\x7f"
    inst.loop_count = 1
    inst.loops[0].mode, inst.loops[0].start, inst.loops[0].end, inst.loops[0].count = 801, start, end, 0  # SF_LOOP_FORWARD
    assert lib.sf_command(handle, SFC_SET_INSTRUMENT, ctypes.byref(inst), ctypes.sizeof(inst)) == 1
    buffer = (ctypes.c_short * samples)()
    lib.sf_write_short(handle, buffer, samples)
    lib.sf_close(handle)
