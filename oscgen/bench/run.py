"""The bench's parent process: build the checkpoint, run each side in its own subprocess,
compare, print and write the JSON report."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from oscgen.bench.common import (DEFAULT_SECONDS, FRAME_RATE, METRIC_KEYS, PROMPT, default_threads,
                                 ensure_checkpoint, honest_floor, size_name, worker_env)
from oscgen._blas import cpu_model
from oscgen.bench.report import format_table


class _Bar:
    """One-line progress bar on stderr (a plain line per phase when stderr is not a terminal)."""

    def __init__(self, stream=sys.stderr, width=30):
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._last_label = None

    def update(self, label: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.tty:
            filled = int(round(fraction * self.width))
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {fraction * 100:5.1f}%  {label:<48.48}")
            self.stream.flush()
        elif label != self._last_label:
            self.stream.write(f"... {label}\n")
            self.stream.flush()
        self._last_label = label

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r" + " " * (self.width + 60) + "\r")
            self.stream.flush()


def _run_worker(side: str, spec: dict, bar: _Bar, env: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="oscgen-bench-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        err_path = Path(tmp) / "stderr.txt"
        result = None
        with open(err_path, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "oscgen.bench", "worker", side, str(spec_path)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
            )
            for line in proc.stdout:
                if line.startswith("@@progress "):
                    p = json.loads(line[len("@@progress ") :])
                    bar.update(f"{p['side']}: {p['phase']}", p["fraction"])
                elif line.startswith("@@result "):
                    result = json.loads(line[len("@@result ") :])
            proc.wait()
        if proc.returncode != 0 or result is None:
            bar.done()
            tail = err_path.read_text()[-4000:]
            raise RuntimeError(f"the {side} side of the benchmark failed (exit {proc.returncode}):\n{tail}")
        return result


def run_bench(
    model: str = "small",
    steps: int | None = None,
    dtype: str = "float32",
    quantize: int | None = None,
    reference: bool = True,
    reference_dtypes: tuple[str, ...] = ("float32",),
    device: str = "cpu",
    threads: int | None = None,
    seed: int = 1234,
    top_k: int = 250,
    temperature: float = 1.0,
    cfg_scale: float = 3.0,
    prompt: str = PROMPT,
    warmup_steps: int = 8,
    json_path: str | None = None,
    out=sys.stdout,
) -> dict:
    """Run the benchmark and return (and optionally write) its JSON report."""
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ValueError(f"dtype must be float32, float16 or bfloat16, got {dtype!r}")
    if quantize not in (None, 4, 8):
        raise ValueError(f"quantize must be 4 or 8 (bits), got {quantize!r}")
    if device not in ("cpu", "gpu", "auto"):
        raise ValueError(f"device must be cpu, gpu or auto, got {device!r}")
    for rd in reference_dtypes:
        if rd not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"reference dtype must be float32, float16 or bfloat16, got {rd!r}")
    model = size_name(model)
    threads = threads or default_threads()
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    bar = _Bar()
    checkpoint = ensure_checkpoint(model, progress=lambda label, f: bar.update(label, f))
    config = json.loads((checkpoint / "config.json").read_text())
    num_codebooks = config["decoder"]["num_codebooks"]
    if steps is None:
        seconds = DEFAULT_SECONDS.get(model, 10.0)
        steps = int(round(seconds * FRAME_RATE)) + num_codebooks - 1
    if steps < num_codebooks:
        raise ValueError(f"steps must be >= {num_codebooks} (one audio frame needs {num_codebooks} steps), got {steps}")
    warmup_steps = max(num_codebooks, min(warmup_steps, steps))

    from oscgen.musicgen.tokenizer import T5Tokenizer

    input_ids = T5Tokenizer.from_dir(checkpoint).encode(prompt)
    spec = {
        "checkpoint": str(checkpoint),
        "config": config,
        "num_codebooks": num_codebooks,
        "prompt": prompt,
        "input_ids": input_ids,
        "steps": steps,
        "warmup_steps": warmup_steps,
        "seed": seed,
        "top_k": top_k,
        "temperature": temperature,
        "cfg_scale": cfg_scale,
        "dtype": dtype,
        "quantize": quantize,
        "device": device,
        "threads": threads,
    }
    env = worker_env(threads)
    oscgen_env = worker_env(threads, oscgen_side=True)
    report = {
        "meta": {
            "model": model,
            "checkpoint": str(checkpoint),
            "random_weights": True,
            "steps": steps,
            "audio_s": (steps - num_codebooks + 1) / FRAME_RATE,
            "prompt": prompt,
            "prompt_tokens": len(input_ids),
            "config": config,
            "sampling": {"top_k": top_k, "temperature": temperature, "cfg_scale": cfg_scale, "seed": seed},
            "dtype": dtype,
            "quantize": quantize,
            "device": device,
            "threads": threads,
            "cpu": cpu_model(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        },
        "oscgen": _run_worker("oscgen", spec, bar, oscgen_env),
        "transformers": {},
        "ratio": {},
    }
    if reference:
        for rd in reference_dtypes:
            try:
                ref = _run_worker("transformers", {**spec, "reference_dtype": rd}, bar, env)
            except RuntimeError as exc:  # e.g. a dtype the reference cannot run: keep oscgen's numbers
                print(f"transformers {rd} failed: {exc}", file=sys.stderr)
                ref = {"error": str(exc)[-2000:]}
            report["transformers"][rd] = ref
    sides = {"oscgen": report["oscgen"], **{f"transformers {rd}": ref for rd, ref in report["transformers"].items()
                                            if "error" not in ref}}
    report["floor"] = honest_floor(sides)
    for rd, ref in report["transformers"].items():
        report["ratio"][rd] = {
            k: (report["oscgen"][k] / ref[k])
            if isinstance(report["oscgen"].get(k), (int, float)) and isinstance(ref.get(k), (int, float)) and ref[k]
            else None
            for k in METRIC_KEYS
        }
    bar.done()
    print(format_table(report), file=out)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(report, indent=2))
        print(f"wrote {json_path}", file=out)
    return report
