"""Every registry of every package behaves the same: named entries, one-line errors for unknown
names, dict-like reads. Registries live in each package's private ``_registry`` module and are
re-exported where users look for them."""

from __future__ import annotations

import pytest

from penas.spaces.registry import Registry, RegistryError


def _registries() -> dict[str, Registry]:
    import penas.app.segmentation.backends  # noqa: F401  (register)
    import penas.app.strategies  # noqa: F401
    import penas.app.supernet.train  # noqa: F401
    import penas.app.training.data  # noqa: F401
    import penas.app.training.targets  # noqa: F401
    import penas.estimators  # noqa: F401
    import penas.spaces
    import penas.supernets
    import penas.supernets.trainer  # noqa: F401  (losses)
    from penas.app import _registry as app_reg
    from penas.estimators import _registry as est_reg
    from penas.estimators.proxies import _registry as proxy_reg
    from penas.supernets import _registry as sn_reg

    out = {"space": penas.spaces.SPACES, "estimator": est_reg.ESTIMATORS, "proxy": proxy_reg.PROXIES,
           "supernet": sn_reg.SUPERNETS, "sampler": sn_reg.SAMPLERS, "loss": sn_reg.LOSSES,
           "distillation loss": sn_reg.DISTILL}
    out.update(app_reg.ALL)
    return out


REGISTRIES = _registries()


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_registry_contract(kind):
    reg = REGISTRIES[kind]
    assert isinstance(reg, Registry) and reg.kind == kind
    names = reg.names()
    assert names and names == sorted(set(names)) and len(reg) == len(names) == len(reg.values())
    for n in names:
        assert n in reg and reg[n] is reg.get(n)
    assert [n for n, _ in reg.items()] == names
    with pytest.raises(RegistryError) as e:
        reg.get("no-such-entry")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"unknown {kind} 'no-such-entry'; expected one of: ")
    assert reg.get("no-such-entry", None) is None


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_a_name_cannot_be_taken_twice(kind):
    reg = REGISTRIES[kind]
    name = reg.names()[0]
    with pytest.raises(RegistryError, match="already registered"):
        reg.register(name)(object())


def test_public_names_stay_on_the_package_faces():
    import penas.estimators as e
    import penas.spaces as s
    import penas.supernets as n
    from penas.app.strategies import STRATEGIES
    from penas.estimators.proxies import PROXIES, get_proxy, list_proxies, register_proxy  # noqa: F401

    assert s.get_space("nb201").name == "nb201" and "nb201" in s.list_spaces() and s.register_space
    assert "synflow" in e.list_estimators() and e.get_estimator("params", "nb201").name == "params"
    assert e.register_estimator and e.higher_is_better("synflow") is True
    assert "nb201" in n.list_supernets() and n.register_supernet and n.get_supernet
    assert "rea" in STRATEGIES and "synflow" in PROXIES and get_proxy("synflow").name == "synflow"
