"""What the command line shows and writes for a take: the progress bar with the seconds left, the
-o check before generating, the take kept when its write fails, and engine errors in command-line
words (flags, not Python arguments).  Split from cli.py, which parses and dispatches."""

from __future__ import annotations

import re
import sys

# generate()'s argument names as the command line spells them, for error messages
FLAGS = {"cfg_scale": "--cfg", "top_k": "--top-k", "top_p": "--top-p", "temperature": "--temperature",
         "duration": "--duration", "seed": "--seed", "output_file": "-o",
         "beats_per_bar": "--beats-per-bar", "tempo_text": "--tempo-text"}


class ProgressBar:
    """A one-line bar on stderr with the seconds left, redrawn in place on a terminal; on a pipe
    or log it writes a line every quarter so logs stay short."""

    def __init__(self, label: str, stream=None, width: int = 30, clock=None):
        from oscgen.progress import Eta

        self.label, self.width = label, width
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = -1
        self.eta = Eta() if clock is None else Eta(clock)

    def __call__(self, fraction: float) -> None:
        from oscgen.progress import format_seconds

        percent = int(fraction * 100)
        seconds = self.eta(fraction)
        left = "" if seconds is None or fraction >= 1.0 else f", {format_seconds(seconds)} left"
        if self.tty:
            if percent == self.last and not left:
                return
            filled = int(fraction * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {percent:3d}%{left}\x1b[K")
            if fraction >= 1.0:
                self.stream.write("\n")
        elif percent // 25 > self.last // 25 or (fraction >= 1.0 and self.last < 100):
            self.stream.write(f"{self.label}: {percent}%{left}\n")
        else:
            return
        self.last = percent
        self.stream.flush()


def default_output(prompt: str, seed: int) -> str:
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:40] or "oscgen"
    return f"out/{slug}-{seed}.wav"


class TakeNotSaved(Exception):
    """The take was generated but could not be written where asked (exit status 2)."""


def check_writable(output: str) -> None:
    """Fail on -o before minutes of generation: the folder must exist (or be creatable) and take
    a file (a real file is made and removed: /proc or a read-only mount only fail on writing)."""
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(output))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".oscgen-write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"-o {output}: cannot write into {folder}: {exc.strerror or exc}") from None


def save_take(result, output: str, prompt: str) -> str:
    """Write the take to ``output``; if that fails, keep it in out/ and say where."""
    import os

    try:
        result.save(output)
        return output
    except OSError as exc:
        why = exc.strerror or str(exc)
    kept = default_output(prompt, result.seed)
    if os.path.abspath(kept) != os.path.abspath(output):
        try:
            os.makedirs(os.path.dirname(kept), exist_ok=True)
            result.save(kept)
        except OSError:
            raise TakeNotSaved(f"could not write {output} ({why}), nor keep the take in {kept}: it is lost") from None
        raise TakeNotSaved(f"could not write {output} ({why}); the take is kept in {os.path.abspath(kept)}")
    raise TakeNotSaved(f"could not write {output} ({why}): the take is lost")


def cli_message(exc: Exception) -> str:
    """An engine error as the command line says it: flags, not Python arguments."""
    from oscgen.musicgen.weights import ModelNotFoundError

    text = str(exc)
    if isinstance(exc, ModelNotFoundError):
        text = text.split(" To use weights you already have", 1)[0].rstrip(".")
        text = re.sub(r" \(\w+(Error|Exception):.*\)$", "", text)  # the network library's own words
        text += ("; `oscgen fetch musicgen-small` on a connected machine gets weights, "
                 "--model /path/to/folder uses a copied folder, --model tiny-random needs none (noise)")
    text = re.sub(r"model='([^']*)'", r"--model \1", text)
    text = text.replace("seed must be None or in", "seed must be -1 (random) or in")
    for name, flag in FLAGS.items():
        text = re.sub(rf"(?<![\w-]){name}(?![\w-])", flag, text)
    return text
