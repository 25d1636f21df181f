"""`penas-app data list|info|import|download` through the real entry point (``penas.app.cli.main``)."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from penas.spaces.benchmarks import surrogates as surrogate_mod

MACRO_JSON = "nasbench_macro/nas-bench-macro_cifar10.json"


@pytest.mark.data
def test_data_list_shows_sources(cli, bench_root):
    code, out, _ = cli("data", "list", "--root", str(bench_root))
    assert code == 0
    for space in ("nb201", "nasbench_macro", "darts", "nb101"):
        assert space in out
    assert "yes" in out


@pytest.mark.data
def test_data_info_nb201(cli, bench_root):
    code, out, _ = cli("data", "info", "nb201", "--root", str(bench_root))
    assert code == 0
    assert "15625 rows" in out
    assert "cifar10-valid" in out and "latency_<device> (27 devices)" in out
    line = next(x for x in out.splitlines() if x.startswith("best test_acc on cifar10:"))
    assert "94.3733" in line and line.rstrip().endswith(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")


def test_data_errors_are_one_line_exit_2(cli, tmp_path):
    code, _, err = cli("data", "info", "nonesuch", "--root", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: space: no benchmark store for 'nonesuch'")
    code, _, err = cli("data", "info", "nb201", "--root", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "penas-app data download nb201" in err
    code, _, err = cli("data", "download", "nonesuch", "--root", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "unknown benchmark source 'nonesuch'" in err
    code, _, err = cli("data", "import", "nb201", str(tmp_path / "missing.csv"), "--root", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


def test_data_import_merges_and_info_reads_it(cli, tmp_path):
    f1 = tmp_path / "a.csv"
    f1.write_text("arch_id,cifar10:test_acc,cifar10:params\nx,91.0,100\ny,92.5,200\n")
    root = tmp_path / "root"
    code, out, err = cli("data", "import", "toy", str(f1), "--root", str(root))
    assert code == 0, err
    assert "imported 2 rows, 2 columns (csv)" in out
    f2 = tmp_path / "b.json"
    f2.write_text(json.dumps({"arch_ids": ["y", "z"], "columns": {"cifar100:test_acc": [70.0, 71.0]}}))
    code, out, err = cli("data", "import", "toy", str(f2), "--root", str(root))
    assert code == 0, err
    code, out, _ = cli("data", "info", "toy", "--root", str(root))
    assert code == 0 and "3 rows" in out
    assert "best test_acc on cifar10: 92.5000  y" in out and "best test_acc on cifar100: 71.0000  z" in out
    code, _, err = cli("data", "import", "toy", str(f1), "--kind", "macro", "--root", str(root))
    assert code == 2 and "--kind macro holds 'nasbench_macro' data" in err
    code, _, err = cli("data", "import", "toy", str(f1), "--kind", "bogus", "--root", str(root))
    assert code == 2 and "unknown benchmark importer 'bogus'" in err


def test_data_import_nb201_official_needs_extra(cli, tmp_path, monkeypatch):
    import sys

    for mod in ("nats_bench", "nas_201_api"):
        monkeypatch.setitem(sys.modules, mod, None)
    f = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    f.write_bytes(b"\x80")
    code, _, err = cli("data", "import", "nb201", str(f), "--root", str(tmp_path))
    assert code == 2 and err.strip().endswith("pip install 'penas-spaces[nb201]'") and err.count("\n") == 1


def test_data_download_offline_is_a_clean_error(cli, tmp_path):
    code, _, err = cli("data", "download", "nasbench_macro", "--root", str(tmp_path),
                       "--mirror", "http://127.0.0.1:9/", "--timeout", "5")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: cannot reach http://127.0.0.1:9/nasbench_macro/")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.mark.data
def test_data_download_from_mirror_then_info(cli, tmp_path, bench_root):
    served = tmp_path / "mirror"
    (served / "nasbench_macro").mkdir(parents=True)
    os.symlink(bench_root / MACRO_JSON, served / MACRO_JSON)
    handler = functools.partial(_QuietHandler, directory=str(served))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        root = tmp_path / "root"
        code, out, err = cli("data", "download", "nasbench_macro", "--root", str(root),
                             "--mirror", f"http://127.0.0.1:{srv.server_address[1]}")
        assert code == 0, err
        assert (root / MACRO_JSON).read_bytes() == (bench_root / MACRO_JSON).read_bytes()
        assert "downloaded 1 files" in out
        code, out, err = cli("data", "download", "nasbench_macro", "--root", str(root),
                             "--mirror", f"http://127.0.0.1:{srv.server_address[1]}")
        assert code == 0 and "already present" in out and "nothing downloaded" in out, out + err
        code, out, _ = cli("data", "info", "nasbench_macro", "--root", str(root))
        assert code == 0 and "6561 rows" in out and "93.1267" in out
        # a tampered mirror fails the sha256 check and leaves no file behind
        (served / MACRO_JSON).unlink()
        (served / MACRO_JSON).write_text("{}")
        code, _, err = cli("data", "download", "nasbench_macro", "--root", str(tmp_path / "r2"),
                           "--mirror", f"http://127.0.0.1:{srv.server_address[1]}")
        assert code == 2 and "sha256 of" in err and err.count("\n") == 1
        assert not Path(tmp_path / "r2" / MACRO_JSON).exists()
    finally:
        srv.shutdown()
        srv.server_close()


# --- darts: the NB301 sample table and the NB301 surrogate GT (`data info darts`, `data import nb301-yahpo`) ---
NB301_SHA = "3c6a6fb3a70998bf6c55883bdc5cc71cff190e1859468d72cc6960b88f06d280"


@pytest.fixture
def yahpo_dir(bench_root):
    d = bench_root / "nb301" / "yahpo"
    if not (d / "nb301" / "model.onnx").is_file():
        pytest.skip("no nb301/yahpo/nb301/model.onnx under the data root")
    return d


@pytest.mark.data
def test_data_info_darts_names_both_gts_and_locations(cli, bench_root, yahpo_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path / "cache"))
    code, out, err = cli("data", "info", "darts", "--root", str(bench_root))
    assert code == 0, err
    assert "500 rows" in out and f"data root (read only): {bench_root}" in out
    assert f"cache (derived stores): {tmp_path / 'cache'}" in out and str(tmp_path / "cache" / "store") in out
    assert f"surrogate GT nb301-yahpo: {yahpo_dir / 'nb301' / 'model.onnx'} (sha256 {NB301_SHA})" in out


@pytest.mark.data
def test_data_import_nb301_yahpo(cli, yahpo_dir, tmp_path):
    root = tmp_path / "root"
    code, out, err = cli("data", "import", "nb301-yahpo", str(yahpo_dir), "--root", str(root))
    assert code == 0, err
    assert out.startswith("imported nb301-yahpo surrogate") and NB301_SHA in out
    assert sorted(p.name for p in (root / "nb301" / "yahpo" / "nb301").iterdir()) == \
        ["config_space.json", "encoding.json", "model.onnx"]
    assert sorted(p.name for p in (root / "nb301" / "yahpo").iterdir()) == ["nb301"]  # no temp dirs left
    code, out, _ = cli("data", "import", "nb301-yahpo", str(yahpo_dir / "nb301"), "--root", str(root))
    assert code == 0 and out.startswith("already present")
    surrogate_mod._opened.clear()
    code, out, _ = cli("data", "info", "darts", "--root", str(root))  # surrogate only, no sample table
    assert code == 0 and f"(sha256 {NB301_SHA})" in out and "no measured table" in out


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime not installed")
def test_data_import_nb301_yahpo_bad_inputs(cli, tmp_path):
    # synthetic stand-in files: a foreign model must be refused before anything is copied
    src = tmp_path / "src" / "nb301"
    src.mkdir(parents=True)
    for f in ("encoding.json", "config_space.json"):
        shutil.copyfile(__file__, src / f)
    (src / "model.onnx").write_bytes(b"not a model")
    root = tmp_path / "root"
    for argv, msg in [((str(tmp_path / "nope"),), "is not a directory"),
                      ((str(tmp_path),), "holds no nb301-yahpo surrogate"),
                      ((str(src),), "is not a JSON encoding file")]:
        code, out, err = cli("data", "import", "nb301-yahpo", *argv, "--root", str(root))
        assert code == 2 and err.count("\n") == 1 and msg in err and "Traceback" not in err
    assert not root.exists()


def test_data_list_and_info_report_a_corrupt_store(cli, tmp_path, monkeypatch):
    # synthetic: a store made by importing a tiny CSV (no raw source), then its manifest emptied
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "root"
    root.mkdir()
    f = tmp_path / "t.csv"
    f.write_text("arch_id,cifar10:test_acc\n00000000,50.0\n11111111,60.0\n")
    code, out, err = cli("data", "import", "nasbench_macro", str(f), "--root", str(root))
    assert code == 0, err
    manifest = next((tmp_path / "cache" / "store").rglob("nasbench_macro-imports.gt/manifest.json"))
    manifest.write_text("")
    code, out, _ = cli("data", "list", "--root", str(root))
    assert code == 0 and "corrupt" in out
    code, out, err = cli("data", "info", "nasbench_macro", "--root", str(root))
    assert code == 2 and err.count("\n") == 1 and "is corrupt: manifest.json is empty" in err
    assert "penas-app data import nasbench_macro FILE --replace" in err and sorted(os.listdir(root)) == []
