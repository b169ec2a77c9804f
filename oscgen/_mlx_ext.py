"""oscgen's MLX extension (_mlx_ext.cpp): CPU primitives of the decode step, one op each where MLX
runs several: one query position's attention (the step's self-attention), whose work is the BLAS
shim's ``oscgen_attention_decode`` (_attention.c), and a layer norm.

Built once per source, MLX, nanobind and Python into the oscgen cache with the C++ compiler
(~15 s), from nanobind's sources: nanobind is how MLX binds its arrays, so a primitive taking
and returning ``mx.array`` must be bound with a nanobind of the same internals (pinned in
pyproject.toml) and MLX's domain (``NB_DOMAIN=mlx``).  Where anything is missing (no compiler,
no shim: ``OSCGEN_BLAS=bundled``, no AVX2) MLX's own attention runs and ``doctor`` says why.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

SOURCE = Path(__file__).with_name("_mlx_ext.cpp")
NAME = "_oscgen_mlx"
#: Why the extension is not in use ("" while it is), for ``doctor``.
MISSING = "not loaded yet"
_module = None


def ext_path() -> Path:
    """<oscgen cache>/mlx_ext/_oscgen_mlx-<hash><ext suffix> (loaded under NAME)"""
    from oscgen.cache import cache_dir

    versions = f"{metadata.version('mlx')} {metadata.version('nanobind')} {sys.version}"
    digest = hashlib.sha256(SOURCE.read_bytes() + versions.encode()).hexdigest()[:12]
    return cache_dir() / "mlx_ext" / f"{NAME}-{digest}{sysconfig.get_config_var('EXT_SUFFIX')}"


def build() -> Path:
    """The compiled extension, built now if needed (atomically, like the shim)."""
    from oscgen.cache import compile_into, compiler as find_compiler

    path = ext_path()
    if path.exists():
        return path
    import mlx.core
    import nanobind

    compiler = find_compiler("CXX", ("c++", "g++"), "C++ compiler (c++)")
    # mlx.core's folder, not mlx.__path__[0]: mlx is a namespace package, and any folder named mlx
    # on sys.path (a script's own) comes first in its path
    mlx_dir, nb_dir = Path(mlx.core.__file__).parent, Path(nanobind.source_dir()).parent
    flags = ["-std=c++20", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-DNDEBUG", "-DNB_DOMAIN=mlx",
             f"-I{mlx_dir / 'include'}", f"-I{nanobind.include_dir()}", f"-I{nb_dir / 'ext' / 'robin_map' / 'include'}",
             f"-I{sysconfig.get_paths()['include']}", str(SOURCE), str(Path(nanobind.source_dir()) / "nb_combined.cpp"),
             f"-L{mlx_dir / 'lib'}", "-lmlx", f"-Wl,-rpath,{mlx_dir / 'lib'}"]
    return compile_into(path, lambda tmp: [compiler, *flags, "-o", str(tmp)], "the MLX extension",
                        path.parent.glob(f"{NAME}-*"))


def decode_attention():
    """``decode_attention(q, kv, position, offsets, scale)`` (see _mlx_ext.cpp), or None
    (``MISSING`` says why)."""
    module = _load()
    return None if module is None else module.decode_attention


def layer_norm():
    """``layer_norm(x, weight, bias, eps)`` (see _mlx_ext.cpp), or None (``MISSING`` says why)."""
    module = _load()
    return None if module is None else module.layer_norm


def _load():
    """The extension module, built and bound on the first call; None where it cannot be."""
    global _module, MISSING
    if _module is not None or MISSING != "not loaded yet":
        return _module
    from oscgen import _blas

    try:
        if _blas.router is None:
            raise OSError(f"no BLAS shim to run it on ({_blas.ROUTER_MISSING or _blas.ACTIVE_BLAS})")
        shim = _blas.router.shim
        if not shim.oscgen_attention_supported():
            raise OSError("this CPU has no AVX2 + FMA")
        spec = importlib.util.spec_from_file_location(NAME, build())
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.bind(ctypes.cast(shim.oscgen_attention_decode, ctypes.c_void_p).value)
        _smoke(module)
    except (OSError, ImportError, TypeError, ValueError, RuntimeError) as exc:
        # TypeError: the arrays were not recognised (an MLX bound with another nanobind)
        MISSING = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return None
    _module, MISSING = module, ""
    return module


def _smoke(module) -> None:
    """One call of each op on tiny arrays, so a mismatch shows at load and not in a take's first step."""
    import mlx.core as mx

    kv = mx.ones((2, 1, 1, 8, 8))
    out = module.decode_attention(mx.ones((1, 1, 1, 8)), kv, mx.array(3, dtype=mx.int32), mx.zeros((1,), mx.int32), 1.0)
    x = mx.array([[1.0, 3.0]])
    normed = module.layer_norm(x, mx.array([2.0, 2.0]), mx.array([1.0, 1.0]), 0.0)
    if not (mx.allclose(out, mx.ones((1, 1, 1, 8))).item() and mx.allclose(normed, mx.array([[-1.0, 3.0]])).item()):
        raise RuntimeError("the MLX extension gave a wrong result on its smoke test")
