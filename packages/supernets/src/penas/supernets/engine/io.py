"""The engine's file writers: re-exported from :mod:`penas.spaces.atomic_io`, the one implementation."""

from penas.spaces.atomic_io import (
    PathLike,
    append_jsonl,
    atomic_dir,
    atomic_torch_save,
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)

__all__ = ["PathLike", "append_jsonl", "atomic_dir", "atomic_torch_save", "atomic_write", "atomic_write_bytes",
           "atomic_write_json", "atomic_write_text"]
