"""Shared test fixtures.

Real benchmark data is found through ``PENAS_DATA`` or, when present, ``../shared/benchmarks``
beside the repository. Tests that need it take the ``bench_root`` fixture and are skipped
(with the reason) when neither exists. Data is never copied into the repository.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_bench_root() -> Path | None:
    env = os.environ.get("PENAS_DATA")
    if env and Path(env).is_dir():
        return Path(env).absolute()  # tests change directory and start subprocesses
    shared = REPO.parent / "shared" / "benchmarks"
    return shared if shared.is_dir() else None


@pytest.fixture(scope="session")
def bench_root() -> Path:
    root = find_bench_root()
    if root is None:
        pytest.skip("benchmark data not found: set PENAS_DATA or provide ../shared/benchmarks")
    return root


@pytest.fixture
def real_cifar(bench_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The benchmark root with real CIFAR-10 (``.npy``) under it, as ``PENAS_DATA``; skips without it."""
    if not (bench_root / "cifar10" / "train_images.npy").is_file():
        pytest.skip("real CIFAR-10 (.npy) not found under the shared benchmarks")
    monkeypatch.setenv("PENAS_DATA", str(bench_root))
    return bench_root


@pytest.fixture(scope="session")
def bench_module():
    """``load(name)``: import the ``tools/bench/<name>.py`` script as a module."""
    import importlib

    bench = str(REPO / "tools" / "bench")

    def load(name: str):
        sys.path.insert(0, bench)
        try:
            return importlib.import_module(name)
        finally:
            sys.path.remove(bench)

    return load


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every file and directory under ``root``."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size if not p.is_dir() else 0, st.st_mtime_ns)
    return out


@pytest.fixture(scope="session", autouse=True)
def _data_dir_unchanged():
    """The data directory is an input: the whole suite must leave every file under it as it was
    (names, sizes, mtimes). Checked once, after the last test of the session."""
    root = find_bench_root()
    before = tree_state(root) if root is not None else None
    yield
    if root is not None:
        after = tree_state(root)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert not changed, f"the test suite changed files under the data dir {root}: {changed[:10]}"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Point the user cache and PENAS_CACHE at per-session temp dirs so tests never write to $HOME."""
    cache = tmp_path_factory.getbasetemp() / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path_factory.getbasetemp() / "penas-cache"))
    env = os.environ.get("PENAS_DATA")
    if env and not Path(env).is_absolute():
        monkeypatch.setenv("PENAS_DATA", str(Path(env).absolute()))
    if "PENAS_DATA" not in os.environ:
        root = find_bench_root()
        if root is not None:
            monkeypatch.setenv("PENAS_DATA", str(root))


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """A test may pin torch's thread count; restore it so no later test depends on the order."""
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None and threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@pytest.fixture
def one_torch_thread():
    """Pin torch to one thread for the test, as every process-pool worker is: reductions then give
    bit-equal results in this process and in the workers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
