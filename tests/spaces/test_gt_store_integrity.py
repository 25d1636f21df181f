"""Broken ground-truth stores and read-only data: a corrupt store is rebuilt from the raw files
(atomically) when they are present, else a one-line error that says how to rebuild it; nothing is
ever written under the data root, even when it is writable by the process."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from penas.spaces import benchmarks as gt
from penas.spaces import paths
from penas.spaces.benchmarks import store
from penas.spaces.benchmarks.integrity import StoreCorruptError, verify_store

MACRO_JSON = "nasbench_macro/nas-bench-macro_cifar10.json"
NB301_JSON = "nb301/gt_nasbench301_subset500.json"


def _first_column(path: Path) -> str:
    return json.loads((path / "manifest.json").read_text())["columns"][0]["file"]


def _truncate(f: Path) -> None:
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])


def _object_ids(f: Path) -> None:
    # an object-dtype ids.npy (what a pickle-based writer would leave): it must never be unpickled
    np.save(f, np.array(["a", 1], dtype=object), allow_pickle=True)


BREAKAGES = {
    "deleted-column": lambda p: (p / _first_column(p)).unlink(),
    "truncated-column": lambda p: _truncate(p / _first_column(p)),
    "truncated-ids": lambda p: _truncate(p / "ids.npy"),
    "deleted-ids": lambda p: (p / "ids.npy").unlink(),
    "empty-manifest": lambda p: (p / "manifest.json").write_text(""),
    "bad-manifest": lambda p: (p / "manifest.json").write_text("{not json"),
    "manifest-without-columns": lambda p: (p / "manifest.json").write_text(
        json.dumps({"format": "penas-gt", "version": 1})),
    "object-ids": lambda p: _object_ids(p / "ids.npy"),
}


@pytest.fixture
def macro_root(tmp_path, bench_root) -> Path:
    root = tmp_path / "root"
    (root / "nasbench_macro").mkdir(parents=True)
    os.symlink(bench_root / MACRO_JSON, root / MACRO_JSON)
    return root


@pytest.mark.data
@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_broken_store_is_rebuilt_from_the_source(kind, macro_root, monkeypatch):
    b = gt.open_benchmark("nasbench_macro", macro_root)
    want = b.query("22212220", "test_acc", "cifar10")
    path = b.path
    store._cache.clear()  # a new process: nothing opened yet
    BREAKAGES[kind](path)
    with pytest.raises(StoreCorruptError, match="is corrupt|expected format"):
        verify_store(path)
    b2 = gt.open_benchmark("nasbench_macro", macro_root)
    assert b2.path == path and verify_store(path)["n_rows"] == 6561
    assert b2.query("22212220", "test_acc", "cifar10") == want
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, f"{path.name}.lock"]  # no temp dirs left


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_broken_store_without_source_is_a_one_line_error(kind, tmp_path):
    # synthetic: an imported table (no raw source under this root), so the store cannot be rebuilt
    root = tmp_path / "empty-root"
    root.mkdir()
    table = gt.BenchmarkTable("nasbench_macro", ["00000000", "11111111"],
                              {("cifar10", "test_acc"): np.array([50.0, 60.0])}, {"source": "test"})
    path = gt.import_table(table, root)
    assert path.name == "nasbench_macro-imports.gt"
    assert gt.open_benchmark("nasbench_macro", root).query("11111111", "test_acc", "cifar10") == 60.0
    store._cache.clear()
    BREAKAGES[kind](path)
    with pytest.raises(ValueError) as e:
        gt.open_benchmark("nasbench_macro", root)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    assert "corrupt" in msg or "expected format" in msg
    assert "penas-app data import nasbench_macro FILE --replace" in msg
    # merging an import into a corrupt store is refused; --replace rebuilds it
    with pytest.raises(ValueError, match="corrupt|expected format"):
        gt.import_table(table, root)
    gt.import_table(table, root, replace=True)
    assert gt.open_benchmark("nasbench_macro", root).query("00000000", "test_acc", "cifar10") == 50.0


def test_store_reader_never_unpickles(tmp_path):
    # synthetic table; the column file is replaced by a pickle-bearing object array
    p = gt.write_table(tmp_path / "t.gt", "toy", ["a", "b"], {("d", "m"): np.array([1.0, 2.0])})
    np.save(p / _first_column(p), np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(StoreCorruptError, match="object arrays are never loaded"):
        verify_store(p)
    with pytest.raises(ValueError, match="allow_pickle|Python objects"):  # refused, not unpickled
        gt.Benchmark(p).column("m", "d")


def test_cache_location_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path / "c"))
    assert paths.cache_root() == tmp_path / "c"
    assert paths.store_dir(tmp_path / "data").parent == tmp_path / "c" / "store"
    monkeypatch.delenv("PENAS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_root() == tmp_path / "xdg" / "penas"


def test_file_checksum_memo_follows_the_content(tmp_path, monkeypatch):
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path / "c"))
    f = tmp_path / "f.bin"
    f.write_bytes(b"abc")
    assert paths.file_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    assert (tmp_path / "c" / "checksums.json").is_file()
    f.write_bytes(b"abcd")  # new size/mtime: hashed again
    assert paths.file_sha256(f) == hashlib.sha256(b"abcd").hexdigest()
    assert not list((tmp_path / "c").glob(".*tmp"))


def _tree(root: Path) -> dict[str, tuple[int, int, str]]:
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[str(p.relative_to(root))] = (st.st_mode, st.st_mtime_ns, digest)
    return out


@pytest.mark.data
def test_read_only_copy_of_the_data_is_never_written(tmp_path, bench_root, monkeypatch):
    """A tiny data dir copied by content and made read-only (the process may be root, which can
    write anyway, so the check is on the contents): converting, opening and `data info` leave it
    byte- and mtime-identical (`data info` is checked the same way in tests/app)."""
    root = tmp_path / "data"
    for rel in (MACRO_JSON, NB301_JSON):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bench_root / rel, root / rel)
    for p in sorted(root.rglob("*"), reverse=True):
        os.chmod(p, stat.S_IRUSR | (stat.S_IXUSR if p.is_dir() else 0))
    os.chmod(root, stat.S_IRUSR | stat.S_IXUSR)
    before = _tree(root)
    cache = tmp_path / "cache"
    monkeypatch.setenv("PENAS_CACHE", str(cache))
    try:
        assert len(gt.open_benchmark("nasbench_macro", root)) == 6561
        assert len(gt.open_benchmark("darts", root)) > 0
        store._cache.clear()
        assert len(gt.open_benchmark("darts", root)) > 0  # reopened from the cache
        assert _tree(root) == before
        assert any(cache.rglob("manifest.json"))
    finally:
        for p in [root, *root.rglob("*")]:
            os.chmod(p, stat.S_IRWXU)
