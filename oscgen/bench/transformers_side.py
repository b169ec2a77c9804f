"""The transformers side of the bench, run in its own subprocess: the reference
``MusicgenForConditionalGeneration.generate`` on the same checkpoint, prompt, steps and knobs,
timed per step by a no-op logits processor, then torch's read bandwidth."""

from __future__ import annotations

import time

from oscgen.bench.common import (OPTIONAL_METRICS, Progress, copy_bandwidth, encode_times_ms, peak_rss_mb,
                                 probe_shapes, read_bandwidth, side_metrics, thread_counts)


def torch_device(device: str) -> str:
    """The bench's --device (cpu, gpu, auto) as torch's: cuda, else mps, else cpu."""
    import torch

    if device not in ("gpu", "auto"):
        return device
    mps = getattr(torch.backends, "mps", None)
    return "cuda" if torch.cuda.is_available() else "mps" if mps and mps.is_available() else "cpu"


def torch_sync(device: str):
    """Waits for the device's queued work (timestamps on a GPU are otherwise launch times)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.synchronize
    if device == "mps":
        return torch.mps.synchronize
    return lambda: None


def _torch_read_bandwidth(config: dict, torch_dtype, device: str, threads: int) -> dict:
    """F.linear on the decode-step shapes at each torch thread count up to ``threads`` on a CPU
    (then back to ``threads``); on a GPU once, plus a large device-to-device copy.  Constant
    weights, as oscgen's probe (oscgen.calibrate.mlx_matmul_pass): speed does not depend on them."""
    import torch

    shapes = probe_shapes(config)
    weights = [torch.full((o, i), 0.02, dtype=torch_dtype, device=device) for o, i in shapes]
    xs = {i: torch.full((2, i), 0.5, dtype=torch_dtype, device=device) for _, i in shapes}
    sync = torch_sync(device)

    def one_pass():
        with torch.inference_mode():
            for (_, i), w in zip(shapes, weights):
                torch.nn.functional.linear(xs[i], w)
        sync()

    counts = thread_counts(threads) if device == "cpu" else [threads]
    result = read_bandwidth(config, shapes, sum(w.numel() * w.element_size() for w in weights), one_pass,
                            torch.set_num_threads, counts)
    torch.set_num_threads(threads)
    del weights
    if device != "cpu":
        big = torch.zeros(1 << 29, dtype=torch.float32, device=device)  # 2 GiB, far past the caches
        out = torch.empty_like(big)
        result["copy_gbs"] = copy_bandwidth(lambda: (out.copy_(big), sync()), big.numel() * 4)
        result["copy_mb"] = big.numel() * 4 / 1e6
    return result


class _StepClock:
    """Timestamps for one transformers ``generate``: text-encoder forward start/end, one stamp per
    decoder step (a no-op logits processor: it runs once per step, right after the forward), and
    EnCodec decode start/end.

    (transformers 5.x MusicGen ``generate`` does not pass its ``streamer`` on to the decoding
    loop, so a streamer sees only the initial input; a logits processor sees every step.)
    """

    def __init__(self, model, sync, on_step=None):
        self.sync = sync
        self.on_step = on_step
        self.steps: list[float] = []
        self.t5: list[float] = []
        self.codec: list[float] = []
        model.text_encoder.register_forward_pre_hook(lambda *a: self.t5.append(time.perf_counter()))
        model.text_encoder.register_forward_hook(lambda *a: self._stamp(self.t5))
        decode = model.audio_encoder.decode

        def timed_decode(*args, **kwargs):
            self.sync()
            self.codec.append(time.perf_counter())
            out = decode(*args, **kwargs)
            self._stamp(self.codec)
            return out

        model.audio_encoder.decode = timed_decode

    def _stamp(self, where: list) -> None:
        self.sync()
        where.append(time.perf_counter())

    def reset(self) -> None:
        self.steps.clear()
        self.t5.clear()
        self.codec.clear()

    def __call__(self, input_ids, scores):  # LogitsProcessor protocol
        self._stamp(self.steps)
        if self.on_step:
            self.on_step(len(self.steps))
        return scores


def worker(spec: dict) -> dict:
    import torch
    from transformers import MusicgenForConditionalGeneration
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    progress = Progress(f"transformers {spec['reference_dtype']}")
    torch.set_num_threads(spec["threads"])
    device = torch_device(spec["device"])
    torch_dtype = getattr(torch, spec["reference_dtype"])
    sync = torch_sync(device)

    progress("loading", 0.0, force=True)
    t0 = time.perf_counter()
    model = MusicgenForConditionalGeneration.from_pretrained(spec["checkpoint"], dtype=torch_dtype)
    model = model.to(device).eval()
    sync()
    load_s = time.perf_counter() - t0
    input_ids = torch.tensor([spec["input_ids"]], device=device)
    attention_mask = torch.ones_like(input_ids)

    from transformers import LogitsProcessorList

    clock = _StepClock(model, sync)

    def run(steps, phase):
        clock.reset()
        clock.on_step = lambda i: progress(phase, i / steps)
        torch.manual_seed(spec["seed"])
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        sync()
        start = time.perf_counter()
        with torch.inference_mode():
            audio = model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                do_sample=True,
                top_k=spec["top_k"],
                temperature=spec["temperature"],
                guidance_scale=spec["cfg_scale"],
                max_new_tokens=steps,
                logits_processor=LogitsProcessorList([clock]),
            )
        sync()
        end = time.perf_counter()
        progress(phase, 1.0)
        # step 1 = from the end of the text encoder to the first sampled token
        stamps = [clock.t5[1]] + clock.steps
        return {
            "start": start,
            "end": end,
            "t5_encode_ms": (clock.t5[1] - clock.t5[0]) * 1e3,
            "steps_ms": [(b - a) * 1e3 for a, b in zip(stamps, stamps[1:])],
            "first_progress_s": clock.steps[0] - start,
            "encodec_ms": (clock.codec[1] - clock.codec[0]) * 1e3,
            "samples": int(audio.shape[-1]),
        }

    run(spec["warmup_steps"], "warm-up")
    timing = run(spec["steps"], "generating")

    def encode():
        with torch.inference_mode():
            model.text_encoder(input_ids=input_ids, attention_mask=attention_mask)

    timing["t5_repeats_ms"] = encode_times_ms(encode, clock.t5)
    result = side_metrics(timing, spec)
    result["peak_rss_mb"] = peak_rss_mb()
    result["peak_device_mb"] = torch.cuda.max_memory_allocated() / 1e6 if device == "cuda" else None
    result.update({key: None for key in OPTIONAL_METRICS - set(result)})  # MLX's figures: oscgen only
    result["load_s"] = load_s
    del model
    progress("matmul bandwidth", 0.0, force=True)
    result.update(_torch_read_bandwidth(spec["config"], torch_dtype, device, spec["threads"]))
    result["device"] = torch.cuda.get_device_name() if device == "cuda" else device
    result["torch_version"] = torch.__version__
    import transformers

    result["transformers_version"] = transformers.__version__
    return result

