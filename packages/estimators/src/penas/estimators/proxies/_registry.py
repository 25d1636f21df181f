"""The proxy registry (timm's ``_registry.py`` pattern): :data:`PROXIES`, :func:`register_proxy`.

Proxy modules import :func:`register_proxy` from here, never from the package face, so
:mod:`penas.estimators.proxies` can import every proxy module without an import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from penas.spaces.registry import Registry

from .context import SHARED_PRODUCTS, ProxyContext

ProxyFn = Callable[[ProxyContext], float]


@dataclass(frozen=True)
class ProxySpec:
    """A registered proxy and its declared behaviour."""

    name: str
    fn: ProxyFn
    higher_is_better: bool = True
    needs: frozenset[str] = frozenset()
    needs_data: bool = True
    needs_grad: bool = True
    bn: bool = True
    modifies_weights: bool = False
    tasks: tuple[str, ...] = ("classification", "segmentation")
    order_invariant: bool = True
    doc: str = ""
    #: bumped when a fix changes the proxy's values; part of the score-store key from 2 on, so
    #: scores stored before the fix are never served for the fixed proxy (1 keeps old keys valid)
    version: int = 1

    def __call__(self, ctx: ProxyContext) -> float:
        return self.fn(ctx)


PROXIES: Registry[ProxySpec] = Registry("proxy")


def register_proxy(
    name: str,
    *,
    higher_is_better: bool = True,
    needs: tuple[str, ...] = (),
    needs_data: bool = True,
    needs_grad: bool = True,
    bn: bool = True,
    modifies_weights: bool = False,
    tasks: tuple[str, ...] = ("classification", "segmentation"),
    order_invariant: bool = True,
    aliases: tuple[str, ...] = (),
    version: int = 1,
) -> Callable[[ProxyFn], ProxyFn]:
    """Register ``fn`` as proxy ``name`` (and under each alias).

    ``version``: bump it whenever a change alters the proxy's values (see :attr:`ProxySpec.version`).
    """
    if version < 1:
        raise ValueError(f"version: expected an integer >= 1, got {version}")
    unknown = set(needs) - SHARED_PRODUCTS
    if unknown:
        raise ValueError(f"needs: unknown shared-pass products {sorted(unknown)}; expected {sorted(SHARED_PRODUCTS)}")

    def deco(fn: ProxyFn) -> ProxyFn:
        for key in (name, *aliases):
            spec = ProxySpec(
                name=key,
                fn=fn,
                higher_is_better=higher_is_better,
                needs=frozenset(needs),
                needs_data=needs_data,
                needs_grad=needs_grad,
                bn=bn,
                modifies_weights=modifies_weights,
                tasks=tasks,
                order_invariant=order_invariant,
                doc=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "",
                version=version,
            )
            PROXIES.register(key)(lambda spec=spec: spec)
        return fn

    return deco


def get_proxy(name: str) -> ProxySpec:
    """The :class:`ProxySpec` registered as ``name`` (one-line error listing known names)."""
    return PROXIES.create(name)


def list_proxies(pattern: str = "*") -> list[str]:
    return PROXIES.names(pattern)
