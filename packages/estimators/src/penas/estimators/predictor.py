"""Learned predictors: random forests over a space's architecture encodings (``space.encode``)
and the zero-cost ensemble (:class:`ZeroCostEnsemble`: proxy scores + encoding, trained on N
labelled archs; :func:`suite_zero_protocol` evaluates it as NAS-Bench-Suite-Zero does).

:class:`RandomForestPredictor` is an :class:`~penas.estimators.base.Estimator` that must be
fitted before it scores: ``task="classifier"`` scores P(class 1) (PE-NAS Ours-B/C: "who passes
the zero-cost vote"), ``task="regressor"`` the predicted target. Registered as
``rf_classifier`` and ``rf_regressor``. scikit-learn is imported lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._registry import register_estimator
from .base import Estimator, ScoreResult

TASKS = ("classifier", "regressor")


class RandomForestPredictor(Estimator):
    """``sklearn`` RandomForest{Classifier,Regressor} on ``space.encode(arch)`` features."""

    name = "rf_predictor"

    def __init__(self, space: Any, task: str = "regressor", n_estimators: int = 30, random_state: int = 0) -> None:
        if task not in TASKS:
            raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
        if n_estimators < 1:
            raise ValueError(f"n_estimators: expected a positive integer, got {n_estimators}")
        super().__init__(space, task=task, n_estimators=int(n_estimators), random_state=int(random_state))
        self.name = f"rf_{task}"
        self._model: Any = None
        self._fit_hash: str = ""

    def features(self, archs: Sequence[Any]) -> np.ndarray:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        return np.stack([np.asarray(self.space.encode(a), dtype=np.float64).ravel() for a in parsed])

    def fit(self, archs: Sequence[Any], targets: Sequence[float] | np.ndarray) -> RandomForestPredictor:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        y = np.asarray(targets)
        if len(archs) != y.shape[0] or len(archs) == 0:
            raise ValueError(f"targets: expected one target per arch (got {len(archs)} archs, {y.shape[0]} targets)")
        cls = RandomForestClassifier if self.cfg["task"] == "classifier" else RandomForestRegressor
        self._model = cls(n_estimators=self.cfg["n_estimators"], random_state=self.cfg["random_state"])
        self._model.fit(self.features(archs), y)
        from .base import config_hash

        ids = [self.space.arch_id(a) if isinstance(a, str) else self.space.format(a) for a in archs]
        self._fit_hash = config_hash({"ids": ids, "y": y.tolist()})
        return self

    @property
    def fitted(self) -> bool:
        return self._model is not None

    def config(self) -> dict[str, Any]:
        return {**super().config(), "fit": self._fit_hash}

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        if self._model is None:
            raise ValueError(f"{self.name}: call fit(archs, targets) before scoring")
        if len(archs) == 0:
            return np.zeros(0)
        x = self.features(archs)
        if self.cfg["task"] == "regressor":
            return np.asarray(self._model.predict(x), dtype=np.float64)
        proba = self._model.predict_proba(x)
        classes = list(self._model.classes_)
        if 1 in classes:
            return np.asarray(proba[:, classes.index(1)], dtype=np.float64)
        return np.zeros(len(archs))  # class 1 never seen: P(pass) = 0 for every arch

    def _score_one(self, arch: Any) -> float:
        return float(self.predict([arch])[0])

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        return ScoreResult(ids, self.predict(parsed), [self.provenance(i) for i in ids])


@register_estimator("rf_classifier")
def _rf_classifier(space: Any, **cfg: Any) -> RandomForestPredictor:
    return RandomForestPredictor(space, task="classifier", **cfg)


@register_estimator("rf_regressor")
def _rf_regressor(space: Any, **cfg: Any) -> RandomForestPredictor:
    return RandomForestPredictor(space, task="regressor", **cfg)


# --- the zero-cost ensemble predictor ------------------------------------------------------
#: Regressors of :class:`ZeroCostEnsemble`. ``hgb`` (scikit-learn HistGradientBoosting, the
#: default, in core), ``xgb``/``lgbm`` (the ``boost`` extra; NAS-Bench-Suite-Zero's XGBoost
#: ensemble), and two small, well-known baselines: ``gp`` (a Gaussian process with an
#: RBF + white-noise kernel: the standard small-N surrogate of BO-style NAS predictors) and
#: ``mlp`` (a two-layer perceptron, the base learner of BANANAS-style predictors, without the
#: ensemble). ``gp``/``mlp`` see standardised features with invalid scores imputed by the
#: training median; the tree models take NaN as it is.
ENSEMBLE_MODELS = ("hgb", "xgb", "lgbm", "gp", "mlp")
#: What the regressor fits: ``rank`` (default) the training targets' normalised ranks in (0, 1] --
#: the goal is a ranking, and on NB201 the few collapsed archs at 10 % accuracy otherwise dominate
#: the squared error -- or ``value`` the targets themselves (NAS-Bench-Suite-Zero).
ENSEMBLE_TARGETS = ("rank", "value")


def check_target(target: str) -> str:
    """``target`` if it is one of :data:`ENSEMBLE_TARGETS`, else a one-line ``ValueError``."""
    if target not in ENSEMBLE_TARGETS:
        raise ValueError(f"target: expected one of {', '.join(ENSEMBLE_TARGETS)}, got {target!r}")
    return target


def fit_target(y: np.ndarray, target: str) -> np.ndarray:
    """The regression target of :data:`ENSEMBLE_TARGETS` for training targets ``y``."""
    if check_target(target) == "value":
        return np.asarray(y, dtype=np.float64)
    from scipy.stats import rankdata

    return rankdata(y) / len(y)


def make_regressor(model: str, seed: int = 0) -> Any:
    """A fresh, seeded regressor for ``model`` (one of :data:`ENSEMBLE_MODELS`).

    Parameters
    ----------
    model : str
        ``hgb``, ``xgb``, ``lgbm``, ``gp`` or ``mlp``.
    seed : int
        ``random_state`` of the regressor.

    Returns
    -------
    object
        A scikit-learn compatible regressor (``fit`` / ``predict``).
    """
    if model == "hgb":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, min_samples_leaf=10, random_state=seed)
    if model in ("xgb", "lgbm"):
        mod = "xgboost" if model == "xgb" else "lightgbm"
        try:
            lib = __import__(mod)
        except ImportError:
            raise ValueError(f"model={model!r} needs {mod}: pip install 'penas-estimators[boost]'") from None
        if model == "xgb":
            return lib.XGBRegressor(n_estimators=300, learning_rate=0.05, max_depth=6, random_state=seed)
        return lib.LGBMRegressor(n_estimators=300, learning_rate=0.05, random_state=seed, verbose=-1)
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "gp":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = ConstantKernel() * RBF() + WhiteKernel()
        reg: Any = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=seed)
    elif model == "mlp":
        from sklearn.neural_network import MLPRegressor

        reg = MLPRegressor(hidden_layer_sizes=(64, 64), alpha=1e-3, max_iter=2000, random_state=seed)
    else:
        raise ValueError(f"model: expected one of {', '.join(ENSEMBLE_MODELS)}, got {model!r}")
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), reg)


class ZeroCostEnsemble(Estimator):
    """A learned predictor on zero-cost proxy scores plus the space's arch encoding.

    Features: the raw scores of ``proxies`` (one build per arch through a
    :class:`~penas.estimators.zero_cost.ZeroCostEstimator` configured by ``zc``, looked up in
    / written to ``store``) followed by ``space.encode(arch)`` (NB201: the one-hot op of each
    edge) when ``encoding`` is true. Fitted on N labelled archs (:meth:`fit`), it scores the
    predicted target. Registered as ``zc_ensemble``.

    Parameters
    ----------
    space : Space
        The space.
    proxies : sequence of str
        Registered proxy names.
    model : str
        One of :data:`ENSEMBLE_MODELS`.
    encoding : bool
        Append ``space.encode(arch)``.
    zc : dict, optional
        Settings of the zero-cost estimator (``protocol``, ``data``, ``batch_size``, ...).
    store : ScoreStore, optional
        Where proxy scores are cached.
    seed : int
        The regressor's seed.
    target : str
        What the regressor fits (:data:`ENSEMBLE_TARGETS`): ``rank`` (default; the score is then a
        predicted normalised rank, higher is better) or ``value`` (the target itself).
    """

    name = "zc_ensemble"

    def __init__(
        self,
        space: Any,
        proxies: Sequence[str] = ("synflow", "nwot", "jacob_cov", "snip", "flops"),
        model: str = "hgb",
        encoding: bool = True,
        zc: dict[str, Any] | None = None,
        store: Any = None,
        seed: int = 0,
        target: str = "rank",
    ) -> None:
        check_target(target)
        if model not in ENSEMBLE_MODELS:
            raise ValueError(f"model: expected one of {', '.join(ENSEMBLE_MODELS)}, got {model!r}")
        if not proxies:
            raise ValueError("proxies: expected at least one proxy name")
        from .zero_cost import ZeroCostEstimator

        self.proxies = list(dict.fromkeys(proxies))
        self.zc = ZeroCostEstimator(space, proxy=self.proxies[0], **dict(zc or {}))
        self.store = store
        super().__init__(space, proxies=self.proxies, model=model, encoding=bool(encoding), seed=int(seed),
                         target=target)
        self._model: Any = None
        self._fit_hash = ""

    def config(self) -> dict[str, Any]:
        return {**super().config(), "zc": self.zc.for_proxy(self.proxies[0]).config_hash, "fit": self._fit_hash}

    def features(self, archs: Sequence[Any]) -> np.ndarray:
        """``[len(archs), n_proxies + encoding]`` features (NaN for an invalid proxy score)."""
        from .scoring import cached_scores

        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        table = cached_scores(self.zc.with_proxies(self.proxies), parsed, self.store)
        cols = [table[p].values for p in self.proxies]
        x = np.stack(cols, 1) if cols else np.zeros((len(parsed), 0))
        if self.cfg["encoding"]:
            enc = np.stack([np.asarray(self.space.encode(a), dtype=np.float64).ravel() for a in parsed])
            x = np.concatenate([x, enc], 1)
        return x

    def fit_features(self, x: np.ndarray, y: Sequence[float] | np.ndarray) -> ZeroCostEnsemble:
        """Fit on a precomputed feature matrix (rows as :meth:`features` builds them)."""
        yy = np.asarray(y, dtype=np.float64)
        if x.shape[0] != yy.shape[0] or yy.shape[0] < 2:
            raise ValueError(f"targets: expected one target per arch and at least 2 (got {x.shape[0]} rows, {yy.shape[0]} targets)")
        self._model = make_regressor(self.cfg["model"], self.cfg["seed"]).fit(x, fit_target(yy, self.cfg["target"]))
        return self

    def fit(self, archs: Sequence[Any], targets: Sequence[float] | np.ndarray) -> ZeroCostEnsemble:
        """Fit on labelled archs (their proxy scores are computed or read from the store)."""
        from .base import config_hash

        self.fit_features(self.features(archs), targets)
        ids = [self.space.arch_id(a) if isinstance(a, str) else self.space.format(a) for a in archs]
        self._fit_hash = config_hash({"ids": ids, "y": np.asarray(targets, dtype=float).tolist()})
        return self

    def predict_features(self, x: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise ValueError(f"{self.name}: call fit(archs, targets) before scoring")
        return np.asarray(self._model.predict(x), dtype=np.float64)

    def _score_one(self, arch: Any) -> float:
        return float(self.predict_features(self.features([arch]))[0])

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        vals = self.predict_features(self.features(parsed)) if ids else np.zeros(0)
        return ScoreResult(ids, vals, [self.provenance(i) for i in ids])


register_estimator("zc_ensemble")(ZeroCostEnsemble)


def suite_zero_protocol(
    x: np.ndarray, y: np.ndarray, n_train: int, seeds: Sequence[int] = tuple(range(10)), model: str = "hgb",
    target: str = "rank",
) -> dict[str, np.ndarray]:
    """NAS-Bench-Suite-Zero's learned-predictor protocol on a feature table.

    For each seed, ``n_train`` rows drawn with ``numpy.random.default_rng(seed)`` train the
    regressor and all other rows are predicted.

    Parameters
    ----------
    x : ndarray
        ``[N, F]`` features (:meth:`ZeroCostEnsemble.features`).
    y : ndarray
        ``[N]`` ground truth (higher is better).
    n_train : int
        Training archs per seed; needs ``2 <= n_train <= N - 2``.
    seeds : sequence of int
        One split (and regressor seed) per entry.
    model : str
        One of :data:`ENSEMBLE_MODELS`.
    target : str
        What the regressor fits (:data:`ENSEMBLE_TARGETS`): ``rank`` (default) or ``value``
        (the Suite-Zero protocol's own choice).

    Returns
    -------
    dict
        ``kt``, ``spearman`` (one value per seed) and ``pred``/``test`` (the last seed's).
    """
    from penas.metrics import kendall_tau, spearman

    n = x.shape[0]
    if not 2 <= n_train <= n - 2:
        raise ValueError(f"n_train: expected 2..{n - 2} for {n} archs, got {n_train}")
    check_target(target)  # its one-line error before any fit
    kts, sps = [], []
    pred = test = np.zeros(0)
    for s in seeds:
        perm = np.random.default_rng(s).permutation(n)
        tr, test = perm[:n_train], perm[n_train:]
        reg = make_regressor(model, int(s)).fit(x[tr], fit_target(y[tr], target))
        pred = np.asarray(reg.predict(x[test]), dtype=np.float64)
        kts.append(kendall_tau(pred, y[test]))
        sps.append(spearman(pred, y[test]))
    return {"kt": np.array(kts), "spearman": np.array(sps), "pred": pred, "test": test}
