"""Adapters to the official benchmark APIs (optional extras, imported lazily).

* NB201 / NATS-tss ``.pth``/pickle files through ``nats_bench`` or ``nas_201_api``
  (``pip install 'penas-spaces[nb201]'``).
* The official NAS-Bench-301 surrogate ensemble through ``nasbench301``
  (``pip install 'penas-spaces[nb301-official]'``) plus the user's downloaded model files. The
  portable NB301 surrogate (YAHPO Gym's ONNX model, ``penas-spaces[nb301]``) is
  :mod:`penas.spaces.benchmarks.surrogates`.

The conversion logic (:func:`table_from_nb201_api`, :func:`table_from_nb301_model`) only
duck-types the API objects, so it is tested with small fakes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .table import BenchmarkTable

#: NB201 datasets of the official API and which accuracy keys are meaningful for each.
#: cifar10-valid: trained on train 25k, ``valid-accuracy`` on valid 25k, ``test-accuracy`` on the 10k test set.
#: cifar10: trained on train+valid 50k, only ``test-accuracy``. cifar100/ImageNet16-120: x-valid / x-test halves.
OFFICIAL_NB201_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "cifar10-valid": (("valid-accuracy", "valid_acc"), ("test-accuracy", "test_acc")),
    "cifar10": (("test-accuracy", "test_acc"),),
    "cifar100": (("valid-accuracy", "valid_acc"), ("test-accuracy", "test_acc")),
    "ImageNet16-120": (("valid-accuracy", "valid_acc"), ("test-accuracy", "test_acc")),
}


def _missing(pkg: str, extra: str) -> ImportError:
    return ImportError(f"{pkg} is not installed; pip install 'penas-spaces[{extra}]'")


def load_nb201_api(path: str | os.PathLike[str]) -> Any:
    """The official API over ``path`` (NATS-tss via ``nats_bench``, else NB201 via ``nas_201_api``)."""
    p = str(Path(path).expanduser())
    try:
        from nats_bench import create  # type: ignore[import-not-found]
    except ImportError:
        create = None
    if create is not None:
        return create(p, "tss", fast_mode=Path(p).is_dir(), verbose=False)
    try:
        from nas_201_api import NASBench201API  # type: ignore[import-not-found]
    except ImportError:
        raise _missing("nats_bench / nas_201_api", "nb201") from None
    return NASBench201API(p, verbose=False)


def table_from_nb201_api(api: Any, datasets: Iterable[str] = tuple(OFFICIAL_NB201_METRICS), hp: str = "200",
                         ) -> BenchmarkTable:
    """Every arch of an official NB201/NATS-tss API object -> a table (accuracies %, params/flops counts,
    latency ms, train_time s). ``hp`` is the NATS schedule ("12" or "200"); NB201 v1 ignores it."""
    n = len(api)
    ids = [str(api.arch(i)) for i in range(n)]
    table = BenchmarkTable("nb201", ids, meta={"id_form": "nb201_arch_str", "source_format": "nb201-official",
                                                "hp": hp})
    table.add("any", "nb201_index", np.arange(n, dtype=np.int64))
    for ds in datasets:
        if ds not in OFFICIAL_NB201_METRICS:
            raise ValueError(f"datasets: unknown NB201 dataset {ds!r}; expected {', '.join(OFFICIAL_NB201_METRICS)}")
        cols: dict[str, np.ndarray] = {m: np.full(n, np.nan) for _, m in OFFICIAL_NB201_METRICS[ds]}
        params, flops, lat, ttime = (np.full(n, np.nan) for _ in range(4))
        for i in range(n):
            info = _more_info(api, i, ds, hp)
            for key, metric in OFFICIAL_NB201_METRICS[ds]:
                cols[metric][i] = float(info.get(key, math.nan))
            ttime[i] = float(info.get("train-all-time", math.nan))
            cost = api.get_cost_info(i, ds)
            params[i] = round(float(cost["params"]) * 1e6)
            flops[i] = round(float(cost["flops"]) * 1e6)
            lat[i] = float(cost.get("latency", math.nan)) * 1e3
        for metric, v in cols.items():
            table.add(ds, metric, v, unit="%")
        table.add(ds, "params", params, unit="count")
        table.add(ds, "flops", flops, unit="count", description="official FLOPs (M x 1e6)")
        table.add(ds, "latency_nb201", lat, unit="ms", description="official NB201 latency (GPU, batch 256)")
        table.add(ds, "train_time", ttime, unit="s", higher_is_better=False)
    return table


def _more_info(api: Any, i: int, ds: str, hp: str) -> dict[str, Any]:
    try:
        return api.get_more_info(i, ds, iepoch=None, hp=hp, is_random=False)
    except TypeError:  # nas_201_api v1 has no ``hp``
        return api.get_more_info(i, ds, iepoch=None, is_random=False)


def import_nb201_official(path: str | os.PathLike[str]) -> BenchmarkTable:
    """An official NB201 ``.pth`` or NATS-tss file/dir -> the nb201 table."""
    if not Path(path).exists():
        raise FileNotFoundError(f"file: {str(path)!r} does not exist")
    return table_from_nb201_api(load_nb201_api(path))


def load_nb301_model(model_dir: str | os.PathLike[str]) -> Any:
    """The NB301 XGB/GNN surrogate ensemble from the user's ``nb_models`` directory."""
    try:
        import nasbench301  # type: ignore[import-not-found]
    except ImportError:
        raise _missing("nasbench301", "nb301-official") from None
    if not Path(model_dir).is_dir():
        raise FileNotFoundError(f"model_dir: {str(model_dir)!r} is not a directory of NB301 model files")
    return nasbench301.load_ensemble(str(model_dir))


def table_from_nb301_model(model: Any, arch_ids: Sequence[str], to_genotype: Callable[[str], Any],
                           space: str = "darts") -> BenchmarkTable:
    """Surrogate-predicted CIFAR-10 validation accuracy (noise-free) for ``arch_ids``."""
    vals = np.array([float(model.predict(config=to_genotype(a), representation="genotype", with_noise=False))
                     for a in arch_ids])
    table = BenchmarkTable(space, list(arch_ids), meta={"source_format": "nb301-surrogate"})
    table.add("cifar10", "valid_acc_surrogate", vals, unit="%", higher_is_better=True,
              description="NB301 surrogate prediction (no noise)")
    return table
