"""The cost a search is charged, recomputed from its stage records (so it survives a resume).

* ``archs_fully_evaluated``: distinct archs scored by a ground-truth lookup (``oracle``; one
  full training each) or by partial training (at least one epoch);
* ``table_lookups``: distinct archs a partial-training stage scored at fidelity ``tabular-final``
  (the benchmark's final accuracy at every epoch: an oracle, not training). They are neither
  "fully evaluated" nor partially trained, and charge no epochs;
* ``epochs``: training epochs those evaluations stand for (partial training: the highest
  epoch an arch reached -- the stage's ``role@E``, or for a role scored without an epoch, such as
  REA's partial-training fitness, the estimator's configured ``epochs``; a GT lookup: the space's
  full schedule);
* ``charged_runtime_s``: training seconds those evaluations stand for, per stage and in total, where
  the ground truth predicts a runtime (the NB301 surrogate for ``darts``): a partial-training stage
  is charged the surrogate's runtime to its epoch (``runtime_cost_s`` of the partial-training
  estimator), a GT lookup the full training's runtime; ``None`` where no runtime is known;
* CPU (``time.process_time``) and wall seconds per stage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .run_dir import StageRecord
from .session import Binding, SearchSession

# Full training schedule (epochs) behind one ground-truth number, per benchmark space.
FULL_EPOCHS: dict[str, int] = {"nb201": 200, "nasbench_macro": 50, "darts": 100, "nb101": 108}


def accounting(session: SearchSession) -> dict[str, Any]:
    """The charged cost of ``session``'s stages (see the module docs)."""
    full = FULL_EPOCHS.get(session.space.name)
    epochs_by_arch: dict[str, int] = {}
    gt_archs: set[str] = set()
    looked_up: set[str] = set()
    for rec in session.stages:
        for key, m in rec.output.scores.items():
            role, _, ep = key.partition("@")
            b = session.bindings.get(role)
            if b is None:
                continue
            if b.cost_kind == "epochs":
                e = _epoch(session, b, role, ep)
                if e is not None and _table_lookup(rec, role):
                    looked_up.update(m)
                elif e is not None:
                    for a in m:
                        epochs_by_arch[a] = max(epochs_by_arch.get(a, 0), e)
            elif b.cost_kind == "gt":
                gt_archs.update(m)
    evaluated = set(epochs_by_arch) | gt_archs
    epochs = sum(epochs_by_arch.values()) + (len(gt_archs) * full if full else 0)
    runtime = _runtime_by_stage(session)
    known = [r for r in runtime if r is not None]
    return {
        "archs_fully_evaluated": len(evaluated),
        "archs_trained_partially": len(epochs_by_arch),
        "gt_lookups": len(gt_archs),
        "table_lookups": len(looked_up),
        "epochs": epochs,
        "full_training_epochs": full,
        "full_training_equivalents": (epochs / full) if full else None,
        "charged_runtime_s": float(sum(known)) if known else None,
        "cpu_s": sum(r.cpu_s for r in session.stages),
        "wall_s": sum(r.wall_s for r in session.stages),
        "stages": [
            {"name": r.name, "kept": len(r.output.kept), "cpu_s": round(r.cpu_s, 3), "wall_s": round(r.wall_s, 3),
             "resumed": r.resumed, "fidelity": r.fidelity, "epochs": ep, "charged_runtime_s": rt}
            for r, ep, rt in zip(session.stages, _epochs_by_stage(session), runtime, strict=True)
        ],
    }


def _table_lookup(rec: StageRecord, role: str) -> bool:
    """Whether ``rec`` read ``role`` as the benchmark's final value (no training happened)."""
    return rec.fidelity.get(role) == "tabular-final"


def _epoch(session: SearchSession, b: Binding, role: str, ep: str) -> int | None:
    """The training epoch an ``epochs``-charged role's scores stand for: the ``role@E`` key names
    it; a role scored without one (a search's fitness, e.g. REA on partial training) trains to its
    estimator's configured ``epochs``; ``None`` when neither says."""
    if ep:
        return int(ep)
    e = b.cfg.get("epochs")
    if e is None:
        e = (getattr(session.estimator(role), "cfg", None) or {}).get("epochs")
    return int(e) if e else None


def _charged_roles(session: SearchSession, rec: StageRecord) -> list[tuple[Binding, str, int, dict[str, float]]]:
    """(binding, role, epoch, scores) of the charged roles a stage scored (epoch 0 for a GT lookup)."""
    out = []
    for key, m in rec.output.scores.items():
        role, _, ep = key.partition("@")
        b = session.bindings.get(role)
        if b is None:
            continue
        if b.cost_kind == "gt":
            out.append((b, role, 0, m))
        elif b.cost_kind == "epochs" and not _table_lookup(rec, role):
            e = _epoch(session, b, role, ep)
            if e is not None:
                out.append((b, role, e, m))
    return out


def _epochs_by_stage(session: SearchSession) -> list[int]:
    """Training epochs each stage added (partial training: beyond an arch's earlier epochs)."""
    full = FULL_EPOCHS.get(session.space.name) or 0
    reached: dict[str, int] = {}
    gt: set[str] = set()
    out = []
    for rec in session.stages:
        n = 0
        for b, _, ep, m in _charged_roles(session, rec):
            if b.cost_kind == "gt":
                n += full * len(set(m) - gt)
                gt.update(m)
                continue
            for a in m:
                n += max(0, ep - reached.get(a, 0))
                reached[a] = max(reached.get(a, 0), ep)
        out.append(n)
    return out


def _runtime_by_stage(session: SearchSession) -> list[float | None]:
    """Training runtime (s) each stage charged: a partial-training stage on a surrogate GT the
    estimator's ``runtime_cost_s`` growth over the archs it scored, a GT lookup the full training's
    runtime of each new arch; ``None`` where no runtime is known (recomputed from the stage files)."""
    epochs: dict[str, list[int]] = {}
    gt: set[str] = set()
    out: list[float | None] = []
    for rec in session.stages:
        charged: float | None = None
        for b, role, ep, m in _charged_roles(session, rec):
            if b.cost_kind == "gt":
                new = sorted(set(m) - gt)
                rt = session.gt_runtime(new)
                if rt is not None:
                    gt.update(new)
                    charged = (charged or 0.0) + float(np.nansum(rt))
            elif session.surrogate_runtime(role):
                est = session.estimator(role)
                before = est.runtime_cost_s({a: epochs[a] for a in m if a in epochs})
                for a in m:
                    epochs.setdefault(a, []).append(ep)
                charged = (charged or 0.0) + est.runtime_cost_s({a: epochs[a] for a in m}) - before
        out.append(charged)
    return out


__all__ = ["FULL_EPOCHS", "accounting"]
