"""The data layer (penas.spaces.datasets): spec parser, the three CIFAR layouts, the restricted
unpickler, the NB201 split, and the shared CIFAR-10 (skipped with a reason when it is absent).

Tiny CIFAR-shaped datasets are built in the tests from seeded random pixels: the layout readers
must give identical arrays whatever the pixels are, and real data is too large to copy per test.
"""

from __future__ import annotations

import os
import pickle
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from penas.spaces.datasets import (
    DataSpec,
    Split,
    UnsafePickleError,
    find_layout,
    open_dataset,
    parse_data_spec,
    parse_split,
    read_nb201_split,
    resolve_auto,
    safe_load,
)
from penas.spaces.datasets.layouts import PICKLE_LAYOUT
from penas.spaces.datasets.spec import KINDS, SPLITS

N_TRAIN, N_TEST = 30, 12


def tiny_arrays(seed: int = 0, classes: int = 10) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {b: (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, classes, n).astype(np.int64))
            for b, n in (("train", N_TRAIN), ("test", N_TEST))}


def write_pickle_layout(root, arrays, name="cifar10", protocol=pickle.DEFAULT_PROTOCOL):
    sub, train, test, key = PICKLE_LAYOUT[name]
    d = root / sub
    d.mkdir(parents=True)
    for base, files in (("train", train), ("test", test)):
        x, y = arrays[base]
        for i, chunk in enumerate(np.array_split(np.arange(len(y)), len(files))):
            flat = x[chunk].transpose(0, 3, 1, 2).reshape(len(chunk), -1)
            with open(d / files[i], "wb") as fh:
                pickle.dump({b"batch_label": b"x", key: [int(v) for v in y[chunk]], b"data": flat,
                             b"filenames": [b"f.png"] * len(chunk)}, fh, protocol=protocol)
    return root


def write_npy_layout(d, arrays):
    d.mkdir(parents=True)
    for base, (x, y) in arrays.items():
        np.save(d / f"{base}_images.npy", x)
        np.save(d / f"{base}_labels.npy", y.astype(np.uint8))
    return d


def write_folder_layout(d, arrays, classes):
    from PIL import Image

    for base, (x, y) in arrays.items():
        for c in classes:
            (d / base / c).mkdir(parents=True)
        for i, (img, lab) in enumerate(zip(x, y, strict=True)):
            Image.fromarray(img).save(d / base / classes[lab] / f"{i:05d}.png")
    return d


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# --- the three layouts ------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_three_layouts_give_identical_arrays(tmp_path, protocol):
    arrays = tiny_arrays()
    dirs = {"pickle": write_pickle_layout(tmp_path / "p", arrays, protocol=protocol),
            "npy": write_npy_layout(tmp_path / "n", arrays),
            "imagefolder": write_folder_layout(tmp_path / "f", arrays, CIFAR10_CLASSES)}
    for layout, d in dirs.items():
        ds = open_dataset(f"cifar10:{d}")
        assert ds.layout == layout and ds.counts() == {"train": N_TRAIN, "test": N_TEST}
        for base in ("train", "test"):
            x, y = ds.arrays(base)
            np.testing.assert_array_equal(np.asarray(x), arrays[base][0])
            np.testing.assert_array_equal(y, arrays[base][1])
            assert y.dtype == np.int64
    assert isinstance(open_dataset(f"cifar10:{dirs['npy']}").arrays("train")[0], np.memmap)


def test_cifar100_uses_the_same_code(tmp_path):
    arrays = tiny_arrays(1, classes=100)
    ds = open_dataset(f"cifar100:{write_pickle_layout(tmp_path, arrays, 'cifar100')}")
    assert ds.num_classes == 100 and ds.layout == "pickle"
    np.testing.assert_array_equal(ds.arrays("test")[1], arrays["test"][1])


def test_class_major_imagefolder_and_provenance(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    for base in ("train", "test"):
        for c in ("cat", "dog"):
            (tmp_path / base / c).mkdir(parents=True)
            for k in range(3):  # per-class numbering repeats across classes: class-major order
                Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / base / c / f"{k}.png")
    ds = open_dataset(f"imagefolder:{tmp_path}")
    assert ds.classes == ("cat", "dog") and ds.num_classes == 2
    assert ds.arrays("train")[1].tolist() == [0, 0, 0, 1, 1, 1]
    prov = ds.provenance(checksums=True)
    assert prov["layout"] == "imagefolder" and prov["counts"] == {"train": 6, "test": 6} and not prov["synthetic"]


def test_layout_errors_are_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^--data: .* does not exist; expected"):
        open_dataset(f"cifar10:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no known layout"):
        open_dataset(f"cifar10:{tmp_path / 'empty'}")
    bad = write_npy_layout(tmp_path / "bad", tiny_arrays())
    np.save(bad / "train_labels.npy", np.full(N_TRAIN, 12, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        open_dataset(f"cifar10:{bad}").arrays("train")
    obj = write_npy_layout(tmp_path / "obj", tiny_arrays())
    np.save(obj / "test_labels.npy", np.array([None] * N_TEST, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a plain numpy array"):
        open_dataset(f"cifar10:{obj}").arrays("test")
    assert find_layout(tmp_path / "empty") is None


# --- the restricted unpickler -----------------------------------------------------------------------
class _Touch:
    """Unpickling this runs ``os.system("touch PATH")`` under plain pickle.load."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_malicious_batch_is_refused_and_runs_nothing(tmp_path):
    arrays = tiny_arrays()
    root = write_pickle_layout(tmp_path / "c", arrays)
    marker = tmp_path / "pwned"
    with open(root / "cifar-10-batches-py" / "data_batch_1", "wb") as fh:
        pickle.dump({b"data": arrays["train"][0][:2].reshape(2, -1), b"labels": [0, 1], b"x": _Touch(marker)}, fh)
    ds = open_dataset(f"cifar10:{root}")
    with pytest.raises(UnsafePickleError) as ex:
        ds.arrays("train")
    msg = str(ex.value)
    assert "\n" not in msg and msg.startswith("--data: ") and "data_batch_1" in msg and "system" in msg
    assert not marker.exists()
    for evil in (b"cos\nsystem\n(S'touch x'\ntR.", b"cbuiltins\neval\n(S'1'\ntR."):
        with pytest.raises(UnsafePickleError, match="refused to load the global"):
            safe_load("f", data=evil)
    with pytest.raises(ValueError, match="not a readable pickle"):
        safe_load("f", data=b"not a pickle")


def test_codecs_encode_only_latin1():
    # Python 3 writes bytes at protocol 2 via _codecs.encode(text, "latin1"); any other codec is refused.
    assert safe_load("f", data=pickle.dumps(b"\x00\xffab", protocol=2)) == b"\x00\xffab"
    evil = b"c_codecs\nencode\n(Vabc\nVrot13\ntR."
    with pytest.raises(ValueError, match="not a readable pickle"):
        safe_load("f", data=evil)


# --- splits -------------------------------------------------------------------------------------------
def test_sample_split_is_seeded_and_sorted(tmp_path):
    ds = open_dataset(f"cifar10:{write_npy_layout(tmp_path / 'n', tiny_arrays())}")
    x1, y1, d1 = ds.select("sample:10:1")
    x2, _, _ = ds.select("sample:10:1")
    x3, _, _ = ds.select("sample:10:2")
    assert len(y1) == 10 and np.array_equal(x1, x2) and not np.array_equal(x1, x3) and "sample:10:1" in d1
    with pytest.raises(ValueError, match="asks for 31 images"):
        ds.select("sample:31")
    with pytest.raises(ValueError, match="indexes NB201's 50000"):
        ds.select("nb201-train")
    assert len(ds.select("test")[1]) == N_TEST


def test_nb201_split_file_is_25k_25k_disjoint(bench_root):
    p = bench_root / "nb201" / "official" / "cifar-split.txt"
    if not p.is_file():
        pytest.skip(f"NB201's split file is not in the shared data ({p})")
    s = read_nb201_split(p)
    assert len(s["train"]) == len(s["valid"]) == 25_000
    assert np.intersect1d(s["train"], s["valid"]).size == 0
    assert np.array_equal(np.sort(np.concatenate([s["train"], s["valid"]])), np.arange(50_000))
    assert s["train"][:4].tolist() == [0, 5, 7, 11]


def test_split_file_errors(tmp_path):
    p = tmp_path / "split.txt"
    p.write_text('{"train": ["int", ["0", "1"]], "valid": ["int", ["1"]]}')
    with pytest.raises(ValueError, match="overlap"):
        read_nb201_split(p)
    p.write_text("[]")
    with pytest.raises(ValueError, match="not NB201's split file"):
        read_nb201_split(p)


# --- the shared CIFAR-10 --------------------------------------------------------------------------------
@pytest.fixture
def shared_cifar(bench_root):
    d = bench_root / "cifar10"
    if find_layout(d) is None:
        pytest.skip(f"the shared data has no CIFAR-10 ({d})")
    return open_dataset(f"cifar10:{d}")


def test_shared_cifar10_counts_split_and_auto(shared_cifar, bench_root):
    assert shared_cifar.layout == "npy" and shared_cifar.counts() == {"train": 50_000, "test": 10_000}
    y_test = shared_cifar.arrays("test")[1]
    assert y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]  # the official test order
    x, y, _ = shared_cifar.select("nb201-valid")
    assert x.shape == (25_000, 32, 32, 3) and np.bincount(y, minlength=10).min() > 2000
    assert resolve_auto("auto", bench_root) == DataSpec("cifar10")


def test_auto_without_cifar10(tmp_path):
    assert resolve_auto("auto", tmp_path) == DataSpec("synthetic")
    (tmp_path / "images" / "foolbox_cifar10").mkdir(parents=True)
    (tmp_path / "images" / "foolbox_cifar10" / "cifar10_00_3.png").write_bytes(b"")
    assert resolve_auto("auto", tmp_path) == DataSpec("png-aug")


# --- the spec parser ------------------------------------------------------------------------------------
def test_spec_examples():
    assert parse_data_spec("cifar10") == DataSpec("cifar10")
    assert parse_data_spec("cifar10@nb201-valid") == DataSpec("cifar10", None, Split("nb201-valid"))
    assert parse_data_spec("cifar10:/a@b/c@sample:20:3") == DataSpec("cifar10", "/a@b/c", Split("sample", 20, 3))
    assert parse_data_spec("cifar10:/a@b") == DataSpec("cifar10", "/a@b")  # an '@' inside a directory
    assert parse_data_spec("synthetic:256").n == 256 and parse_data_spec("synthetic").synthetic
    assert parse_data_spec("imagefolder:/x@test").split == Split("test")
    for bad, msg in [("", "expected"), ("nope", "unknown data kind"), ("synthetic:0", "N >= 1"),
                     ("synthetic:x", "integer N"), ("imagefolder", "needs an argument"), ("auto:3", "takes no"),
                     ("cifar10@sample:0", "N >= 1"), ("synthetic@train", "has no splits"),
                     ("cifar100@nb201-train", "cifar10 only"), ("cifar10@tset", None), ("png:", "with a directory")]:
        with pytest.raises(ValueError, match=r"^--zc-data: .*" + (msg or "")):
            parse_data_spec(bad, "--zc-data")


_dirs = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="@"), min_size=1, max_size=12).map(
    lambda t: "/d/" + t.strip()).filter(lambda t: not t.endswith("/"))
_splits = st.one_of(st.sampled_from(SPLITS).map(Split),
                    st.builds(lambda n, s: Split("sample", n, s), st.integers(1, 10**6), st.integers(0, 10**6)))


@st.composite
def _specs(draw):
    kind = draw(st.sampled_from(sorted(KINDS)))
    form, classification = KINDS[kind]
    arg = None
    if form in ("n", "n?") and draw(st.booleans()):
        arg = str(draw(st.integers(1, 10**6)))
    elif form == "dir" or (form == "dir?" and draw(st.booleans())):
        arg = draw(_dirs)
    split = draw(_splits) if classification and draw(st.booleans()) else None
    if split is not None and split.name.startswith("nb201") and kind != "cifar10":
        split = None
    return DataSpec(kind, arg, split)


@settings(max_examples=300, deadline=None)
@given(_specs())
def test_spec_round_trips(spec):
    assert parse_data_spec(str(spec)) == spec


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_text_parses_or_fails_with_one_line(text):
    try:
        spec = parse_data_spec(text)
    except ValueError as e:
        assert str(e).startswith("--data: ") and "\n" not in str(e)
    else:
        assert parse_data_spec(str(spec)) == spec


@settings(max_examples=100, deadline=None)
@given(_splits)
def test_split_round_trips(split):
    assert parse_split(str(split)) == split


def test_layer_imports_no_torch():
    import subprocess

    code = "import sys, penas.spaces.datasets, penas.spaces.datasets.manage; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
