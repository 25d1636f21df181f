"""Partial training / early stopping: score an arch by its accuracy after ``e`` epochs.

Two modes (``mode=``):

* ``"train"`` -- trains the stand-alone network (``space.build``) with SGD + cosine schedule
  for ``e`` epochs in total (the training engine's task :mod:`penas.supernets.engine.tasks.partial`).
  A per-arch checkpoint (model, optimiser, RNG state, epoch) is written to ``checkpoint_dir`` after
  every call, so a later call at epoch ``e' > e`` resumes from ``e`` and trains only ``e' - e`` more
  epochs (PE-NAS partial-training stages), with the same result as training to ``e'`` at once. Score =
  top-1 accuracy (%) on the held-out batches. ``data`` (a spec of :mod:`penas.spaces.datasets.spec`,
  see :func:`penas.estimators.data.train_holdout_batches`): ``"auto"`` (the default: real CIFAR-10
  under ``$PENAS_DATA/cifar10`` when present, resolved when the estimator is made), ``"synthetic"``
  (seeded Gaussian batches, for tests), ``"png"`` (the 20 shared CIFAR-10 test images, train =
  eval: a smoke test, not a measurement) or ``"cifar10[:DIR][@SPLIT]"`` (train on the first 90% of
  a seeded shuffle of the split, score on the last 10%, as in [PE]).
* ``"tabular"`` -- reads the value from the ground-truth store (``penas.spaces.benchmarks``):
  the learning-curve column ``<metric>_curve`` at epoch ``e`` when the benchmark has one
  (fidelity ``tabular-curve``). **When the table has no per-epoch curve** (the shared NB201
  and NAS-Bench-Macro tables hold final accuracies only) epoch ``e`` returns the *final*
  value; :attr:`PartialTrainingEstimator.fidelity` is then ``tabular-final``: this is an
  oracle, not an early-stopping estimate, and every search output that uses it says so.
  For a space with a learning-curve surrogate (``darts``: the NB301 surrogate of
  :mod:`penas.spaces.benchmarks.surrogates`) the value is the surrogate's prediction at epoch
  ``e`` (fidelity ``surrogate-curve``), a real multi-fidelity estimate, and the cost charged is
  the surrogate's predicted training runtime (:attr:`~PartialTrainingEstimator.runtime_charged_s`).
  ``gt_source`` picks ``table``, ``surrogate`` or ``auto`` (the surrogate when its files and
  ``onnxruntime`` are present and it predicts ``metric``; the choice is part of the config hash).

Protocol ``"less"`` (train mode; NB201's 12-epoch schedule ``nb201/official/LESS.config`` under
the data root: SGD nesterov, lr 0.1 cosine to 0 over the config's 12 epochs, weight decay 5e-4,
batch 256, read from that file): ``data`` must be real CIFAR-10 (``cifar10[:DIR]``, or ``auto``
resolving to it); every arch trains from its own checkpoint on NB201's ``nb201-train`` half (all
97 full batches of 256 unless ``train_batches`` caps them) and is validated on ``nb201-valid`` (in
stored order; its 97 full batches of 256 unless ``eval_batches`` caps them). Reduced data (``train_batches`` /
``eval_batches``) or width (``build_kwargs``, e.g. ``{"C": 8}``) only when given; both are part
of the config, hence of every score's provenance and store key. No augmentation is applied.

Cost accounting: :attr:`PartialTrainingEstimator.epochs_charged` counts the training epochs a
call performed (train mode) or would have performed (tabular mode: epochs beyond the ones
already charged for that arch), so searches report comparable "epochs trained" numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._registry import register_estimator
from .base import Estimator, ScoreResult

MODES = ("tabular", "train")


class PartialTrainingEstimator(Estimator):
    """Accuracy after ``epochs`` epochs of stand-alone training (see the module docs)."""

    name = "partial_training"
    higher_is_better = True

    @property
    def cacheable(self) -> bool:  # type: ignore[override]
        """Only trained scores are worth storing; tabular/surrogate reads are recomputed."""
        return self.cfg["mode"] == "train"

    def __init__(
        self,
        space: Any,
        epochs: int = 1,
        mode: str = "tabular",
        # tabular
        metric: str = "test_acc",
        gt_dataset: str | None = None,
        root: str | None = None,
        gt_source: str = "auto",
        # train
        dataset: str | None = None,
        data: Any = "auto",
        checkpoint_dir: str | None = None,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        nesterov: bool = True,
        t_max: int = 200,
        batch_size: int = 64,
        train_batches: int | None = None,  # None: 4 (custom) | the whole nb201-train (less)
        eval_batches: int | None = None,  # None: 2 (custom) | the whole nb201-valid (less)
        seed: int = 0,
        protocol: str = "custom",
        build_kwargs: dict[str, Any] | None = None,
        device: str = "cpu",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if epochs < 1:
            raise ValueError(f"epochs: expected a positive integer, got {epochs}")
        ds = dataset if dataset is not None else space.datasets[0]
        cfg: dict[str, Any] = {"mode": mode, "epochs": int(epochs)}
        if mode == "tabular":
            cfg.update(metric=metric, gt_dataset=gt_dataset or ds)
            cfg.update(_tabular_source(space.name, metric, gt_source, root))
        else:
            space.check_dataset(ds)
            if protocol not in PROTOCOLS:
                raise ValueError(f"protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")
            if isinstance(data, str):  # the store key names the data actually used, not "auto"
                from penas.spaces.datasets import resolve_auto

                data = str(resolve_auto(data))
            if protocol == "less":
                less = less_config(root)
                lr, momentum, weight_decay, nesterov = less["LR"], less["momentum"], less["decay"], less["nesterov"]
                t_max, batch_size = less["epochs"], less["batch_size"]
                data = _less_data(data)
            else:
                train_batches = 4 if train_batches is None else train_batches
                eval_batches = 2 if eval_batches is None else eval_batches
            if batch_size < 1 or any(v is not None and v < 1 for v in (train_batches, eval_batches)):
                raise ValueError("batch_size/train_batches/eval_batches: expected positive integers")
            cfg.update(dataset=ds, data=str(data), lr=lr, momentum=momentum, weight_decay=weight_decay,
                       nesterov=nesterov, t_max=t_max, batch_size=batch_size, train_batches=train_batches,
                       eval_batches=eval_batches, seed=seed)
            if protocol != "custom":  # absent for the old protocol: its store keys stay as they were
                cfg["protocol"] = protocol
            if build_kwargs:
                cfg["build_kwargs"] = dict(build_kwargs)
        super().__init__(space, **cfg)
        #: Where train mode trains (not part of the store key: the protocol, not the hardware,
        #: defines the score; recorded in every score's provenance).
        self.device = check_device(device)
        self._root = root
        self._data = data
        self._bench: Any = None
        self._curve: bool | None = None
        self._batches: tuple[list[Any], list[Any]] | None = None
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self._charged: dict[str, int] = {}
        self.epochs_charged = 0
        #: Seconds of training the tabular stages stand for (the surrogate's predicted runtime).
        self.runtime_charged_s = 0.0
        self._charged_s: dict[str, float] = {}

    # --- tabular --------------------------------------------------------------------------
    def _benchmark(self) -> Any:
        if self._bench is None and self.cfg.get("gt_source") == "surrogate":
            from penas.spaces.benchmarks import surrogate

            self._bench = surrogate(self.space.name, root=self._root)
            self._bench._metric(self.cfg["metric"])  # one-line error for a metric it does not predict
            self._curve = True
        if self._bench is None:
            from penas.spaces.benchmarks import open_benchmark

            self._bench = open_benchmark(self.space.name, root=self._root)
            metrics = self._bench.metrics(self.cfg["gt_dataset"])
            self._curve = f"{self.cfg['metric']}_curve" in metrics
            if not self._curve and self.cfg["metric"] not in metrics:
                raise ValueError(
                    f"metric: {self.space.name!r} benchmark has no {self.cfg['metric']!r} on "
                    f"{self.cfg['gt_dataset']!r}; expected one of: {', '.join(metrics)}"
                )
        return self._bench

    @property
    def fidelity(self) -> str:
        """``trained``, ``surrogate-curve``, ``tabular-curve`` or ``tabular-final`` (final value at every epoch)."""
        if self.cfg["mode"] == "train":
            return "trained"
        if self.cfg.get("gt_source") == "surrogate":
            return "surrogate-curve"
        self._benchmark()
        return "tabular-curve" if self._curve else "tabular-final"

    def _tabular(self, ids: Sequence[str], epoch: int) -> np.ndarray:
        bench = self._benchmark()
        ds, metric = self.cfg["gt_dataset"], self.cfg["metric"]
        if self.cfg.get("gt_source") == "surrogate":
            return bench.query_many(list(ids), metric, min(epoch, bench.final_epoch), ds)
        out = np.full(len(ids), np.nan)
        for i, a in enumerate(ids):
            try:
                if self._curve:
                    curve = np.asarray(bench.query(a, f"{metric}_curve", ds), dtype=np.float64)
                    out[i] = curve[min(epoch, curve.size) - 1]
                else:
                    out[i] = float(bench.query(a, metric, ds))
            except ValueError:
                out[i] = np.nan
        return out

    # --- training -------------------------------------------------------------------------
    def _data_batches(self) -> tuple[list[Any], list[Any]]:
        if self._batches is None:
            from .data import train_holdout_batches

            c = self.cfg
            shape = tuple(self.space.input_shape(c["dataset"]))
            if c.get("protocol") == "less":
                self._batches = _less_batches(c, shape, self.space.num_classes(c["dataset"]))
                return self._batches
            train, ev = train_holdout_batches(self._data, shape, self.space.num_classes(c["dataset"]),
                                              c["train_batches"], c["eval_batches"], c["batch_size"], seed=c["seed"])
            self._batches = (train, ev)
        return self._batches

    def _ckpt_path(self, arch_id: str) -> Path | None:
        if self.checkpoint_dir is None:
            return None
        h = hashlib.sha256(f"{self.space.name}|{arch_id}|{self.config_hash_train()}".encode()).hexdigest()[:20]
        return self.checkpoint_dir / f"{h}.pt"

    def config_hash_train(self) -> str:
        from .base import config_hash

        return config_hash({k: v for k, v in self.cfg.items() if k != "epochs"})

    def _train(self, arch: Any, arch_id: str, epoch: int) -> tuple[float, int]:
        """Train ``arch`` to ``epoch`` epochs (the engine's partial-training task, resumed from its
        per-arch checkpoint); its held-out accuracy and the epochs this call trained."""
        import torch

        from penas.supernets.engine.tasks.partial import PartialRecipe, accuracy, train_partial

        c = self.cfg
        seed = c["seed"] + int(hashlib.sha256(arch_id.encode()).hexdigest()[:8], 16) % 100_000
        torch.manual_seed(seed)
        model = self.space.build(arch, c["dataset"], **c.get("build_kwargs", {}))
        recipe = PartialRecipe(lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"],
                               nesterov=c["nesterov"], t_max=c["t_max"], grad_clip=5.0, seed=seed)
        train, ev = self._data_batches()
        trained = train_partial(model, [(b.inputs, b.targets) for b in train], epoch, recipe,
                                self._ckpt_path(arch_id), meta={"arch_id": arch_id}, device=self.device)
        return accuracy(model, [(b.inputs, b.targets) for b in ev], self.device), trained

    # --- scoring --------------------------------------------------------------------------
    def score_at(self, archs: Sequence[Any], epoch: int | None = None) -> np.ndarray:
        """Scores after ``epoch`` epochs (default: the configured ``epochs``)."""
        e = int(self.cfg["epochs"] if epoch is None else epoch)
        if e < 1:
            raise ValueError(f"epoch: expected a positive integer, got {e}")
        ids = [self.space.arch_id(a) for a in archs]
        if self.cfg["mode"] == "tabular":
            grown = [(a, self._charged.get(a, 0)) for a in ids if e > self._charged.get(a, 0)]
            for a, done in grown:
                self.epochs_charged += e - done
                self._charged[a] = e
            if grown and self.cfg.get("gt_source") == "surrogate":
                # the surrogate's cumulative runtime is not monotone in the first epochs (epoch 1 reads
                # ~2x epoch 2), so each arch is charged up to the running maximum of its runtime
                names = [a for a, _ in grown]
                for a, t in zip(names, self.runtime_s(names, e), strict=True):
                    paid = self._charged_s.get(a, 0.0)
                    if t > paid:
                        self.runtime_charged_s += float(t - paid)
                        self._charged_s[a] = float(t)
            return self._tabular(ids, e)
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        out = np.empty(len(ids))
        for i, (a, aid) in enumerate(zip(parsed, ids, strict=True)):
            acc, trained = self._train(a, aid, e)
            self.epochs_charged += trained
            self._charged[aid] = max(e, self._charged.get(aid, 0))
            out[i] = acc
        return out

    def runtime_s(self, archs: Sequence[Any], epoch: int | Sequence[int]) -> np.ndarray:
        """Predicted seconds of training to reach ``epoch`` (per arch; 0 at epoch 0) from the surrogate.

        Only for ``gt_source="surrogate"``; epochs past the surrogate's last one cost its last value.
        """
        if self.cfg.get("gt_source") != "surrogate":
            raise ValueError("runtime_s: needs the surrogate ground truth (gt_source='surrogate')")
        bench = self._benchmark()
        eps = np.broadcast_to(np.asarray(epoch, dtype=np.int64), (len(archs),))
        out = np.zeros(len(archs))
        for e in np.unique(eps[eps > 0]):
            sel = np.flatnonzero(eps == e)
            out[sel] = bench.query_many([archs[i] for i in sel], "runtime", int(min(e, bench.final_epoch)))
        return out

    def runtime_cost_s(self, epochs_by_arch: dict[str, Sequence[int]]) -> float:
        """Seconds charged for scoring each arch at the given epochs: per arch the largest surrogate
        runtime among them (what :attr:`runtime_charged_s` accumulates), so a search can recompute its
        charged runtime from its stage files (e.g. after ``--resume``)."""
        pairs = [(a, int(e)) for a, eps in epochs_by_arch.items() for e in eps]
        if not pairs:
            return 0.0
        t = self.runtime_s([a for a, _ in pairs], [e for _, e in pairs])
        best: dict[str, float] = {}
        for (a, _), v in zip(pairs, t, strict=True):
            best[a] = max(best.get(a, 0.0), float(v))
        return float(sum(best.values()))

    def at_epoch(self, epoch: int) -> PartialTrainingEstimator:
        """The same estimator configured for ``epoch`` (its own config hash / store key)."""
        other = object.__new__(PartialTrainingEstimator)
        other.__dict__.update(self.__dict__)
        other.cfg = {**self.cfg, "epochs": int(epoch)}
        return other

    def _score_one(self, arch: Any) -> float:
        return float(self.score_at([arch])[0])

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        ids = [self.space.arch_id(a) for a in archs]
        vals = self.score_at(archs)
        extra: dict[str, Any] = {"fidelity": self.fidelity}
        if self.cfg["mode"] == "train":
            extra["device"] = self.device
        if self.cfg.get("gt_source") == "surrogate":
            extra.update(self._benchmark().provenance)  # the surrogate file and its sha256
        return ScoreResult(ids, vals, self.provenances(ids, **extra))


PROTOCOLS = ("custom", "less")


def check_device(device: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` that this machine has (one-line error otherwise)."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: expected cpu, cuda or cuda:N, got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device: expected cpu, cuda or cuda:N, got {device!r}")
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"device: {device!r} requested but this machine has no such CUDA device")
    return str(dev)


def less_config(root: str | None = None) -> dict[str, Any]:
    """NB201's ``nb201/official/LESS.config`` under the data root as plain values
    (``{"LR": 0.1, "epochs": 12, "batch_size": 256, ...}``); one-line error when it is missing."""
    import json

    from penas.spaces.paths import data_root

    path = data_root(root) / "nb201" / "official" / "LESS.config"
    if not path.is_file():
        raise ValueError(f"protocol: NB201's LESS.config is missing ({path})")
    cast = {"int": int, "float": float, "bool": lambda v: bool(int(v)), "str": str}
    return {k: cast[t](v) for k, (t, v) in json.loads(path.read_text()).items()}


def _less_data(data: Any) -> str:
    """The CIFAR-10 spec of the LESS protocol (``cifar10[:DIR]``, any split dropped: the protocol's own)."""
    from penas.spaces.datasets import parse_data_spec

    s = parse_data_spec(str(data), "data") if isinstance(data, str) else None
    if s is None or s.kind != "cifar10":
        raise ValueError(f"data: protocol 'less' trains on real CIFAR-10 (cifar10[:DIR]), got {data!r}")
    return "cifar10" + (f":{s.arg}" if s.arg is not None else "")


def _less_batches(c: dict[str, Any], shape: tuple[int, ...], num_classes: int) -> tuple[list[Any], list[Any]]:
    """LESS protocol batches: a seeded order of ``nb201-train`` and ``nb201-valid`` in stored order."""
    from itertools import islice

    from .data import dataset_batches, open_images

    ds = open_images(c["data"])

    def fit(bs: Any) -> list[Any]:
        return [b.resized(shape[1:]).classes_mod(num_classes) for b in bs]

    bs = c["batch_size"]
    train = fit(islice(dataset_batches(ds, bs, split="nb201-train", seed=c["seed"]), c["train_batches"]))
    ev = fit(islice(dataset_batches(ds, bs, split="nb201-valid"), c["eval_batches"]))
    return train, ev


def _tabular_source(space: str, metric: str, gt_source: str, root: str | None) -> dict[str, Any]:
    """The resolved ``gt_source`` (and the surrogate's sha256, so a new model is a new config)."""
    import importlib.util

    from penas.spaces.benchmarks import surrogate, surrogate_available
    from penas.spaces.benchmarks.surrogates import surrogate_metric

    if gt_source not in ("auto", "table", "surrogate"):
        raise ValueError(f"gt_source: expected auto, table or surrogate, got {gt_source!r}")
    if gt_source == "auto":
        usable = (surrogate_available(space, root) and surrogate_metric(metric) is not None
                  and importlib.util.find_spec("onnxruntime") is not None)
        gt_source = "surrogate" if usable else "table"
    if gt_source == "table":
        return {}  # the table: config (and store key) as before the surrogate existed
    return {"gt_source": "surrogate", "surrogate_sha256": surrogate(space, root).model_sha256}


register_estimator("partial_training")(PartialTrainingEstimator)
