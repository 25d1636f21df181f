"""Where penas finds benchmark data.

``PENAS_DATA`` names the data root. It may hold the raw benchmark files in the layout of
the public sources (``nb201/derived/nb201_table.csv``, ``nasbench_macro/...json``, ...) and
the converted stores penas writes under ``<root>/store``. Without ``PENAS_DATA`` the root
is the user cache dir (``$XDG_CACHE_HOME/penas`` or ``~/.cache/penas``). Nothing here
touches the disk at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "PENAS_DATA"


def user_cache_dir() -> Path:
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


def store_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Directory of converted ground-truth stores. Falls back to the user cache when
    the data root is read-only (e.g. a shared, read-only benchmark folder)."""
    r = data_root(root)
    d = r / "store"
    if _writable(d):
        return d
    return user_cache_dir() / "store" / _slug(r)


def _writable(d: Path) -> bool:
    p = d
    while not p.exists():
        if p.parent == p:
            return False
        p = p.parent
    # os.access is always true for root; also require a write permission bit so that a
    # folder shipped read-only (e.g. a shared benchmark copy) is never written into.
    return os.access(p, os.W_OK) and bool(p.stat().st_mode & 0o222)


def _slug(p: Path) -> str:
    import hashlib

    return hashlib.sha256(str(p.resolve()).encode()).hexdigest()[:12]
