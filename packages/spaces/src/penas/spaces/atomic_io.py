"""THE atomic writers of penas: every file or folder that must never be seen half-written goes through here.

A file write goes to a temporary file in the destination's directory (same file system, so the
final ``os.replace`` is atomic), is flushed and ``fsync``-ed, then replaces the destination; on any
failure the temporary file is removed and the destination is left as it was. Readers therefore see
either the old or the new content, never a torn file, even if the writer is killed mid-write.
:func:`atomic_dir` does the same for a whole folder (a converted ground-truth store, an imported
dataset): it is built in a staging folder beside the destination and swapped into place.

It lives in the lowest package that writes files (``penas-spaces``) so that every package above
uses the same code; it imports neither torch nor numpy at import time (:func:`atomic_torch_save`
imports torch when called).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

PathLike = str | os.PathLike[str]


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` atomically with ``write(fh)`` on a binary file handle.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its parent directory is created if missing.
    write : callable
        Receives an open binary file handle (a temporary file next to ``path``) and writes the content.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return p


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Atomically replace ``path`` by ``data``."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Atomically replace ``path`` by ``text``."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: PathLike, obj: Any, *, trailing_newline: bool = False, **dumps: Any) -> Path:
    """Atomically replace ``path`` by ``json.dumps(obj, **dumps)`` (plus a newline if asked)."""
    return atomic_write_text(path, json.dumps(obj, **dumps) + ("\n" if trailing_newline else ""))


def atomic_torch_save(obj: Any, path: PathLike) -> Path:
    """Atomically ``torch.save`` ``obj`` to ``path``."""
    import torch

    return atomic_write(path, lambda fh: torch.save(obj, fh))


def append_jsonl(path: PathLike, record: dict[str, Any]) -> None:
    """Append one JSON line to ``path`` (a log: lines are appended whole, one ``write`` each)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, allow_nan=True) + "\n")


@contextlib.contextmanager
def atomic_dir(dest: PathLike) -> Iterator[Path]:
    """Build a folder in a staging folder beside ``dest``; on success swap it into place.

    Yields the staging folder. On a clean exit ``dest`` is replaced by it in one rename (an existing
    ``dest`` is moved aside first and then removed); on any error the staging folder is removed and
    ``dest`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_dir(root / "store") as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in (root / "store").iterdir())
    ['a.txt']
    """
    d = Path(dest)
    d.parent.mkdir(parents=True, exist_ok=True)
    stage = d.parent / f".{d.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        yield stage
        try:
            os.rename(stage, d)
        except OSError:
            if not d.exists():
                raise
            trash = d.parent / f".{d.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(d, trash)
            os.rename(stage, d)
            shutil.rmtree(trash, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
