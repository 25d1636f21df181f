"""Where penas finds benchmark data and where it keeps what it derives from it.

Two locations, never the same role:

* the **data root** (:func:`data_root`): ``$PENAS_DATA``, else the user cache dir
  (``$XDG_CACHE_HOME/penas`` or ``~/.cache/penas``). It holds the raw benchmark files in the
  layout of the public sources (``nb201/derived/nb201_table.csv``, ``nb301/yahpo/...``). It is an
  input: penas only reads it (``penas-app data download`` is the one command that adds raw files
  to it, when asked to).
* the **cache** (:func:`cache_root`): ``$PENAS_CACHE``, else the user cache dir. Converted
  ground-truth stores (``<cache>/store/<root hash>/<space>-<source hash>.gt``) and other derived
  files go here, keyed by the sha256 of the source files they were made from, so an edited source
  is converted again and two data roots never share a store.

Nothing here touches the disk at import time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

ENV_VAR = "PENAS_DATA"
CACHE_ENV_VAR = "PENAS_CACHE"


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/penas`` or ``~/.cache/penas``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "penas"


def data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``explicit`` if given, else ``$PENAS_DATA``, else the user cache dir."""
    if explicit is not None:
        return Path(explicit).expanduser().absolute()
    env = os.environ.get(ENV_VAR)
    if env:  # absolute, so a later chdir or a worker process sees the same root
        return Path(env).expanduser().absolute()
    return user_cache_dir()


def cache_root() -> Path:
    """Where derived data goes: ``$PENAS_CACHE``, else the user cache dir."""
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser().absolute()
    return user_cache_dir()


def store_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Directory of the converted ground-truth stores of the data root ``root`` (in the cache)."""
    return cache_root() / "store" / root_slug(data_root(root))


def root_slug(p: Path) -> str:
    """A short, stable name for a data root (hash of its resolved path)."""
    return hashlib.sha256(str(Path(p).resolve()).encode()).hexdigest()[:12]


# --- checksums of source files -----------------------------------------------------------------
_memo: dict[tuple[str, int, int, int], str] = {}
_MEMO_FILE = "checksums.json"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, memoised per ``(path, size, mtime, inode)`` in the process and in
    ``<cache>/checksums.json`` (so a large source is hashed once, not on every open)."""
    p = Path(path).absolute()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, st.st_ino)
    if key in _memo:
        return _memo[key]
    disk_key = f"{key[0]}|{key[1]}|{key[2]}|{key[3]}"
    disk = _read_memo()
    digest = disk.get(disk_key)
    if not isinstance(digest, str) or len(digest) != 64:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        _write_memo(disk_key, digest)
    _memo[key] = digest
    return digest


def sources_key(files: Iterable[tuple[str, str | os.PathLike[str]]]) -> str:
    """12 hex digits naming a set of source files ``(relpath, path)`` by their contents."""
    h = hashlib.sha256()
    for rel, path in sorted((str(r), p) for r, p in files):
        h.update(f"{rel}\0{file_sha256(path)}\n".encode())
    return h.hexdigest()[:12]


def _read_memo() -> dict[str, str]:
    try:
        data = json.loads((cache_root() / _MEMO_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_memo(key: str, digest: str) -> None:
    """Best effort (a read-only cache only costs re-hashing); atomic replace."""
    d = cache_root()
    try:
        d.mkdir(parents=True, exist_ok=True)
        data = _read_memo()
        data[key] = digest
        if len(data) > 4096:  # stale entries of replaced files: keep the newest ones
            data = dict(list(data.items())[-2048:])
        from .atomic_io import atomic_write_json

        atomic_write_json(d / _MEMO_FILE, data)
    except OSError:
        pass
