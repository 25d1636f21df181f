"""A light decorator registry (timm's ``register_model``/``create_model`` pattern).

Every kind of plug-in (spaces, proxies, estimators, strategies, supernets, losses, ...) gets
one :class:`Registry`, held by its package's private ``_registry`` module. Entries register at
import of the package that defines them; there is no plug-in scanning and no import side
effect beyond filling the dict.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_MISSING: Any = object()


class RegistryError(KeyError):
    """Unknown or duplicate registry name. ``str()`` is a one-line message."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Name -> factory mapping for one kind of component.

    >>> spaces = Registry("space")
    >>> @spaces.register("toy")
    ... def toy(): return 1
    >>> spaces.create("toy")
    1
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}

    def register(self, name: str | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            key = name or getattr(factory, "name", None) or factory.__name__
            if key in self._entries and self._entries[key] is not factory:
                raise RegistryError(f"{self.kind} {key!r} is already registered")
            self._entries[key] = factory
            return factory

        return deco

    def get(self, name: str, default: Any = _MISSING) -> Callable[..., T]:
        """The entry registered as ``name``; ``default`` (when given) for an unknown name, else a
        one-line :class:`RegistryError` listing the known names."""
        try:
            return self._entries[name]
        except KeyError:
            if default is not _MISSING:
                return default
            known = ", ".join(sorted(self._entries)) or "(none)"
            raise RegistryError(f"unknown {self.kind} {name!r}; expected one of: {known}") from None

    def __getitem__(self, name: str) -> Callable[..., T]:
        """The entry registered as ``name`` (as :meth:`get`; a registry reads like a dict)."""
        return self.get(name)

    def items(self) -> list[tuple[str, Callable[..., T]]]:
        """``(name, entry)`` pairs, sorted by name."""
        return [(n, self._entries[n]) for n in self.names()]

    def values(self) -> list[Callable[..., T]]:
        """The entries, in registration order."""
        return list(self._entries.values())

    def create(self, name: str, /, **kwargs: Any) -> T:
        """Instantiate ``name`` with ``kwargs`` (``None`` values are dropped, as in timm)."""
        return self.get(name)(**{k: v for k, v in kwargs.items() if v is not None})

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching the ``fnmatch`` pattern (``"*"``: all)."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
