"""DARTS genotype <-> NB301 configuration, and the NB301 surrogate ground truth.

* the conversion both ways on all 500 archs of the NB301 sample (exact round trip);
* with the shared YAHPO files: our encoding fed to onnxruntime equals yahpo-gym's
  ``objective_function`` (when yahpo-gym is installed), batched equals one-by-one, and the
  final-epoch prediction ranks the 500 measured sample archs as PROVENANCE.md reports;
* without the shared files: a tiny linear ONNX model, written here byte by byte (the ``onnx``
  package is not needed), checks the encoding column by column and the batch rewrite.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
import sys

import numpy as np
import pytest

from penas.spaces import get_space
from penas.spaces._darts_genotype import SEARCH_OPS
from penas.spaces._darts_nb301 import all_names, yahpo_name
from penas.spaces.benchmarks import open_gt, surrogate, surrogate_available
from penas.spaces.benchmarks._onnx_batch import _len_field, _varint
from penas.spaces.benchmarks.surrogates import NB301Surrogate
from penas.spaces.darts import genotype_to_nb301_config, load_nb301_naslib_keys, nb301_config_to_genotype

NB301_JSON = "nb301/gt_nasbench301_subset500.json"
YAHPO = "nb301/yahpo"
HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None
needs_ort = pytest.mark.skipif(not HAVE_ORT, reason="onnxruntime not installed (extra penas-spaces[nb301])")


@pytest.fixture(scope="module")
def sample(bench_root):
    return load_nb301_naslib_keys(bench_root / NB301_JSON)


@pytest.fixture(scope="module")
def shared_surrogate(bench_root) -> NB301Surrogate:
    if not (bench_root / YAHPO / "nb301" / "model.onnx").is_file():
        pytest.skip(f"no {YAHPO}/nb301/model.onnx under the data root")
    if not HAVE_ORT:
        pytest.skip("onnxruntime not installed (extra penas-spaces[nb301])")
    return surrogate("darts", bench_root)


# --- conversion -----------------------------------------------------------------------------------
@pytest.mark.data
def test_config_round_trip_on_all_500_sample_archs(sample):
    space = get_space("darts")
    assert len(sample) == 500
    for arch_id in sample:
        g = space.parse(arch_id)
        cfg = genotype_to_nb301_config(g)
        assert len(cfg) == 22 and set(cfg) <= set(all_names())
        back = nb301_config_to_genotype(cfg)
        assert back == g and space.format(back) == arch_id
        assert genotype_to_nb301_config(back) == cfg
        assert nb301_config_to_genotype({yahpo_name(k): v for k, v in cfg.items()}) == g  # YAHPO spelling


def test_config_mapping_follows_nb301_edge_numbering():
    g = get_space("darts").parse(
        "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('skip_connect', 0), ('dil_conv_3x3', 2), "
        "('max_pool_3x3', 1), ('avg_pool_3x3', 3), ('dil_conv_5x5', 2), ('sep_conv_3x3', 4)], "
        "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 0), "
        "('skip_connect', 1), ('avg_pool_3x3', 0), ('avg_pool_3x3', 2), ('sep_conv_5x5', 3), ('sep_conv_5x5', 4)], "
        "reduce_concat=[2, 3, 4, 5])")
    cfg = {k.split(":")[-1]: v for k, v in genotype_to_nb301_config(g).items()}
    # node 2: edges 0-1; node 3: edges 2-4; node 4: edges 5-8; node 5: edges 9-13 (start + input)
    assert cfg["edge_normal_0"] == "sep_conv_3x3" and cfg["edge_normal_1"] == "sep_conv_5x5"
    assert cfg["edge_normal_2"] == "skip_connect" and cfg["edge_normal_4"] == "dil_conv_3x3"
    assert cfg["edge_normal_6"] == "max_pool_3x3" and cfg["edge_normal_8"] == "avg_pool_3x3"
    assert cfg["edge_normal_11"] == "dil_conv_5x5" and cfg["edge_normal_13"] == "sep_conv_3x3"
    assert [cfg[f"inputs_node_normal_{n}"] for n in (3, 4, 5)] == ["0_2", "1_3", "2_4"]
    assert [cfg[f"inputs_node_reduce_{n}"] for n in (3, 4, 5)] == ["0_1", "0_2", "3_4"]


def test_config_errors_are_one_line():
    cfg = genotype_to_nb301_config(get_space("darts").sample(np.random.default_rng(0)))
    key = next(k for k in cfg if k.endswith("inputs_node_normal_5"))
    for bad, msg in [({key: "4_4"}, "inputs_node_normal_5 must be 'j_k'"), ({key: "x"}, "must be 'j_k'"),
                     ({next(iter(cfg)): "none"}, "edge_normal_0 must be one of")]:
        with pytest.raises(ValueError, match=msg) as e:
            nb301_config_to_genotype({**cfg, **bad})
        assert "\n" not in str(e.value)
    stray = next(f"NetworkSelectorDatasetInfo:darts:edge_normal_{i}" for i in range(2, 5)
                 if f"NetworkSelectorDatasetInfo:darts:edge_normal_{i}" not in cfg)
    with pytest.raises(ValueError, match="is set but inactive"):
        nb301_config_to_genotype({**cfg, stray: "skip_connect"})


# --- the shared surrogate -------------------------------------------------------------------------
@pytest.mark.data
def test_equals_yahpo_gym(shared_surrogate, bench_root, tmp_path, monkeypatch):
    if importlib.util.find_spec("yahpo_gym") is None:
        pytest.skip("yahpo-gym not installed (extra penas-spaces[nb301]); the comparison needs it")
    monkeypatch.setenv("YAHPO_LOCAL_CONFIG", str(tmp_path / "yahpo.yaml"))  # never ~/.config
    for m in [m for m in sys.modules if m.startswith("yahpo_gym")]:
        monkeypatch.delitem(sys.modules, m)
    from yahpo_gym import BenchmarkSet, local_config

    local_config.init_config()
    local_config.set_data_path(str(bench_root / YAHPO))
    bset = BenchmarkSet("nb301", multithread=False)
    space = get_space("darts")
    rng = np.random.default_rng(7)
    archs = [space.sample(rng) for _ in range(300)]
    epochs = rng.integers(1, 99, size=len(archs))
    ref = np.array([[r["val_accuracy"], r["runtime"]] for g, e in zip(archs, epochs, strict=True)
                    for r in bset.objective_function(
                        {**{yahpo_name(k): v for k, v in genotype_to_nb301_config(g).items()}, "epoch": int(e)})])
    ours = shared_surrogate.predict(shared_surrogate.encode(archs), epochs)  # one batched call
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
    one = [shared_surrogate.query(space.format(g), "val_acc", epoch=int(e)) for g, e in zip(archs[:20], epochs[:20],
                                                                                            strict=True)]
    np.testing.assert_allclose(one, ref[:20, 0], rtol=0, atol=1e-5)


@pytest.mark.data
def test_surrogate_api_and_final_epoch_ranks_the_sample(shared_surrogate, sample, bench_root):
    from penas.metrics import kendall_tau, spearman

    ids = list(sample)
    final = shared_surrogate.query_many(ids, "val_acc")
    measured = np.array([sample[a]["val_accuracy"] for a in ids])
    assert spearman(final, measured) > 0.85 and kendall_tau(final, measured) > 0.65  # PROVENANCE: 0.905 / 0.739
    assert shared_surrogate.query(ids[0]) == pytest.approx(final[0], abs=1e-9)
    np.testing.assert_array_equal(shared_surrogate.query_many(ids[:5], "valid_acc", epoch=98), final[:5])
    curve = shared_surrogate.curve(ids[:4], "val_acc", [1, 12, 98])
    assert curve.shape == (4, 3) and np.all(curve[:, 0] < curve[:, 2])
    np.testing.assert_allclose(curve[:, 2], final[:4], atol=1e-9)
    rt = shared_surrogate.query_many(ids[:4], "runtime", epoch=98)
    assert np.all(rt > 1000)  # cumulative seconds of the 98-epoch NB301 training
    assert shared_surrogate.provenance["model_sha256"] == \
        "3c6a6fb3a70998bf6c55883bdc5cc71cff190e1859468d72cc6960b88f06d280"
    # the Benchmark-like face and open_gt
    assert shared_surrogate.metrics("cifar10") == ("runtime", "valid_acc")
    assert open_gt("darts", "surrogate", bench_root) is shared_surrogate
    assert open_gt("darts", "auto", bench_root) is shared_surrogate
    assert len(open_gt("darts", "table", bench_root)) == len(sample)  # the measured sample stays a GT
    assert surrogate_available("darts", bench_root) and not surrogate_available("nb201", bench_root)
    for bad, kw in [("epoch", {"epoch": 0}), ("metric", {"metric": "test_acc"}), ("dataset", {"dataset": "c100"})]:
        with pytest.raises(ValueError, match=f"^{bad}:"):
            shared_surrogate.query(ids[0], **kw)
    with pytest.raises(ValueError, match="no surrogate for 'nb201'"):
        surrogate("nb201")


# --- a tiny ONNX model, written here ----------------------------------------------------------------
def _tensor_value_info(name: str, elem: int, dims: list[int]) -> bytes:
    shape = b"".join(_len_field(1, _varint(1 << 3) + _varint(d)) for d in dims)
    tensor = _varint(1 << 3) + _varint(elem) + _len_field(2, shape)
    return _len_field(1, name.encode()) + _len_field(2, _len_field(1, tensor))


def _node(op: str, ins: list[str], outs: list[str], attrs: bytes = b"") -> bytes:
    body = b"".join(_len_field(1, i.encode()) for i in ins) + b"".join(_len_field(2, o.encode()) for o in outs)
    return body + _len_field(4, op.encode()) + attrs


def _int_attr(name: str, value: int) -> bytes:  # AttributeProto{name, i, type=INT}
    return _len_field(5, _len_field(1, name.encode()) + _varint(3 << 3) + _varint(value) + _varint(20 << 3) + _varint(2))


def tiny_linear_onnx(weights: np.ndarray) -> bytes:
    """``y = concat(float(x_cat), x_cont) @ weights`` with YAHPO's input names and batch size 1."""
    w = np.ascontiguousarray(weights, dtype="<f4")
    init = (b"".join(_varint(1 << 3) + _varint(d) for d in w.shape) + _varint(2 << 3) + _varint(1)
            + _len_field(8, b"W") + _len_field(9, w.tobytes()))
    graph = (_len_field(1, _node("Cast", ["x_cat"], ["xc"], _int_attr("to", 1)))
             + _len_field(1, _node("Concat", ["xc", "x_cont"], ["x"], _int_attr("axis", 1)))
             + _len_field(1, _node("MatMul", ["x", "W"], ["y"]))
             + _len_field(2, b"tiny") + _len_field(5, init)
             + _len_field(11, _tensor_value_info("x_cat", 6, [1, 34]))
             + _len_field(11, _tensor_value_info("x_cont", 1, [1, 1]))
             + _len_field(12, _tensor_value_info("y", 1, [1, 2])))
    opset = _len_field(1, b"") + _varint(2 << 3) + _varint(13)
    return _varint(1 << 3) + _varint(7) + _len_field(8, opset) + _len_field(7, graph)


def synthetic_encoding() -> dict[str, dict[str, int]]:
    """YAHPO's encoding layout: per hyperparameter ``#na#`` = 0, then the values in sorted order."""
    enc = {}
    for n in all_names():
        if "inputs_node" in n:
            node = int(n.rsplit("_", 1)[1])
            values = [f"{a}_{b}" for a in range(node) for b in range(a + 1, node)]
        else:
            values = sorted(SEARCH_OPS)
        enc[yahpo_name(n)] = {"#na#": 0, **{v: k + 1 for k, v in enumerate(values)}}
    return enc


@needs_ort
def test_tiny_onnx_model_checks_the_encoding(tmp_path):
    """Synthetic model and encoding (no shared files needed): each of the 34 columns gets its own
    weight, so the output identifies every code penas feeds the model."""
    enc = synthetic_encoding()
    d = tmp_path / YAHPO / "nb301"
    d.mkdir(parents=True)
    (d / "encoding.json").write_text(json.dumps(enc))
    (d / "config_space.json").write_text("{}")
    rng = np.random.default_rng(0)
    weights = np.zeros((35, 2), dtype=np.float32)
    weights[:34, 0] = rng.integers(1, 50, size=34)  # integer weights: exact in float32
    weights[34, 1] = 1.0
    (d / "model.onnx").write_bytes(tiny_linear_onnx(weights))
    sur = NB301Surrogate(d)
    space = get_space("darts")
    archs = [space.sample(rng) for _ in range(64)]
    names = [yahpo_name(n) for n in all_names()]
    ref_x = np.array([[enc[n].get(cfg.get(n, "#na#"), 0) for n in names]
                      for cfg in ({yahpo_name(k): v for k, v in genotype_to_nb301_config(g).items()} for g in archs)])
    np.testing.assert_array_equal(sur.encode(archs), ref_x)
    np.testing.assert_array_equal(sur.encode([space.format(g) for g in archs]), ref_x)  # id strings, fast path
    got = sur.query_many(archs, "val_acc", epoch=5)  # 64 rows through a model declared with batch 1
    np.testing.assert_array_equal(got, ref_x @ weights[:34, 0])
    np.testing.assert_array_equal(sur.query_many(archs, "runtime", epoch=7), np.full(64, 7.0))
    assert sur.provenance["model_sha256"] == hashlib.sha256((d / "model.onnx").read_bytes()).hexdigest()


def test_missing_files_and_extra_are_one_line(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no NB301 model under .*missing model.onnx, encoding.json"):
        surrogate("darts", tmp_path)
    assert not surrogate_available("darts", tmp_path)
    d = tmp_path / "m"
    d.mkdir()
    (d / "model.onnx").write_bytes(b"\x08\x07")  # synthetic stand-ins: only the import is exercised
    enc = synthetic_encoding()
    (d / "encoding.json").write_text(json.dumps(enc))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"pip install 'penas-spaces\[nb301\]'"):
        NB301Surrogate(d).session()
    (d / "encoding.json").write_text("[]")
    with pytest.raises(ValueError, match="lacks the 34 NB301 cell hyperparameters"):
        NB301Surrogate(d)
    del enc[next(iter(enc))]["skip_connect"]
    (d / "encoding.json").write_text(json.dumps(enc))
    with pytest.raises(ValueError, match="has no integer code for 'skip_connect'"):
        NB301Surrogate(d)


def test_onnx_rewrite_refuses_foreign_bytes():
    from penas.spaces.benchmarks._onnx_batch import with_symbolic_batch

    with pytest.raises(ValueError, match="not an ONNX model"):
        with_symbolic_batch(struct.pack("<I", 0xFFFFFFFF) * 3)
