"""The search-space interface every space implements.

An architecture is an immutable, hashable value (``A``); its canonical string id
(``space.format(arch)``) is the cache key everywhere in penas. ``space.parse(id)``
round-trips it and rejects malformed input with :class:`ArchParseError`, whose message
is a single line naming what is wrong.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily by the builders
    import torch.nn as nn

A = TypeVar("A")


class ArchParseError(ValueError):
    """An architecture string or config is malformed (one-line message)."""


class SpaceNotFiniteError(TypeError):
    """``enumerate()`` was called on a space that is too large to enumerate."""


class UnsatisfiableConstraintError(ValueError):
    """Constrained sampling could not find an architecture satisfying the constraint."""


#: How many string -> canonical id results one space instance remembers (:meth:`Space.arch_id`).
ARCH_ID_MEMO = 1 << 15


class Space(ABC, Generic[A]):
    """Abstract search space.

    Subclasses set ``name``, ``datasets`` (the datasets ``build`` knows, first is default)
    and implement the abstract methods. Cheap to construct: nothing is loaded from disk.
    """

    name: str = ""
    datasets: tuple[str, ...] = ("cifar10",)
    _arch_id_memo: dict[str, str]  # set on first use by arch_id

    # --- identity -------------------------------------------------------------------
    @abstractmethod
    def parse(self, text: str) -> A:
        """Parse a canonical id (or an accepted alternative form) into an arch."""

    @abstractmethod
    def format(self, arch: A) -> str:
        """The canonical string id of ``arch``."""

    def arch_id(self, arch: A | str) -> str:
        """Canonical id of an arch or of any accepted string form of one.

        The ids of strings are remembered per space instance (up to :data:`ARCH_ID_MEMO` of them):
        a search looks the same canonical ids up many times, and ``parse`` + ``format`` is a pure
        function of the string. Malformed strings are not remembered and raise every time.
        """
        if not isinstance(arch, str):
            return self.format(arch)
        try:
            return self._arch_id_memo[arch]
        except (AttributeError, KeyError):
            pass
        got = self.format(self.parse(arch))
        if got == arch:
            got = arch  # one string object for key and value
        memo = self.__dict__.setdefault("_arch_id_memo", {})
        if len(memo) >= ARCH_ID_MEMO:
            memo.clear()
        memo[arch] = got
        return got

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the :meth:`arch_id` memo (a worker builds its own)."""
        state = dict(self.__dict__)
        state.pop("_arch_id_memo", None)
        return state

    def canonical(self, arch: A) -> A:
        """Representative of ``arch``'s isomorphism class (identity where none applies)."""
        return arch

    # --- sampling & enumeration ------------------------------------------------------
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> A:
        """One architecture drawn uniformly (or by the space's documented prior)."""

    @abstractmethod
    def mutate(self, arch: A, rng: np.random.Generator) -> A:
        """A neighbour of ``arch`` that differs from it in one decision."""

    @abstractmethod
    def encode(self, arch: A) -> np.ndarray:
        """A fixed-length numeric feature vector (for predictors)."""

    @property
    def size(self) -> int | None:
        """Number of architectures, or ``None`` when not known exactly."""
        return None

    def enumerate(self) -> Iterator[A]:
        raise SpaceNotFiniteError(f"space {self.name!r} cannot be enumerated")

    def sample_many(self, n: int, rng: np.random.Generator, unique: bool = True) -> list[A]:
        """``n`` sampled archs (distinct canonical ids when ``unique``)."""
        if n < 0:
            raise ValueError(f"n: expected a non-negative integer, got {n}")
        if unique and self.size is not None and n > self.size:
            raise ValueError(f"n: asked for {n} distinct archs but space {self.name!r} has {self.size}")
        out: list[A] = []
        seen: set[str] = set()
        tries = 0
        while len(out) < n:
            a = self.sample(rng)
            tries += 1
            key = self.format(a)
            if unique and key in seen:
                if tries > 100 * n + 1000:
                    raise UnsatisfiableConstraintError(f"could not draw {n} distinct archs from {self.name!r}")
                continue
            seen.add(key)
            out.append(a)
        return out

    # --- models -----------------------------------------------------------------------
    def check_dataset(self, dataset: str) -> str:
        if dataset not in self.datasets:
            raise ValueError(f"dataset: {self.name!r} supports {', '.join(self.datasets)}; got {dataset!r}")
        return dataset

    @abstractmethod
    def build(self, arch: A, dataset: str | None = None, **kwargs: Any) -> nn.Module:
        """The stand-alone network exactly as the benchmark trained it."""

    def params(self, arch: A, dataset: str | None = None) -> int:
        """Trainable parameter count of ``build(arch, dataset)`` (see the space docs)."""
        model = self.build(arch, dataset)
        return int(sum(p.numel() for p in model.parameters() if p.requires_grad))

    def flops(self, arch: A, dataset: str | None = None) -> int:
        """Multiply-accumulates of one forward pass at the space's input size."""
        raise NotImplementedError(f"space {self.name!r} does not count FLOPs")

    def input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        """(C, H, W) of one input image for ``dataset``."""
        return (3, 32, 32)

    def num_classes(self, dataset: str | None = None) -> int:
        return 10

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def parse_many(space: Space[A], texts: Sequence[str]) -> list[A]:
    return [space.parse(t) for t in texts]
