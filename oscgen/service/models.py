"""Which models a client may ask for over OSC, and what each name loads.

Over OSC, ``/oscgen/model`` accepts only names: the engine's built-in aliases, the model the
daemon started with (the operator's choice: config or ``--model``), and config's ``[models]``
table (name -> hub repo id or checkpoint folder).  Anything else gets one answer that says
nothing about the disk (no "does not exist" / "is a file" / "has no config.json"), and
nothing received over OSC ever reaches the file system as a path.  Weights are downloaded for
an OSC-chosen model only with ``[models] allow_download = true``; the start-up model keeps
the engine's own rules.  The CLI and the Python API are not affected: they load any path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oscgen.config import ModelsConfig
from oscgen.musicgen.aliases import KNOWN_MODELS, TINY_MODEL


def builtin_names() -> tuple[str, ...]:
    """The engine's aliases and its tiny model (oscgen.musicgen.aliases: no MLX in the OSC process)."""
    return (*KNOWN_MODELS, TINY_MODEL)


@dataclass(frozen=True)
class ModelRules:
    """Picklable: the worker gets a copy to map names to what it loads."""

    table: tuple[tuple[str, str], ...] = ()  # [models]: name -> hub repo id or folder
    allow_download: bool = False
    start_model: str = ""  # the operator's choice ([defaults] model or --model)
    fallback_model: str = ""  # also the operator's: [defaults] fallback_model
    builtins: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config) -> "ModelRules":
        models: ModelsConfig = config.models
        return cls(models.names, models.allow_download, config.defaults["model"], config.fallback_model, builtin_names())

    def osc_names(self) -> list[str]:
        return list(dict.fromkeys([*self.builtins, *(n for n, _ in self.table), self.start_model]))

    def check_osc(self, name: str) -> str:
        """``name`` (stripped) if a client may load it over OSC, else ValueError: the same
        answer for every other string, whatever is or is not on the disk under it."""
        name = name.strip() if isinstance(name, str) else name
        if name in self.osc_names():
            return name
        raise ValueError(f"model must be one of {', '.join(self.osc_names())} "
                         "(over OSC the daemon loads only these; more go in config.toml's [models])")

    def target(self, name: str) -> str:
        """What the engine loads for ``name``: its [models] entry, else the name itself."""
        return dict(self.table).get(name, name)

    def may_download(self, name: str) -> bool:
        return self.allow_download or name in (self.start_model, self.fallback_model)

    def refuse_download(self, name: str):
        """In the worker, before a load: ModelNotFoundError if ``name`` would be downloaded
        and may not be (an OSC-chosen model whose weights are not on this machine)."""
        if self.may_download(name):
            return
        from oscgen.musicgen import weights  # the worker has MLX already

        target = self.target(name)
        if target == weights.TINY_MODEL or Path(target).expanduser().is_dir():
            return
        repo = weights.KNOWN_MODELS.get(target, target)
        if weights.cached_hub_snapshot(repo) is None:
            raise weights.ModelNotFoundError(
                f"the weights of {name} ({repo}) are not on this machine, and downloads chosen over OSC are "
                f"off ([models] allow_download = false); `oscgen fetch {target}` gets them"
            )
