"""config.toml: load, merge over the shipped defaults, validate.

The shipped ``config.toml`` (repo root; ``oscgen/config.toml`` links to it so a pip install
carries it) is both the documentation of every key and the default values.  A user's file is
merged over it table by table, then everything is validated before the daemon binds a socket:
an unknown key or a bad value raises ``ConfigError`` naming the file, the key, the value and what
is allowed.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from oscgen import config_lines
from oscgen.audio.finish import Finish
from oscgen.audio.takes import DEFAULT_CROSSFADE, Bars
from oscgen import config_takes
from oscgen.config_learned import save_learned  # noqa: F401 (MIDI learn writes through config.save_learned)
from oscgen.config_takes import InputConfig, LongConfig
from oscgen.config_values import (  # noqa: F401 (ConfigError and NAME_FIELDS are config's public names)
    NAME_FIELDS, ConfigError, _allowed, _get, _host, _int_in, _knob, _name_template, _only, _port, _table, _target)
from oscgen.knobs import KNOBS, MAX_DURATION, duration_from_bars, duration_knob
from oscgen.midi_config import parse_midi_mappings
from oscgen.midi_map import MidiMapConfig

BUILTIN = "built-in config.toml"
WAV_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")
TAKE_KEYS = ("sample_rate", "normalize", "peak_db", "loudness_lufs", "fade_in_ms", "fade_out_ms",
             "loop_crossfade_ms", "tempo_text")
TABLES = ("osc", "output", "defaults", "queue", "worker", "models", "oscquery", "midi", "presets", "input", "long")


@dataclass(frozen=True)
class OscConfig:
    host: str
    port: int  # 0 = any free port
    reply_port: int
    reply_targets: tuple[tuple[str, int], ...]
    allowed_hosts: tuple[str, ...]  # IPs or networks; "*" = anyone


@dataclass(frozen=True)
class OutputConfig:
    folder: Path  # absolute
    name: str  # template over NAME_FIELDS
    sidecar: bool
    subtype: str  # one of WAV_SUBTYPES
    finish: Finish = Finish()  # sample rate, one-shot fades, normalisation (oscgen.audio)
    loop_crossfade: float = DEFAULT_CROSSFADE  # seconds
    tempo_text: str = ", {bpm} bpm"  # added to the prompt in bars mode; "" = never


@dataclass(frozen=True)
class MidiConfig:
    enabled: bool
    port: str  # substring of an input port's name; "" = none
    virtual: str  # name of a virtual input port to open; "" = none
    api: str = "auto"  # "auto" | "alsa" | "jack" | "coremidi" | "windows" ($OSCGEN_MIDI_API wins)
    save_learned: bool = True  # MIDI learn writes its mappings into the --config file
    mappings: MidiMapConfig = MidiMapConfig()  # cc / note / program / clock


@dataclass(frozen=True)
class OscQueryConfig:
    enabled: bool
    port: int  # TCP; 0 = the same number as the OSC (UDP) port
    name: str  # what discovery shows; "" = "oscgen on <host name>"
    mdns: bool  # advertise over mDNS when the daemon listens beyond this computer


@dataclass(frozen=True)
class WorkerConfig:
    idle_unload_minutes: float  # free the model after this long without a job; 0 = never


@dataclass(frozen=True)
class ModelsConfig:
    allow_download: bool  # may a model chosen over OSC be downloaded?
    names: tuple[tuple[str, str], ...] = ()  # name -> hub repo id or absolute folder, for /oscgen/model


@dataclass(frozen=True)
class Preset:
    name: str
    prompt: str
    overrides: dict = field(default_factory=dict)  # knob name -> value, already validated


@dataclass(frozen=True)
class Config:
    osc: OscConfig
    output: OutputConfig
    defaults: dict  # knob name -> starting value (prompt may be "": none yet)
    beats_per_bar: int
    queue_length: int
    midi: MidiConfig
    presets: tuple[Preset, ...]
    fallback_model: str = ""  # served when the start-up model's weights are not on this machine
    source: str = BUILTIN  # where it came from, for messages
    input: InputConfig = InputConfig()  # what /oscgen/continue may read ([input])
    long: LongConfig = LongConfig()  # takes past 30 s ([long])
    oscquery: OscQueryConfig = OscQueryConfig(enabled=False, port=0, name="", mdns=False)
    worker: WorkerConfig = WorkerConfig(idle_unload_minutes=0.0)
    models: ModelsConfig = ModelsConfig(allow_download=False)
    max_batch: int = 8  # [queue] max_batch: the most takes waiting jobs may share one pass with
    join_running: bool = True  # [queue] join: a job that comes while a pass runs joins it


def default_text() -> str:
    """The shipped config.toml, from the package (a pip install) or the repo root."""
    packaged = resources.files("oscgen").joinpath("config.toml")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "config.toml").read_text(encoding="utf-8")


def load_config(path: str | Path | None = None) -> Config:
    """The shipped defaults, with ``path`` (if given) merged over them, validated."""
    defaults = _parse(default_text(), BUILTIN)
    if path is None:
        return _build(defaults, BUILTIN, base_dir=None)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    user = _parse(text, str(path))
    builtin = _parse(default_text(), BUILTIN)
    merged = copy.deepcopy(defaults)
    for table, value in user.items():
        if table in defaults and isinstance(value, dict) and table != "presets":
            merged[table] = {**defaults[table], **copy.deepcopy(value)}
        else:
            merged[table] = copy.deepcopy(value)
    folder_from_user = "folder" in user.get("output", {})
    base_dir = path.resolve().parent if folder_from_user else None
    return _build_all(merged, builtin, str(path), text, base_dir)


def _build_all(raw: dict, builtin: dict, source: str, text: str, base_dir) -> Config:
    """Every problem of the file at once, each with its line (config_lines.collect)."""
    config, problems = config_lines.collect(lambda: _build(raw, source, base_dir), raw, builtin, source, text)
    if problems:
        raise ConfigError(problems[0], tuple(problems))
    return config


def with_overrides(config: Config, *, host=None, port=None, reply_port=None, out=None, model=None) -> Config:
    """Command-line flags over the file, checked by the same rules."""
    osc = config.osc
    where = "command line"
    if host is not None:
        osc = replace(osc, host=_host(host, f"{where}: --host"))
    if port is not None:
        osc = replace(osc, port=_port(port, f"{where}: --port", allow_zero=True))
    if reply_port is not None:
        osc = replace(osc, reply_port=_port(reply_port, f"{where}: --reply-port"))
    output = config.output
    if out is not None:
        output = replace(output, folder=Path(out).expanduser().absolute())
    defaults = config.defaults
    if model is not None:
        defaults = {**defaults, "model": _knob("model", model, f"{where}: --model")}
    return replace(config, osc=osc, output=output, defaults=defaults)

# The defaults live in config.toml only (the dataclasses above carry none): one place to change.


# --- validation -------------------------------------------------------------------------------


def _parse(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))  # TOMLDecodeError has no lineno before 3.14
        line = found.group(1) if found else None
        raise ConfigError(f"{source}{f':{line}' if line else ''}: not valid TOML: {exc}") from None


def _build(raw: dict, source: str, base_dir: Path | None) -> Config:
    def where(table, key=None):
        return f"{source}: [{table}]" + (f" {key}" if key else "")

    for table in raw:
        if table not in TABLES:
            raise ConfigError(f"{source}: unknown table or key [{table}] (allowed: {', '.join(TABLES)})")
    osc_t = _table(raw, "osc", source)
    _only(osc_t, ("host", "port", "reply_port", "reply_targets", "allowed_hosts"), where("osc"))
    osc = OscConfig(
        host=_host(_get(osc_t, "host", str, where("osc", "host")), where("osc", "host")),
        port=_port(_get(osc_t, "port", int, where("osc", "port")), where("osc", "port"), allow_zero=True),
        reply_port=_port(_get(osc_t, "reply_port", int, where("osc", "reply_port")), where("osc", "reply_port")),
        reply_targets=tuple(
            _target(t, where("osc", "reply_targets")) for t in _get(osc_t, "reply_targets", list, where("osc", "reply_targets"))
        ),
        allowed_hosts=tuple(
            _allowed(h, where("osc", "allowed_hosts")) for h in _get(osc_t, "allowed_hosts", list, where("osc", "allowed_hosts"))
        ),
    )

    out_t = _table(raw, "output", source)
    _only(out_t, ("folder", "name", "sidecar", "subtype", *TAKE_KEYS), where("output"))
    folder = Path(_get(out_t, "folder", str, where("output", "folder"))).expanduser()
    if not folder.is_absolute():
        folder = (base_dir or Path.cwd()) / folder
    subtype = _get(out_t, "subtype", str, where("output", "subtype"))
    if subtype not in WAV_SUBTYPES:
        raise ConfigError(f"{where('output', 'subtype')} = {subtype!r}: must be one of {', '.join(WAV_SUBTYPES)}")
    output = OutputConfig(
        folder=folder,
        name=_name_template(_get(out_t, "name", str, where("output", "name")), where("output", "name")),
        sidecar=_get(out_t, "sidecar", bool, where("output", "sidecar")),
        subtype=subtype,
        **_takes(out_t, lambda key: where("output", key)),
    )

    inputs, long = config_takes.parse(_table(raw, "input", source), _table(raw, "long", source), where, ConfigError)
    def_t = _table(raw, "defaults", source)
    _only(def_t, (*KNOBS, "beats_per_bar", "fallback_model"), where("defaults"))
    defaults = {}
    for name in KNOBS:
        value = _get(def_t, name, object, where("defaults", name))
        if name == "prompt" and value == "":
            defaults[name] = ""  # no prompt yet: the first generate must bring one
        elif name == "duration":  # up to [long] max_duration
            try:
                defaults[name] = duration_knob(long.max_duration).check(value)
            except ValueError as exc:
                raise ConfigError(f"{where('defaults', name)} = {value!r}: {exc}") from None
        else:
            defaults[name] = _knob(name, value, where("defaults", name))
    fallback_model = def_t.get("fallback_model", "")
    if fallback_model != "":
        fallback_model = _knob("model", fallback_model, where("defaults", "fallback_model"))
    beats = _int_in(_get(def_t, "beats_per_bar", int, where("defaults", "beats_per_bar")), 1, 16, where("defaults", "beats_per_bar"))

    queue_t = _table(raw, "queue", source)
    _only(queue_t, ("length", "max_batch", "join"), where("queue"))
    queue_length = _int_in(_get(queue_t, "length", int, where("queue", "length")), 0, 1000, where("queue", "length"))
    max_batch = _int_in(_get(queue_t, "max_batch", int, where("queue", "max_batch")), 1, 64, where("queue", "max_batch"))
    join_running = _get(queue_t, "join", bool, where("queue", "join"))

    oq_t = _table(raw, "oscquery", source)
    _only(oq_t, ("enabled", "port", "name", "mdns"), where("oscquery"))
    oscquery = OscQueryConfig(
        enabled=_get(oq_t, "enabled", bool, where("oscquery", "enabled")),
        port=_port(_get(oq_t, "port", int, where("oscquery", "port")), where("oscquery", "port"), allow_zero=True),
        name=_get(oq_t, "name", str, where("oscquery", "name")).strip(),
        mdns=_get(oq_t, "mdns", bool, where("oscquery", "mdns")),
    )
    worker_t = _table(raw, "worker", source)
    _only(worker_t, ("idle_unload_minutes",), where("worker"))
    idle = _get(worker_t, "idle_unload_minutes", object, where("worker", "idle_unload_minutes"))
    if isinstance(idle, bool) or not isinstance(idle, (int, float)) or not 0 <= idle <= 24 * 60:
        raise ConfigError(f"{where('worker', 'idle_unload_minutes')} = {idle!r}: must be a number of minutes "
                          "in [0, 1440] (0 = keep the model loaded)")
    worker = WorkerConfig(idle_unload_minutes=float(idle))

    models = _validate_models(_table(raw, "models", source), where("models"), base_dir or _config_dir(source))

    midi = _validate_midi(_table(raw, "midi", source), where("midi"))
    presets = _validate_presets(_table(raw, "presets", source), where("presets"))
    _check_note_presets(midi, presets, source)
    _check_bars_fit(defaults, beats, where("defaults"))
    for p in presets:
        _check_bars_fit({**defaults, **p.overrides}, beats, f"{where('presets')} {p.name}")
    return Config(osc, output, defaults, beats, queue_length, midi, presets, fallback_model, source,
                  oscquery=oscquery, worker=worker, models=models, input=inputs, long=long, max_batch=max_batch,
                  join_running=join_running)


_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _validate_models(table: dict, where: str, base_dir: Path) -> ModelsConfig:
    """[models]: allow_download, and name = "owner/repo" or a folder (relative to the config file)."""
    allow = table.get("allow_download", False)
    if not isinstance(allow, bool):
        raise ConfigError(f"{where} allow_download = {allow!r}: must be true or false")
    names = []
    for name, value in table.items():
        if name == "allow_download":
            continue
        if not _MODEL_NAME.match(name):
            raise ConfigError(f"{where} {name}: a model name is letters, digits, '.', '_' and '-' (what /oscgen/model sends)")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} {name} = {value!r}: must be a hub repo id (\"owner/name\") or a checkpoint folder")
        value = value.strip()
        repo_like = value.count("/") == 1 and not value.startswith((".", "/", "~")) and "\\" not in value
        if not repo_like:
            folder = Path(value).expanduser()
            value = str(folder if folder.is_absolute() else (base_dir / folder))
        names.append((name, value))
    return ModelsConfig(allow_download=allow, names=tuple(names))


def _config_dir(source: str) -> Path:
    return Path.cwd() if source == BUILTIN else Path(source).resolve().parent


def _validate_midi(table: dict, where: str) -> MidiConfig:
    """The [midi] table: ports and backend here, the mappings by oscgen.midi_map."""
    _only(table, MIDI_KEYS, where)
    api = _get(table, "api", str, f"{where} api")
    if api not in MIDI_APIS:
        raise ConfigError(f"{where} api = {api!r}: must be one of {', '.join(MIDI_APIS)}")
    try:
        mappings = parse_midi_mappings(table, prefix="midi")
    except ValueError as exc:
        raise ConfigError(f"{where.removesuffix(' [midi]').removesuffix(':')}: {exc}") from None
    return MidiConfig(
        enabled=_get(table, "enabled", bool, f"{where} enabled"),
        port=_get(table, "port", str, f"{where} port"),
        virtual=_get(table, "virtual", str, f"{where} virtual"),
        api=api,
        save_learned=_get(table, "save_learned", bool, f"{where} save_learned"),
        mappings=mappings,
    )


def _check_note_presets(midi: MidiConfig, presets: tuple[Preset, ...], source: str) -> None:
    """A pad that fires a preset which is not there would fail on stage: say so at start-up."""
    for i, note in enumerate(midi.mappings.notes):
        if note.preset is not None and note.preset >= len(presets):
            there = {0: "there are no presets", 1: "only preset 0 exists"}.get(
                len(presets), f"only presets 0-{len(presets) - 1} exist")
            raise ConfigError(f"{source}: midi.note[{i}].preset = {note.preset}: {there} (numbered from 0 "
                              "in the order [presets] lists them)")


MIDI_KEYS = ("enabled", "port", "virtual", "api", "clock", "clock_snap", "save_learned", "cc", "note", "program")
MIDI_APIS = ("auto", "alsa", "jack", "coremidi", "windows")


def _validate_presets(table: dict, where: str) -> tuple[Preset, ...]:
    presets = []
    for name, body in table.items():
        here = f"{where} {name}"
        if not isinstance(body, dict):
            raise ConfigError(f"{here} = {body!r}: must be a table like {{ prompt = \"...\", bars = 4 }}")
        _only(body, tuple(KNOBS), here)
        if "prompt" not in body:
            raise ConfigError(f"{here}: needs a prompt")
        knobs = {k: _knob(k, v, f"{here} {k}") for k, v in body.items()}
        presets.append(Preset(name=name, prompt=knobs.pop("prompt"), overrides=knobs))
    if len(presets) > 128:
        raise ConfigError(f"{where}: {len(presets)} presets; at most 128 (MIDI program changes 0-127)")
    return tuple(presets)


def _check_bars_fit(knobs: dict, beats_per_bar: int, where: str) -> None:
    if knobs["bars"] > 0:
        seconds = duration_from_bars(knobs["bars"], knobs["bpm"], beats_per_bar)
        if seconds > MAX_DURATION:
            raise ConfigError(
                f"{where}: {knobs['bars']:g} bars at {knobs['bpm']:g} bpm is {seconds:.1f} s; the longest is {MAX_DURATION:g} s"
            )


def _takes(table: dict, where) -> dict:
    """[output]'s set-ready options, each checked by oscgen.audio's own rule for it."""
    def checked(key, kind, name, scale=1.0, check=None):
        value = _get(table, key, kind, where(key))
        if kind is object and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{where(key)} = {value!r}: must be a number")
        value = value * scale if scale != 1.0 else value
        try:
            check(value) if check else Finish(**{name: value})
        except (ValueError, KeyError, IndexError) as exc:
            raise ConfigError(f"{where(key)} = {table[key]!r}: {exc}") from None
        return value

    finish = Finish(
        sample_rate=checked("sample_rate", int, "sample_rate"), normalize=checked("normalize", str, "normalize"),
        peak_db=float(checked("peak_db", object, "peak_db")), loudness_lufs=float(checked("loudness_lufs", object, "loudness_lufs")),
        fade_in=checked("fade_in_ms", object, "fade_in", 0.001), fade_out=checked("fade_out_ms", object, "fade_out", 0.001),
    )
    crossfade = checked("loop_crossfade_ms", object, None, 0.001, lambda v: Bars(1, 120, loop=True, crossfade=v))
    tempo_text = checked("tempo_text", str, None, check=lambda v: Bars(1, 120).prompt("x", v))
    return {"finish": finish, "loop_crossfade": crossfade, "tempo_text": tempo_text}
