"""The image-data commands through the real entry point: a malicious CIFAR batch through
``retrain --data`` and ``zero-shot --data cifar10:DIR``, small training sets under both zero-cost
protocols, and ``data import|info|download cifar10`` (download from a local HTTP server).

Tiny CIFAR-shaped datasets with seeded random pixels are built in the tests: what is checked is the
file handling and the protocol arithmetic, which do not depend on the pixels.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

GENOTYPE = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"]
FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def batch_bytes(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"labels": [int(v) for v in rng.integers(0, 10, n)]}, protocol=2)


def cifar_dir(root: Path, per_batch: int = 20, n_test: int = 10) -> Path:
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    for i, f in enumerate(FILES):
        (d / f).write_bytes(batch_bytes(n_test if f == "test_batch" else per_batch, i))
    return root


class _Touch:
    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.fixture
def evil_dir(tmp_path: Path) -> tuple[Path, Path]:
    root = cifar_dir(tmp_path / "evil")
    marker = tmp_path / "pwned"
    (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(
        pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1], b"payload": _Touch(marker)}))
    return root, marker


def _one_line_refusal(code: int, err: str, marker: Path) -> None:
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "data_batch_1" in err and "refused to load the global" in err
    assert not marker.exists()


def test_malicious_batch_through_the_api(evil_dir):
    from penas.estimators.data import cifar10_arrays
    from penas.spaces.datasets import UnsafePickleError

    root, marker = evil_dir
    with pytest.raises(UnsafePickleError):
        cifar10_arrays(root)
    assert not marker.exists()


def test_malicious_batch_through_retrain(evil_dir, tmp_path, cli):
    root, marker = evil_dir
    code, _, err = cli("retrain", "darts", "--genotype", GENOTYPE, "--data", str(root), "--out",
                       str(tmp_path / "run"), "--epochs", "1", "--batch-size", "4", "--init-channels", "4",
                       "--layers", "3", "--quiet")
    _one_line_refusal(code, err, marker)
    assert err.startswith("error: --data")


def test_malicious_batch_through_zero_shot(evil_dir, tmp_path, cli):
    root, marker = evil_dir
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(ARCHS) + "\n")
    code, _, err = cli("zero-shot", "nb201", "--store", str(tmp_path / "s.db"), "--archs", str(archs),
                       "--data", f"cifar10:{root}", "--proxies", "synflow", "--seeds", "20", "--batches", "1",
                       "--batch-size", "4", "--no-progress")
    _one_line_refusal(code, err, marker)


def test_zero_shot_on_a_small_training_set(tmp_path, cli):
    # 100 training images (far fewer than aw_nas's 40,000): batches come from the held-out last 20%.
    root = cifar_dir(tmp_path / "c")
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(ARCHS) + "\n")
    common = ["zero-shot", "nb201", "--archs", str(archs), "--data", f"cifar10:{root}", "--proxies", "synflow",
              "--seeds", "20", "--no-progress"]
    code, out, err = cli(*common, "--store", str(tmp_path / "a.db"), "--batches", "1,5", "--batch-size", "4")
    assert code == 0, err
    assert "cifar10-train:None:80" in out and "synthetic" not in out.lower()
    code, _, err = cli(*common, "--store", str(tmp_path / "b.db"), "--batches", "1,5", "--batch-size", "8")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "held-out last 20%" in err and "20 held-out images of 100" in err


def test_zero_cost_nas_protocol_draws_one_seeded_training_batch_per_seed(tmp_path):
    from penas.estimators.zero_cost import PROTOCOLS, resolve_batches

    root = cifar_dir(tmp_path / "c")
    zc = PROTOCOLS["zero-cost-nas"]
    a = resolve_batches(f"cifar10:{root}", zc, 1, 64, (3, 32, 32), 10, seed=1)[0]
    b = resolve_batches(f"cifar10:{root}", zc, 1, 64, (3, 32, 32), 10, seed=1)[0]
    c = resolve_batches(f"cifar10:{root}", zc, 1, 64, (3, 32, 32), 10, seed=2)[0]
    assert a.size == 64 and a.fingerprint == b.fingerprint != c.fingerprint
    assert a.source.startswith("cifar10-train:1:0|aug") and not a.synthetic
    with pytest.raises(ValueError, match="takes 2 batch"):
        resolve_batches(f"cifar10:{root}", zc, 2, 64, (3, 32, 32), 10, seed=1)


def test_aw_nas_protocol_takes_the_held_out_tail_of_any_training_set(tmp_path):
    from penas.estimators.zero_cost import PROTOCOLS, resolve_batches

    root = cifar_dir(tmp_path / "c")  # 100 training images: the tail is images 80..99
    bs = resolve_batches(f"cifar10:{root}", PROTOCOLS["aw_nas"], 5, 4, (3, 32, 32), 10)
    assert [b.source for b in bs] == [f"cifar10-train:None:{80 + 4 * i}" for i in range(5)]
    assert len({b.fingerprint for b in bs}) == 5
    with pytest.raises(ValueError, match="20 held-out images of 100"):
        resolve_batches(f"cifar10:{root}", PROTOCOLS["aw_nas"], 3, 8, (3, 32, 32), 10)


def test_zero_cost_estimator_defaults_to_shared_cifar10(bench_root):
    if not (bench_root / "cifar10" / "train_images.npy").is_file():
        pytest.skip(f"the shared data has no CIFAR-10 ({bench_root / 'cifar10'})")
    from penas.estimators.zero_cost import ZeroCostEstimator
    from penas.spaces import get_space

    est = ZeroCostEstimator(get_space("nb201"), proxy="synflow", batch_size=8)
    cfg = est.config()
    assert cfg["data_source"] == "cifar10-train:42:0|aug" and len(cfg["data_fingerprint"]) == 64


# --- data import | info | download cifar10 -----------------------------------------------------------
def test_data_import_and_info(tmp_path, cli):
    src = cifar_dir(tmp_path / "src")
    root = tmp_path / "root"
    code, out, err = cli("data", "import", "cifar10", str(src), "--root", str(root))
    assert code == 0, err
    assert "imported cifar10 (train 100, test 10)" in out
    assert sorted(p.name for p in (root / "cifar10").iterdir()) == [
        "manifest.json", "test_images.npy", "test_labels.npy", "train_images.npy", "train_labels.npy"]
    code, out, err = cli("data", "info", "cifar10", "--root", str(root))
    assert code == 0, err
    assert "npy layout" in out and "train 100, test 10" in out and "imported from: pickle:" in out
    digest = hashlib.sha256((root / "cifar10" / "train_images.npy").read_bytes()).hexdigest()
    assert f"sha256 train_images.npy: {digest}" in out
    code, _, err = cli("data", "import", "cifar10", str(src), "--root", str(root))
    assert code == 2 and "--replace" in err and len(err.strip().splitlines()) == 1
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, _, err = cli("data", "import", "cifar10", str(src), "--root", str(ro))
    finally:
        ro.chmod(0o755)
    assert code == 2 and "read-only" in err and not (ro / "cifar10").exists()
    code, _, err = cli("data", "info", "cifar10", "--root", str(tmp_path / "none"))
    assert code == 2 and "penas-app data download cifar10" in err


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def test_data_download_cifar10_from_a_local_server(tmp_path, cli, monkeypatch):
    from penas.spaces.datasets import manage

    served = tmp_path / "mirror"
    served.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for i, f in enumerate(FILES):
            data = batch_bytes(10 if f == "test_batch" else 20, i)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{f}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    (served / "cifar-10-python.tar.gz").write_bytes(buf.getvalue())
    official = manage.OFFICIAL["cifar10"]
    assert official.md5 == "c58f30108f718f92721af3b95e74349a"  # the published md5 of the real archive
    # the tiny archive cannot have the official md5: check against its own instead
    monkeypatch.setitem(manage.OFFICIAL, "cifar10", manage.Tarball(official.url, hashlib.md5(buf.getvalue()).hexdigest(),
                                                                   official.filename))
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path / "cache"))
    handler = functools.partial(_QuietHandler, directory=str(served))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    mirror = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        root = tmp_path / "root"
        code, out, err = cli("data", "download", "cifar10", "--root", str(root), "--mirror", mirror)
        assert code == 0, err
        assert "downloaded cifar10 (md5 checked; train 100, test 10)" in out
        assert not any(p.suffix == ".gz" for p in root.rglob("*"))  # the archive stays in the cache
        code, out, _ = cli("data", "download", "cifar10", "--root", str(root), "--mirror", mirror)
        assert code == 0 and "already present" in out
        monkeypatch.setitem(manage.OFFICIAL, "cifar10", official)  # a mirror serving other bytes
        code, _, err = cli("data", "download", "cifar10", "--root", str(tmp_path / "r2"), "--mirror", mirror,
                           "--force")
        assert code == 2 and "md5 of" in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "r2" / "cifar10").exists()
    finally:
        srv.shutdown()
