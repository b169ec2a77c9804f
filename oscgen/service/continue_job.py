"""What the worker runs for /oscgen/continue: the named WAV's last seconds (read under the
daemon's input rules, checked again here), continued by oscgen.generate_continuation, then
finished like every other take (rate, level, fades from [output]).  The WAV written is the
prompt followed by the new music; its sidecar says where the new part starts."""

from __future__ import annotations

from pathlib import Path

#: job params keys a continuation carries besides the knobs
AUDIO = "audio"  # the WAV to continue (real path), or LAST_TAKE until the job is dispatched
LAST_TAKE = ":last-take:"  # resolved to the daemon's latest finished take when the job starts


def run(params: dict, output, progress, stop=None):
    """The continuation's GenerationResult, its ``take`` the finished audio (like generate_take's);
    ``stop()`` true ends it early with what was made so far (``result.stopped``)."""
    from oscgen import api
    from oscgen.audio import finish
    from oscgen.continuation import generate_continuation
    from oscgen.service.inputs import InputRules, read_tail

    rules = InputRules(output.folder, tuple(Path(f) for f in params["input_folders"]))
    samples, rate = read_tail(rules, params[AUDIO], params["prompt_seconds"])
    result = generate_continuation(
        samples, params["prompt"], duration=params["duration"], model=params["model"],
        temperature=params["temperature"], top_k=params["top_k"], top_p=params["top_p"],
        cfg_scale=params["cfg_scale"], seed=params["seed"], progress_callback=progress, sample_rate=rate,
        extend_stride=params["extend_stride"], stop=stop)
    take = finish(result.audio.numpy(), result.sample_rate, output.finish, None)
    result.audio, result.take = api.AudioData(take.audio, take.sample_rate), take
    return result


def sidecar_fields(params: dict, result) -> dict:
    """What a continuation adds to the sidecar: its "generate" entry is generate_continuation's
    arguments with the prompt audio being the last ``prompt_seconds`` of ``continued_from``."""
    if not params.get(AUDIO):
        return {}
    return {"continued_from": params[AUDIO], "prompt_seconds": params["prompt_seconds"],
            "prompt_duration": result.prompt_duration}
