"""Surrogate ground truth: learning-curve predictions for spaces too large to tabulate.

``surrogate("darts")`` opens YAHPO Gym's NAS-Bench-301 model (``<data root>/nb301/yahpo/nb301/``:
``model.onnx``, ``encoding.json``, ``config_space.json``; Apache-2.0, see the data's PROVENANCE),
which predicts, for any DARTS-space genotype and epoch 1..98, the CIFAR-10 validation accuracy
(percent) and the cumulative training runtime (seconds) of NB301's training pipeline::

    s = surrogate("darts")
    s.query(genotype, "val_acc", epoch=98)        # float, percent (final epoch by default)
    s.query_many(archs, "runtime", epoch=12)       # np.ndarray, cumulative seconds to epoch 12
    s.curve(archs, "val_acc", [1, 4, 12, 98])      # (n_archs, n_epochs)

The model is run directly with ``onnxruntime`` (extra ``penas-spaces[nb301]``) on penas' own
encoding of the configuration: the 34 categorical hyperparameters in YAHPO's ``cat_names`` order,
integer-coded with ``encoding.json`` (an inactive edge is ``#na#`` = 0), plus the epoch as a
float. ``tests/spaces/test_nb301_surrogate.py`` checks that this gives the numbers of
``yahpo_gym.BenchmarkSet("nb301").objective_function`` (to 1e-5) when yahpo-gym is installed.
The model file declares batch size 1; :mod:`._onnx_batch` makes that dimension symbolic in memory
so thousands of configurations go through one call. The newer ``v2/`` model is not used (its four
outputs are mislabelled by yahpo-gym 1.0.2).

The object also reads like a :class:`~penas.spaces.benchmarks.table.Benchmark` for the final
epoch: ``datasets == ("cifar10",)``, ``metrics("cifar10") == ("runtime", "valid_acc")`` and
``query(arch, metric, "cifar10")``, so a GT consumer can use it in place of the 500-arch
NB301 sample table (``open_gt("darts", source="surrogate")``). ``valid_acc`` and ``val_acc``
name the same prediction. :attr:`provenance` names the model file and its sha256.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import paths
from .._darts_genotype import DEFAULT_CONCAT, PAIRS, SEARCH_OPS, STEPS, Genotype
from .._darts_nb301 import N_EDGES as _N_EDGES
from .._darts_nb301 import edge_start
from ..atomic_io import atomic_dir
from ..registry import Registry

FINAL_EPOCH = 98
DATASET = "cifar10"
METRICS = ("runtime", "valid_acc")
_ALIASES = {"val_acc": "valid_acc", "val_accuracy": "valid_acc", "valid_acc": "valid_acc", "runtime": "runtime"}
NB301_YAHPO_DIR = "nb301/yahpo/nb301"
NB301_YAHPO_FILES = ("model.onnx", "encoding.json", "config_space.json")


_N_EDGE_COLS = 2 * _N_EDGES
_EDGE_START = np.array([0, 0] + [edge_start(n) for n in range(2, STEPS + 2)])
_OP_INDEX = {op: k for k, op in enumerate(SEARCH_OPS)}
_ID_RE = re.compile(r"Genotype\(normal=\[(.*)\], normal_concat=\[2, 3, 4, 5\], "
                    r"reduce=\[(.*)\], reduce_concat=\[2, 3, 4, 5\]\)")
_PAIR_RE = re.compile(r"\('(\w+)', (\d)\)")


def _fast_pairs(text: str) -> list[tuple[int, int]] | None:
    """The 16 ``(op index, input)`` pairs of a DARTS-form id string, or ``None`` when the text is not
    exactly that form (then the space's parser reads it)."""
    m = _ID_RE.fullmatch(str(text))
    if m is None:
        return None
    out: list[tuple[int, int]] = []
    for cell in m.groups():
        found = _PAIR_RE.findall(cell)
        if len(found) != PAIRS or ", ".join(f"('{op}', {i})" for op, i in found) != cell:
            return None
        out += [(_OP_INDEX.get(op, -1), int(i)) for op, i in found]
    return out


def surrogate_metric(metric: str) -> str | None:
    """The surrogate's name for ``metric`` (``val_acc``/``valid_acc`` -> ``valid_acc``, ``runtime``), or None."""
    return _ALIASES.get(metric)


def _missing_onnxruntime() -> ImportError:
    return ImportError("onnxruntime is not installed; pip install 'penas-spaces[nb301]'")


class NB301Surrogate:
    """YAHPO Gym's NB301 surrogate on penas' own encoding (see the module docs).

    Parameters
    ----------
    directory
        Folder holding ``model.onnx`` and ``encoding.json`` (YAHPO's ``nb301`` layout).
    threads
        onnxruntime intra-op threads (``1`` gives results independent of the machine's cores).
    """

    space = "darts"
    datasets = (DATASET,)
    final_epoch = FINAL_EPOCH
    higher_is_better = {"valid_acc": True, "runtime": False}

    def __init__(self, directory: str | os.PathLike[str], threads: int = 1) -> None:
        self.path = Path(directory).absolute()
        missing = [f for f in ("model.onnx", "encoding.json") if not (self.path / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"surrogate: no NB301 model under {str(self.path)!r} (missing {', '.join(missing)}); "
                f"expected YAHPO Gym's nb301 folder, see `penas-app data import nb301-yahpo DIR`")
        self.threads = int(threads)
        self.model_sha256 = paths.file_sha256(self.path / "model.onnx")
        self._codes = self._read_encoding()
        self._session: Any = None
        self._space: Any = None
        self._lut: tuple[np.ndarray, np.ndarray] | None = None

    # --- files ----------------------------------------------------------------------------
    def _read_encoding(self) -> list[dict[str, int]]:
        from .._darts_nb301 import all_names, yahpo_name

        f = self.path / "encoding.json"
        try:
            enc = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"surrogate: {str(f)!r} is not a JSON encoding file") from None
        names = [yahpo_name(n) for n in all_names()]
        if not isinstance(enc, dict) or any(not isinstance(enc.get(n), dict) or "#na#" not in enc[n] for n in names):
            raise ValueError(f"surrogate: {str(f)!r} lacks the 34 NB301 cell hyperparameters of YAHPO's encoding")
        for n in names:  # every value a genotype can take must have an integer code
            if "inputs_node" in n:
                node = int(n.rsplit("_", 1)[1])
                need = [f"{a}_{b}" for a in range(node) for b in range(a + 1, node)]
            else:
                need = list(SEARCH_OPS)
            bad = next((v for v in need if not isinstance(enc[n].get(v), int)), None)
            if bad is not None:
                raise ValueError(f"surrogate: {str(f)!r} has no integer code for {bad!r} of {n}")
        return [enc[n] for n in names]

    @property
    def provenance(self) -> dict[str, str]:
        """Which surrogate a number came from."""
        return {"surrogate": "yahpo-nb301", "model": str(self.path / "model.onnx"),
                "model_sha256": self.model_sha256}

    @property
    def meta(self) -> dict[str, Any]:
        return {**self.provenance, "id_form": "canonical", "source_format": "nb301-yahpo-onnx"}

    def session(self) -> Any:
        """The onnxruntime session (created on first use)."""
        if self._session is None:
            try:
                import onnxruntime as ort  # type: ignore[import-not-found]
            except ImportError:
                raise _missing_onnxruntime() from None
            from ._onnx_batch import with_symbolic_batch

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            f = self.path / "model.onnx"
            try:
                model = with_symbolic_batch(f.read_bytes())
                self._session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
            except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types; one line for the user
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ValueError(f"surrogate: {str(f)!r} is not a loadable ONNX model ({first})") from None
        return self._session

    # --- encoding -------------------------------------------------------------------------
    def _luts(self) -> tuple[np.ndarray, np.ndarray]:
        """Code tables: ``ops[col, op index]`` for the 28 edge columns and ``pairs[k, j, i]`` for
        the 6 input-pair columns, from ``encoding.json``."""
        if self._lut is None:
            ops = np.array([[codes[op] for op in SEARCH_OPS] for codes in self._codes[:_N_EDGE_COLS]], dtype=np.int32)
            pairs = np.zeros((len(self._codes) - _N_EDGE_COLS, STEPS + 1, STEPS + 1), dtype=np.int32)
            for k, codes in enumerate(self._codes[_N_EDGE_COLS:]):
                node = 3 + k % 3
                for a in range(node):
                    for b in range(a + 1, node):
                        pairs[k, a, b] = codes[f"{a}_{b}"]
            self._lut = (ops, pairs)
        return self._lut

    def _pairs(self, archs: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(op index, input)`` arrays ``(n, 16)`` (normal then reduce pairs), checked."""
        ops, inps = [], []
        for a in archs:
            pr = _fast_pairs(a) if isinstance(a, str | np.str_) else None
            if pr is None:
                g = self._genotype(a)
                pr = [(_OP_INDEX.get(op, -1), inp) for op, inp in g.normal + g.reduce]
            ops.append([o for o, _ in pr])
            inps.append([i for _, i in pr])
        o = np.asarray(ops, dtype=np.int64).reshape(-1, 2 * PAIRS)
        i = np.asarray(inps, dtype=np.int64).reshape(-1, 2 * PAIRS)
        node = np.tile(np.repeat(np.arange(2, STEPS + 2), 2), 2)
        bad = (o < 0) | (i < 0) | (i >= node) | np.repeat(i[:, 0::2] == i[:, 1::2], 2, axis=1)
        if bad.any():
            n = int(np.argwhere(bad)[0][0])
            self._genotype(list(archs)[n] if not isinstance(archs, list) else archs[n], check=True)
            raise ValueError(f"arch: archs[{n}] is not a genotype of the NB301 space")  # pragma: no cover
        return o, i

    def _genotype(self, a: Any, check: bool = False) -> Any:
        if self._space is None:
            from .. import get_space

            self._space = get_space("darts")
        g = self._space.parse(str(a)) if isinstance(a, str | np.str_) else a
        if check or not isinstance(g, Genotype) or g.normal_concat != DEFAULT_CONCAT \
                or g.reduce_concat != DEFAULT_CONCAT:
            self._space.format(g)  # one-line ValueError for an object outside the space
        return g

    def encode(self, archs: Iterable[Any]) -> np.ndarray:
        """``(n, 34)`` int32 codes of genotypes (objects or id strings) in YAHPO's column order:
        the 28 edge columns (an unused edge is ``#na#`` = 0), then the 6 input-pair columns."""
        archs = list(archs)
        op_lut, pair_lut = self._luts()
        o, i = self._pairs(archs)
        n = o.shape[0]
        x = np.zeros((n, len(self._codes)), dtype=np.int32)
        cell = np.repeat(np.arange(2), PAIRS)
        node = np.tile(np.repeat(np.arange(2, STEPS + 2), 2), 2)
        col = cell * _N_EDGES + _EDGE_START[node] + i  # (n, 16) edge columns
        rows = np.arange(n)[:, None]
        x[rows, col] = op_lut[col, o]
        for c in range(2):
            for k, nd in enumerate(range(3, STEPS + 2)):
                a, b = i[:, c * PAIRS + 2 * (nd - 2)], i[:, c * PAIRS + 2 * (nd - 2) + 1]
                x[:, _N_EDGE_COLS + 3 * c + k] = pair_lut[3 * c + k, np.minimum(a, b), np.maximum(a, b)]
        return x

    def predict(self, x_cat: np.ndarray, epochs: np.ndarray | int) -> np.ndarray:
        """Raw model output ``(n, 2)``: validation accuracy (%), cumulative runtime (s)."""
        x_cat = np.ascontiguousarray(x_cat, dtype=np.int32)
        e = np.broadcast_to(np.asarray(epochs, dtype=np.float32).reshape(-1, 1), (x_cat.shape[0], 1))
        if x_cat.shape[0] == 0:
            return np.zeros((0, 2), dtype=np.float32)
        s = self.session()
        ins = [i.name for i in s.get_inputs()]
        return s.run(None, {ins[0]: x_cat, ins[1]: np.ascontiguousarray(e)})[0]

    # --- queries --------------------------------------------------------------------------
    @staticmethod
    def _metric(metric: str) -> str:
        m = _ALIASES.get(metric)
        if m is None:
            raise ValueError(f"metric: the NB301 surrogate predicts val_acc (valid_acc) and runtime, got {metric!r}")
        return m

    @staticmethod
    def _epoch(epoch: int | None) -> int:
        e = FINAL_EPOCH if epoch is None else epoch
        if isinstance(e, bool) or not isinstance(e, int | np.integer) or not 1 <= e <= FINAL_EPOCH:
            raise ValueError(f"epoch: expected an integer in 1..{FINAL_EPOCH}, got {epoch!r}")
        return int(e)

    def _check_dataset(self, dataset: str | None) -> None:
        if dataset is not None and dataset != DATASET:
            raise ValueError(f"dataset: the NB301 surrogate predicts {DATASET!r} only, got {dataset!r}")

    def query_many(self, archs: Sequence[Any], metric: str = "val_acc", epoch: int | None = None,
                   dataset: str | None = None) -> np.ndarray:
        """``metric`` at ``epoch`` (default: the final one, 98) for every arch, as float64."""
        m, e = self._metric(metric), self._epoch(epoch)
        self._check_dataset(dataset)
        out = self.predict(self.encode(archs), e)
        return out[:, 0 if m == "valid_acc" else 1].astype(np.float64)

    def query(self, arch: Any, metric: str = "val_acc", dataset: str | None = None, *,
              epoch: int | None = None) -> float:
        """``metric`` (``val_acc`` in %, or cumulative ``runtime`` in s) of one arch at ``epoch``."""
        return float(self.query_many([arch], metric, epoch, dataset)[0])

    def curve(self, archs: Sequence[Any], metric: str = "val_acc", epochs: Iterable[int] | None = None,
              ) -> np.ndarray:
        """``(n_archs, n_epochs)`` predictions at ``epochs`` (default 1..98), one model call."""
        m = self._metric(metric)
        es = [self._epoch(int(e)) for e in (range(1, FINAL_EPOCH + 1) if epochs is None else epochs)]
        x = self.encode(archs)
        n, k = x.shape[0], len(es)
        out = self.predict(np.repeat(x, k, axis=0), np.tile(np.asarray(es, dtype=np.float32), n))
        return out[:, 0 if m == "valid_acc" else 1].astype(np.float64).reshape(n, k)

    # --- the Benchmark-like face (final epoch) ---------------------------------------------
    def metrics(self, dataset: str) -> tuple[str, ...]:
        self._check_dataset(dataset)
        return METRICS

    def table(self, metric: str, dataset: str, archs: Iterable[Any] | None = None) -> np.ndarray:
        if archs is None:
            raise ValueError("archs: the NB301 surrogate covers the whole DARTS space; pass the archs to query")
        return self.query_many(list(archs), metric, None, dataset)

    def __contains__(self, arch: object) -> bool:
        try:
            self.encode([arch])
        except (ValueError, TypeError):
            return False
        return True

    def __repr__(self) -> str:
        return f"<NB301Surrogate yahpo-nb301 sha256={self.model_sha256[:12]} at {str(self.path)!r}>"


# --- registry ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SurrogateSource:
    """Where a space's surrogate files live under the data root and how to open them."""

    space: str
    name: str
    relpath: str
    files: tuple[str, ...]
    open: Callable[[Path], NB301Surrogate]
    description: str = ""

    def directory(self, root: Path) -> Path:
        return root / self.relpath


SURROGATES: Registry[SurrogateSource] = Registry("surrogate")
_opened: dict[tuple[str, str], NB301Surrogate] = {}


@SURROGATES.register("darts")
def _nb301_yahpo() -> SurrogateSource:
    return SurrogateSource("darts", "nb301-yahpo", NB301_YAHPO_DIR, NB301_YAHPO_FILES, NB301Surrogate,
                           "YAHPO Gym NAS-Bench-301 ONNX surrogate: val_acc (%) and cumulative runtime (s), "
                           "epochs 1..98")


def get_surrogate_source(space: str) -> SurrogateSource:
    """The registered surrogate of ``space`` (one-line ``ValueError`` listing the spaces that have one)."""
    if space not in SURROGATES:
        raise ValueError(f"space: no surrogate for {space!r}; surrogates exist for {', '.join(SURROGATES.names())}")
    return SURROGATES.create(space)


def surrogate_available(space: str, root: str | os.PathLike[str] | None = None) -> bool:
    """The space has a surrogate and its model file is under the data root (onnxruntime not imported)."""
    if space not in SURROGATES:
        return False
    src = get_surrogate_source(space)
    return all((src.directory(paths.data_root(root)) / f).is_file() for f in src.files[:2])


def surrogate(space: str = "darts", root: str | os.PathLike[str] | None = None) -> NB301Surrogate:
    """The surrogate ground truth of ``space`` from the data root (opened once per process).

    Raises a one-line ``ValueError`` for a space without a surrogate and ``FileNotFoundError`` when its
    files are not under the data root. onnxruntime is only imported by the first query.
    """
    src = get_surrogate_source(space)
    d = src.directory(paths.data_root(root))
    key = (space, str(d))
    if key not in _opened:
        _opened[key] = src.open(d)
    return _opened[key]


def import_surrogate(name: str, src: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
                     ) -> tuple[Path, str, bool]:
    """Copy a surrogate's files from ``src`` into the data root layout (``penas-app data import nb301-yahpo``).

    ``src`` is YAHPO's data folder (holding ``nb301/``) or the ``nb301`` folder itself. The files are
    checked first (the encoding is read; the model is loaded when onnxruntime is installed), then
    copied atomically. Returns ``(destination, model sha256, copied)``; ``copied`` is False when the
    same model is already there. Raises one-line ``ValueError``/``FileNotFoundError``/``OSError``.
    """
    import shutil

    by_name = {get_surrogate_source(s).name: get_surrogate_source(s) for s in SURROGATES.names()}
    if name not in by_name:
        raise ValueError(f"kind: unknown surrogate {name!r}; expected one of {', '.join(sorted(by_name))}")
    source = by_name[name]
    p = Path(src).expanduser().absolute()
    d = p / Path(source.relpath).name if (p / Path(source.relpath).name / "model.onnx").is_file() else p
    missing = [f for f in source.files if not (d / f).is_file()]
    if missing:
        raise FileNotFoundError(f"file: {str(p)!r} holds no {name} surrogate (missing {', '.join(missing)}); "
                                f"expected YAHPO Gym's data folder or its nb301/ folder")
    new = source.open(d)
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is not None:
        new.session()  # a foreign model fails here, before anything is copied
    dest = source.directory(paths.data_root(root))
    if (dest / "model.onnx").is_file() and paths.file_sha256(dest / "model.onnx") == new.model_sha256:
        return dest, new.model_sha256, False
    try:
        with atomic_dir(dest) as tmp:
            for f in source.files:
                shutil.copyfile(d / f, tmp / f)
    except OSError as e:
        raise OSError(f"root: cannot write the surrogate into {str(dest)!r} ({e.strerror or e}); "
                      f"pass --root DIR or set PENAS_DATA to a writable data root") from None
    _opened.clear()
    return dest, new.model_sha256, True
