"""What one study run produced: the store key of every score set of the grid and the run's record
(:func:`penas.app.study.grid.run_study` fills them, :mod:`penas.app.study.report` reads them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoreKey:
    """One stored score set of the grid (one estimator configuration)."""

    family: str  # zero_shot | one_shot
    label: str  # the report's estimator: proxy@Nb, or one_shot[metric]
    estimator: str
    config_hash: str
    seed: int | None = None  # zero-shot init seed (the replicate axis)
    n_batches: int | None = None
    checkpoint: str | None = None
    epoch: int | None = None
    step: int | None = None
    higher_is_better: bool = True  # the estimator's declared score direction

    @property
    def column(self) -> str:
        """The per-arch CSV column of this key."""
        if self.family == "one_shot":
            return f"{self.label}@epoch{self.epoch:04d}"
        return f"{self.label}@seed{self.seed}"


@dataclass
class StudyResult:
    space: str
    ids: list[str]
    keys: list[StoreKey]
    computed: dict[str, int]  # supernet_steps, one_shot, zero_shot: work done by this run
    sources: dict[str, str]  # data source per stage
    checkpoints: list[str]
    torchrun: str | None
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["keys"] = [asdict(k) for k in self.keys]
        d["n_archs"] = len(self.ids)
        d.pop("ids")
        return d
