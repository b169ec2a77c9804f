"""Find a MusicGen checkpoint (alias, hub repo id, local folder or the built-in tiny model), read
its config and weights, and cache converted weights so a second load skips the conversion.

A checkpoint is a folder in the transformers MusicGen layout:

    config.json                           text_encoder / audio_encoder / decoder sections
    model.safetensors                     or model-0000N-of-0000M.safetensors + model.safetensors.index.json
    spiece.model                          the T5 sentencepiece model (tokenizer*.json optional)

Weights are read with ``mx.load`` (safetensors); torch is never needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable

import mlx.core as mx

from oscgen.cache import cache_dir  # noqa: F401  (weights.cache_dir: the tiny model, conversions)
from oscgen.musicgen.aliases import KNOWN_MODELS, TINY_MODEL  # noqa: F401 (weights.KNOWN_MODELS, re-exported)


CONFIG_FILE = "config.json"
SINGLE_WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX_FILE = "model.safetensors.index.json"
SPM_FILE = "spiece.model"

#: What snapshot_download fetches: enough to run, nothing torch-only (pytorch_model.bin).
HUB_ALLOW_PATTERNS = [
    CONFIG_FILE,
    "generation_config.json",
    "*.safetensors",
    WEIGHTS_INDEX_FILE,
    SPM_FILE,
    "tokenizer*.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
]

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ModelNotFoundError(ValueError):
    """The model name is unknown, its weights cannot be found, or its folder is incomplete."""


def hf_cache_dir() -> Path:
    """Where huggingface_hub keeps downloaded repos (honours HF_HOME / HF_HUB_CACHE)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _how_to_point_at_a_folder() -> str:
    return (
        "To use weights you already have, pass the folder itself (model='/path/to/folder' in "
        "Python, --model /path/to/folder on the command line); it needs config.json, "
        "model.safetensors (or the model-0000N-of-0000M.safetensors shards and "
        "model.safetensors.index.json) and spiece.model. To try the pipeline without weights, "
        f"use model='{TINY_MODEL}' (random weights: it makes noise)."
    )


def resolve_model_dir(model: str | os.PathLike) -> Path:
    """Return the local folder holding ``model``'s checkpoint, fetching or writing it if needed.

    ``model`` is an alias (musicgen-small, musicgen-medium), ``tiny-random``, a local folder, or a
    hub repo id (``owner/name``).  Hub repos come from the huggingface_hub cache first, so an
    offline machine with cached weights works; otherwise they are downloaded.  A folder may be
    given as a Path.
    """
    model = os.fspath(model) if isinstance(model, os.PathLike) else model
    if not isinstance(model, str) or not model.strip():
        raise ModelNotFoundError(
            f"model must be a non-empty string: one of {', '.join(known_model_names())}, "
            f"a hub repo id or a local folder; got {model!r}"
        )
    model = model.strip()
    if model == TINY_MODEL:
        return tiny_model_dir()
    local = Path(model).expanduser()
    if local.is_dir():
        check_model_dir(local)
        return local
    if local.exists():
        raise ModelNotFoundError(f"model {model!r} is a file, not a checkpoint folder. {_how_to_point_at_a_folder()}")
    if model.startswith((".", "/", "~")) or local.is_absolute() or model.count("/") > 1 or "\\" in model:
        raise ModelNotFoundError(f"model folder {str(local)!r} does not exist. {_how_to_point_at_a_folder()}")
    repo_id = KNOWN_MODELS.get(model, model)
    if not _REPO_ID.match(repo_id):
        raise ModelNotFoundError(
            f"unknown model {model!r}: use one of {', '.join(known_model_names())}, a hub repo id "
            f"(owner/name) or a local folder. {_how_to_point_at_a_folder()}"
        )
    return _hub_snapshot(repo_id)


def known_model_names() -> list[str]:
    return [*KNOWN_MODELS, TINY_MODEL]


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    cached = cached_hub_snapshot(repo_id)
    if cached is not None:
        return cached
    try:
        path = Path(snapshot_download(repo_id, allow_patterns=HUB_ALLOW_PATTERNS))
    except Exception as exc:  # offline, no such repo, gated, network down: all mean "not here"
        raise ModelNotFoundError(
            f"cannot get the weights of hub repo {repo_id!r}: nothing usable is cached in "
            f"{hf_cache_dir()} and the hub could not provide it ({_reason(exc)}). "
            f"{_how_to_point_at_a_folder()}"
        ) from exc
    check_model_dir(path, source=f"hub repo {repo_id!r}")
    return path


def _reason(exc: Exception) -> str:
    """An exception as one short clause: its type and the first line of its message."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0].rstrip('.')}" if text else type(exc).__name__


def cached_hub_snapshot(repo_id: str) -> Path | None:
    """The complete cached snapshot of ``repo_id`` in the HF cache, or None (never touches the network)."""
    from huggingface_hub import snapshot_download

    try:
        path = Path(snapshot_download(repo_id, allow_patterns=HUB_ALLOW_PATTERNS, local_files_only=True))
        check_model_dir(path)
    except Exception:  # not cached, or cached only in part: fall through to a download
        return None
    return path


def fetch(model: str, to: str | os.PathLike | None = None) -> Path:
    """Download ``model`` (alias or hub repo id) into the HF cache, asking the hub even when a copy
    is cached (to pick up a newer revision); with ``to``, also copy it into ``to/<name>`` as a plain
    folder that can be carried to an offline machine.  Returns the folder to pass as ``model``."""
    import shutil

    from huggingface_hub import snapshot_download

    if model == TINY_MODEL:
        source = tiny_model_dir()
    else:
        repo_id = KNOWN_MODELS.get(model, model)
        if not _REPO_ID.match(repo_id):
            raise ModelNotFoundError(f"cannot fetch {model!r}: give one of {', '.join(KNOWN_MODELS)} or a hub repo id (owner/name)")
        try:
            source = Path(snapshot_download(repo_id, allow_patterns=HUB_ALLOW_PATTERNS))
        except Exception as exc:  # offline, unknown repo, gated
            raise ModelNotFoundError(
                f"cannot download hub repo {repo_id!r} into {hf_cache_dir()} ({_reason(exc)}). On a "
                "machine without network, copy a folder fetched elsewhere (oscgen fetch MODEL --to DIR) "
                "and pass it as --model /path/to/folder."
            ) from exc
        check_model_dir(source, source=f"hub repo {repo_id!r}")
    if to is None:
        return source
    dest = Path(to).expanduser() / (model.replace("/", "--"))
    shutil.copytree(source, dest, dirs_exist_ok=True)  # follows the cache's symlinks: real files
    check_model_dir(dest)
    return dest


def tiny_model_dir() -> Path:
    """The built-in tiny random model's folder in the oscgen cache, written on first use."""
    from oscgen.musicgen import tiny

    return tiny.ensure_tiny_model(cache_dir() / "models" / TINY_MODEL)


def weight_files(model_dir: Path) -> list[Path]:
    """The safetensors files of a checkpoint, checked to exist (single file or every shard)."""
    model_dir = Path(model_dir)
    index = model_dir / WEIGHTS_INDEX_FILE
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelNotFoundError(f"{index} is not a valid safetensors index (needs a 'weight_map'): {exc}") from exc
        shards = sorted(set(weight_map.values()))
        missing = [name for name in shards if not (model_dir / name).is_file()]
        if missing:
            raise ModelNotFoundError(
                f"checkpoint {model_dir} is incomplete: {index.name} lists shard(s) "
                f"{', '.join(missing)} which are missing from the folder"
            )
        return [model_dir / name for name in shards]
    single = model_dir / SINGLE_WEIGHTS_FILE
    if single.is_file():
        return [single]
    others = sorted(p.name for p in model_dir.glob("*.bin")) + sorted(p.name for p in model_dir.glob("*.pt*"))
    hint = f" (found {', '.join(others)}: torch weights are not read; convert them to safetensors)" if others else ""
    raise ModelNotFoundError(
        f"checkpoint {model_dir} has no weights: expected {SINGLE_WEIGHTS_FILE} or "
        f"{WEIGHTS_INDEX_FILE} with its model-0000N-of-0000M.safetensors shards{hint}"
    )


def check_model_dir(model_dir: Path, source: str | None = None) -> None:
    """Raise ModelNotFoundError naming the first missing or broken file of a checkpoint folder."""
    model_dir = Path(model_dir)
    where = f"{source} ({model_dir})" if source else str(model_dir)
    config = model_dir / CONFIG_FILE
    if not config.is_file():
        raise ModelNotFoundError(f"checkpoint {where} has no {CONFIG_FILE}. {_how_to_point_at_a_folder()}")
    load_config(model_dir)
    weight_files(model_dir)
    if not (model_dir / SPM_FILE).is_file():
        raise ModelNotFoundError(
            f"checkpoint {where} has no {SPM_FILE} (the T5 sentencepiece tokenizer model); "
            "copy it from the t5-base tokenizer or the musicgen hub repo"
        )


def load_config(model_dir: Path) -> dict:
    """The checkpoint's config.json as a dict, checked for MusicGen's three sections."""
    path = Path(model_dir) / CONFIG_FILE
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelNotFoundError(f"checkpoint {model_dir} has no {CONFIG_FILE}") from exc
    except ValueError as exc:
        raise ModelNotFoundError(f"{path} is not valid JSON: {exc}") from exc
    missing = [key for key in ("text_encoder", "audio_encoder", "decoder") if not isinstance(config.get(key), dict)]
    if missing:
        raise ModelNotFoundError(
            f"{path} is not a MusicGen config (model_type musicgen): missing section(s) {', '.join(missing)}"
        )
    return config


def load_weights(model_dir: Path) -> dict[str, mx.array]:
    """Every tensor of the checkpoint under its transformers name (single file or shards)."""
    model_dir = Path(model_dir)
    weights: dict[str, mx.array] = {}
    for path in weight_files(model_dir):
        try:
            weights.update(mx.load(str(path)))
        except Exception as exc:  # truncated download, not a safetensors file
            raise ModelNotFoundError(f"cannot read weights file {path}: {exc}") from exc
    index = model_dir / WEIGHTS_INDEX_FILE
    if index.is_file():
        weight_map = json.loads(index.read_text())["weight_map"]
        absent = sorted(set(weight_map) - set(weights))
        if absent:
            raise ModelNotFoundError(
                f"checkpoint {model_dir} is inconsistent: {len(absent)} tensor(s) listed in {index.name} "
                f"are in none of the shards (first: {absent[0]} in {weight_map[absent[0]]})"
            )
    return weights


def _source_fingerprint(model_dir: Path, tag: str) -> str:
    """Names, sizes and mtimes of the files a conversion reads (cheap: no hashing of contents)."""
    model_dir = Path(model_dir)
    parts = [f"tag={tag}"]
    for path in sorted([model_dir / CONFIG_FILE, *weight_files(model_dir)]):
        stat = path.stat()  # follows the HF cache's snapshot symlinks to the blobs
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def converted_cache_path(model_dir: Path, tag: str) -> Path:
    """One file per (checkpoint folder, tag): a new source overwrites it rather than piling up."""
    folder_key = hashlib.sha256(str(Path(model_dir).resolve()).encode()).hexdigest()[:16]
    safe_tag = re.sub(r"[^\w.-]", "_", tag)
    return cache_dir() / "converted" / f"{safe_tag}-{folder_key}.safetensors"


def cached_conversion(
    model_dir: Path, tag: str, convert: Callable[[], dict[str, mx.array]]
) -> dict[str, mx.array]:
    """``convert()``'s result, cached as one safetensors file in the oscgen cache.

    The cache entry is keyed by the source files (names, sizes, mtimes) and ``tag`` (bump the tag
    when the conversion changes), so a second load reads the converted file and skips ``convert``.
    The file is written under a temporary name and renamed, so a crash never leaves half a cache.
    """
    path = converted_cache_path(model_dir, tag)
    fingerprint = _source_fingerprint(model_dir, tag)
    if path.is_file():
        try:
            weights, metadata = mx.load(str(path), return_metadata=True)
            if metadata.get("oscgen_fingerprint") == fingerprint:
                return weights
        except Exception:  # unreadable cache entry: convert again and overwrite it
            pass
    weights = convert()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.safetensors")
        metadata = {"oscgen_fingerprint": fingerprint, "oscgen_tag": tag, "source": str(model_dir)}
        write_safetensors(tmp, weights, metadata)
        os.replace(tmp, path)
    except OSError:  # a read-only or full cache only costs speed, never the load
        try:
            tmp.unlink()
        except (OSError, UnboundLocalError):
            pass
        return convert()  # the writer consumed ``weights``; converting again is lazy (reads nothing)
    # Lazy again, like a cache hit: the caller decides when (and in which dtype) each tensor is
    # read, so a float16 load never holds the float32 conversion in memory.
    return mx.load(str(path))


_SAFETENSORS_DTYPES = {
    mx.float32: "F32", mx.float16: "F16", mx.bfloat16: "BF16", mx.float64: "F64",
    mx.int8: "I8", mx.int16: "I16", mx.int32: "I32", mx.int64: "I64",
    mx.uint8: "U8", mx.uint16: "U16", mx.uint32: "U32", mx.uint64: "U64", mx.bool_: "BOOL",
}


def write_safetensors(path: Path, arrays: dict[str, mx.array], metadata: dict[str, str]) -> None:
    """Write ``arrays`` as a safetensors file, evaluating one tensor at a time and removing it
    from ``arrays`` once written (the dict is empty afterwards).

    ``mx.save_safetensors`` evaluates every tensor and the dict keeps them all alive, so
    converting musicgen-small would hold its whole float32 conversion (2.2 GB) at once; here
    the peak is one tensor plus whatever its lazy graph still shares with the unwritten ones.
    """
    names = sorted(arrays)
    header: dict = {"__metadata__": metadata}
    offset = 0
    for name in names:
        array = arrays[name]
        if array.dtype not in _SAFETENSORS_DTYPES:
            raise ValueError(f"cannot write {name}: dtype {array.dtype} has no safetensors name")
        header[name] = {"dtype": _SAFETENSORS_DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format allows space padding; keeps tensors 8-aligned
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for name in names:
            array = mx.contiguous(arrays.pop(name))  # views (transposes) are written row-major
            mx.eval(array)
            f.write(memoryview(array))
            del array


def eval_in_groups(arrays: list[mx.array], group_bytes: int = 16 << 20) -> None:
    """Evaluate ``arrays`` a group of about ``group_bytes`` (of results) at a time.

    For lazily cast or quantized weights this bounds what is read at once: a group's float32
    sources are freed as soon as its results exist (when nothing else refers to them), so the
    peak is the results so far plus one group's sources, not the whole float32 model."""
    group, size = [], 0
    for array in arrays:
        group.append(array)
        size += array.nbytes
        if size >= group_bytes:
            mx.eval(group)
            group, size = [], 0
    mx.eval(group)


def is_random_weights(model_dir: Path) -> bool:
    """True for checkpoints written by oscgen's tiny writer (random weights: output is noise)."""
    from oscgen.musicgen.tiny import MARKER_FILE

    return (Path(model_dir) / MARKER_FILE).is_file()
