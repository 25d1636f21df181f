"""A restricted unpickler for the CIFAR python batches: data, never code.

The official ``cifar-10-batches-py`` / ``cifar-100-python`` files are pickles of a ``dict``
holding lists, byte strings and one numpy ``uint8`` array. A pickle can name any importable
callable, so :func:`pickle.load` on a user's file runs whatever the file asks for. Here
:meth:`SafeUnpickler.find_class` admits only the globals that format needs:

* numpy array reconstruction: ``numpy.core.multiarray._reconstruct`` (protocols 2-4),
  ``numpy.core.numeric._frombuffer`` (protocol 5), ``numpy.ndarray``, ``numpy.dtype`` and
  ``numpy.core.multiarray.scalar`` (numpy scalars in a label list), under both the numpy 1
  (``numpy.core``) and numpy 2 (``numpy._core``) module names;
* ``_codecs.encode`` as written by Python 3 at protocol 2 for ``bytes``, restricted to the
  ``latin1`` codec;
* builtin containers and scalars (``list``, ``dict``, ``tuple``, ``set``, ``frozenset``,
  ``bytearray``, ``bytes``, ``str``, ``int``, ``float``, ``bool``, ``complex``).

Everything else raises :class:`UnsafePickleError` with one line naming the file and the
refused global, before anything is called.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

_NUMPY_NAMES = {
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
    "numpy": {"ndarray", "dtype"},
}
_BUILTINS = {"list", "dict", "tuple", "set", "frozenset", "bytearray", "bytes", "str", "int", "float", "bool",
             "complex"}


class UnsafePickleError(ValueError):
    """A pickle names a global outside the CIFAR batch format (one-line message naming the file)."""


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3 writes it for ``bytes`` at protocol 2 (latin1 only)."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class SafeUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only the allow-listed globals of the CIFAR format."""

    def __init__(self, file: io.BufferedIOBase, name: str, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.name = name

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _BUILTINS:
            import builtins

            return getattr(builtins, name)
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        if name in _NUMPY_NAMES.get(module, ()):
            return _numpy_global(module, name)
        raise UnsafePickleError(
            f"{self.name}: refused to load the global {module}.{name} (a CIFAR python batch holds only "
            "numpy arrays, lists, dicts and strings; the file is not used)")


def _numpy_global(module: str, name: str) -> Any:
    import importlib

    import numpy as np

    if module == "numpy":
        return getattr(np, name)
    other = module.replace("numpy._core", "numpy.core") if "._core" in module else module.replace("numpy.core", "numpy._core")
    for m in (module, other):  # numpy 1 pickles name numpy.core, numpy 2 numpy._core
        try:
            return getattr(importlib.import_module(m), name)
        except (ImportError, AttributeError):
            continue
    raise UnsafePickleError(f"{module}.{name} is not available in this numpy")  # pragma: no cover


def safe_load(path: str | os.PathLike[str], *, encoding: str = "bytes", name: str | None = None,
              data: bytes | None = None) -> Any:
    """The object pickled in ``path`` (or in ``data``, reported as ``name``), through :class:`SafeUnpickler`.

    Raises :class:`UnsafePickleError` for a refused global and ``ValueError`` (one line naming
    the file) for a file that is not a readable pickle.
    """
    label = name or str(path)
    try:
        raw = Path(path).read_bytes() if data is None else data
    except OSError as e:
        raise ValueError(f"{label}: cannot read ({e.strerror or type(e).__name__})") from None
    try:
        return SafeUnpickler(io.BytesIO(raw), label, encoding=encoding).load()
    except UnsafePickleError:
        raise
    except Exception as e:  # noqa: BLE001  (a truncated or foreign file -> one line)
        raise ValueError(f"{label}: not a readable pickle ({type(e).__name__})") from None
