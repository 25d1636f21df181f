"""penas's own score tables (:mod:`penas.estimators.score_tables`): build -> load -> store round trip
on real CIFAR-10 batches, per-column provenance, the ``penas:`` resolver, and one-line errors for
bad tables (unknown name, corrupt gzip, a missing column, ...).

The build scores 3 NB201 archs with l2_norm/params (cheap, and the columns' provenance records the
real batch of the protocol); skipped without the shared CIFAR-10 data.
"""

from __future__ import annotations

import gzip
import hashlib
import json

import numpy as np
import pytest

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|",
]
PROXIES = ["l2_norm", "params"]


@pytest.fixture
def real(real_cifar, monkeypatch, tmp_path):
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path / "cache"))
    return real_cifar


@pytest.fixture
def built(real, tmp_path):
    from penas.estimators.score_tables import build_table

    calls: list[tuple[str, int, int]] = []
    path = build_table("nb201", ARCHS, PROXIES, out=tmp_path / "out", store=tmp_path / "build.db", name="t201",
                       progress=lambda *a: calls.append(a))
    return path, calls


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg and msg, msg
    return msg


def test_round_trip_build_load_store(built, tmp_path):
    from penas.estimators.score_tables import build_table, import_into_store, load_table
    from penas.estimators.scoring import cached_scores
    from penas.estimators.store import ScoreStore
    from penas.estimators.zero_cost import ZeroCostEstimator
    from penas.spaces import get_space

    path, calls = built
    assert path.name == "t201.csv.gz" and path.with_name("t201.json").is_file()
    assert calls and calls[-1] == ("seed 42", 3, 3)
    tab = load_table(path)
    assert tab.space == "nb201" and tab.arch_ids == [get_space("nb201").arch_id(a) for a in ARCHS]
    assert list(tab.columns) == PROXIES

    space = get_space("nb201")
    est = ZeroCostEstimator(space, protocol="zero-cost-nas")
    direct = est.score_all(ARCHS, PROXIES)
    for p in PROXIES:
        np.testing.assert_array_equal(tab.columns[p], direct[p])  # repr round trip: exact
        prov = tab.provenance(p)
        assert prov["proxy"] == p and prov["protocol"] == "zero-cost-nas" and prov["seed"] == 42
        assert prov["batch_fingerprint"] == est.data_fingerprint()
        assert prov["data_source"].startswith("cifar10-train")
        assert prov["config_hash"] == est.for_proxy(p).config_hash
        assert prov["provenance"]["versions"]["penas-estimators"]
    assert tab.meta["penas_versions"]["penas-estimators"] and tab.meta["format_version"] == 1
    assert tab.columns["params"][0] > tab.columns["params"][2] > 0  # all-conv cell > sparse cell

    # a rebuild through the same store computes nothing (no progress) and writes the same bytes
    before = path.read_bytes()
    again: list = []
    build_table("nb201", ARCHS, PROXIES, out=path.parent, store=tmp_path / "build.db", name="t201",
                progress=lambda *a: again.append(a))
    assert again == [] and path.read_bytes() == before

    store = ScoreStore(tmp_path / "fresh.db")
    assert import_into_store(tab, store) == len(ARCHS) * len(PROXIES)
    assert import_into_store(tab, store) == 0  # first writer wins
    got = cached_scores(est.with_proxies(PROXIES), ARCHS, store)
    for p in PROXIES:
        assert got[p].n_cached == 3 and got[p].n_computed == 0
        np.testing.assert_array_equal(got[p].values, tab.columns[p])
    row = store.rows("nb201", est.for_proxy("l2_norm").name, est.for_proxy("l2_norm").config_hash)[0]
    assert row.provenance["extra"]["score_table"] == "t201" and row.provenance["arch_id"] == row.arch_id


def test_resolve_score_file_by_name_and_errors(real, tmp_path):
    from penas.estimators.score_tables import build_table, known_tables, resolve_score_file

    build_table("nb201", ARCHS[:2], PROXIES, name="mini201")  # into $PENAS_CACHE/score_tables
    assert "mini201" in known_tables()
    ids, vals = resolve_score_file("penas:mini201:l2_norm", space="nb201")
    assert len(ids) == 2 and np.all(vals > 0)
    ids2, vals2 = resolve_score_file("penas:mini201", space="nb201", column="l2_norm")
    assert ids2 == ids and np.array_equal(vals2, vals)

    with pytest.raises(ValueError) as e:
        resolve_score_file("penas:nope")
    assert "unknown table 'nope'" in _one_line(e) and "mini201" in str(e.value)
    with pytest.raises(ValueError) as e:
        resolve_score_file("penas:mini201:zen")
    assert "no column 'zen'" in _one_line(e) and "l2_norm, params" in str(e.value)
    with pytest.raises(ValueError) as e:
        resolve_score_file("penas:mini201")
    assert "name one" in _one_line(e)
    with pytest.raises(ValueError) as e:
        resolve_score_file("penas:mini201:params", space="nasbench_macro")
    assert "not nasbench_macro" in _one_line(e)
    with pytest.raises(ValueError) as e:
        resolve_score_file("mini201.csv")
    assert _one_line(e).startswith("--score-file: expected penas:<table>")


def _rewrite(path, text: str) -> None:
    """Replace the CSV of a table and put its sha256 into the sidecar (a consistent but edited table)."""
    data = gzip.compress(text.encode(), mtime=0)
    path.write_bytes(data)
    side = path.with_name(path.name.replace(".csv.gz", ".json"))
    meta = json.loads(side.read_text())
    meta["csv_sha256"] = hashlib.sha256(data).hexdigest()
    side.write_text(json.dumps(meta))


def test_bad_tables_give_one_line_errors(built):
    from penas.estimators.score_tables import load_table

    path, _ = built
    text = gzip.decompress(path.read_bytes()).decode()
    side = path.with_name("t201.json")

    path.write_bytes(path.read_bytes()[:40])  # truncated: checksum no longer matches
    with pytest.raises(ValueError) as e:
        load_table(path)
    assert "sha256" in _one_line(e)

    raw = b"\x1f\x8b\x08\x00" + b"\x00" * 30  # a broken gzip whose sha256 the sidecar agrees with
    path.write_bytes(raw)
    meta = json.loads(side.read_text())
    meta["csv_sha256"] = hashlib.sha256(raw).hexdigest()
    side.write_text(json.dumps(meta))
    with pytest.raises(ValueError) as e:
        load_table(path)
    assert "not a readable gzip" in _one_line(e)

    lines = text.splitlines()
    _rewrite(path, "\n".join(",".join(ln.split(",")[:2]) for ln in lines) + "\n")  # the params column dropped
    with pytest.raises(ValueError) as e:
        load_table(path)
    assert "column 'params'" in _one_line(e) and "missing" in str(e.value)

    _rewrite(path, "\n".join([lines[0], lines[1], lines[2].rsplit(",", 1)[0]]) + "\n")  # a short row
    with pytest.raises(ValueError) as e:
        load_table(path)
    assert "line 3" in _one_line(e)

    _rewrite(path, text)
    assert list(load_table(path).columns) == PROXIES  # restored: readable again
    side.unlink()
    with pytest.raises(ValueError) as e:
        load_table(path)
    assert "sidecar" in _one_line(e)


def test_bad_build_inputs_fail_before_work(real, tmp_path):
    from penas.estimators.score_tables import build_table

    db = tmp_path / "never.db"
    for kwargs, needle in (
        ({"proxies": ["l2_norm", "nope"]}, "nope"),
        ({"protocol": "bogus"}, "protocol"),
        ({"archs": "sample:0"}, "archs"),
        ({"seeds": [1, 1]}, "seeds"),
        ({"name": "../x"}, "name"),
    ):
        args = {"proxies": PROXIES, "archs": ARCHS[:1], **kwargs}
        with pytest.raises(ValueError) as e:
            build_table("nb201", args.pop("archs"), args.pop("proxies"), store=db, out=tmp_path / "o", **args)
        assert needle in _one_line(e)
        assert not db.exists()


def shipped(name: str, monkeypatch, tmp_path):
    """The package's table ``name`` (skip when this checkout does not ship it)."""
    from penas.estimators.score_tables import PACKAGE_TABLES, known_tables, load_table

    monkeypatch.setenv("PENAS_CACHE", str(tmp_path))  # only the package's tables
    if not (PACKAGE_TABLES / f"{name}.csv.gz").is_file():
        pytest.skip(f"the table {name} is not shipped in this checkout")
    assert known_tables()[name].parent == PACKAGE_TABLES
    return load_table(name)


def test_shipped_nasbench_macro_table(monkeypatch, tmp_path):
    from penas.spaces import get_space

    tab = shipped("nasbench_macro_zc", monkeypatch, tmp_path)
    space = get_space("nasbench_macro")
    assert tab.arch_ids == [space.format(a) for a in space.enumerate()]  # all 6,561 ids
    assert tab.meta["fill_isomorphs"] and tab.meta["n_scored"] == 3969
    for c in tab.columns:
        prov = tab.provenance(c)
        assert prov["proxy"] == c and prov["protocol"] == "zero-cost-nas" and len(prov["batch_fingerprint"]) == 64
        assert np.isfinite(tab.columns[c]).all()
    for i in (0, 1234, 6560):  # the closed-form parameter count of the space
        assert tab.columns["params"][i] == space.params(space.parse(tab.arch_ids[i]))
    iso = space.format(space.canonical(space.parse("00000001")))  # '00000010' builds the same net
    assert tab.as_dict("nwot")["00000001"] == tab.as_dict("nwot")[iso]


NB201_ZC_COLUMNS = {"l2_norm", "params", "flops", "synflow", "log_synflow", "meco", "meco_opt", "vkdnw_dim",
                    "az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "nwot",
                    "jacob_cov", "zen"}


def test_shipped_nb201_table(monkeypatch, tmp_path):
    """The shipped NB201 table: the 3,000 archs of the zero-cost frontier's seeded sample, the
    frontier's proxies plus PE-NAS's vote (l2_norm, nwot, zen), one real batch (seed 42)."""
    from penas.spaces import get_space

    tab = shipped("nb201_zc", monkeypatch, tmp_path)
    space = get_space("nb201")
    assert len(tab.arch_ids) == len(set(tab.arch_ids)) == 3000
    assert all(space.format(space.parse(i)) == i for i in tab.arch_ids)  # canonical ids
    assert set(tab.columns) == NB201_ZC_COLUMNS
    for c in tab.columns:
        prov = tab.provenance(c)
        assert prov["proxy"] == c and prov["protocol"] == "zero-cost-nas" and prov["seed"] == 42
        assert len(prov["batch_fingerprint"]) == 64
        assert prov["n_valid"] == int(np.isfinite(tab.columns[c]).sum())
    # invalid (NaN) only where a proxy is undefined for an arch (e.g. the input cut off from the
    # output: no gradient, no change of the output); the structural counts are defined everywhere
    for c in ("params", "flops", "az_complexity", "l2_norm", "meco", "vkdnw_dim"):
        assert np.isfinite(tab.columns[c]).all()
    for i in (0, 1500, 2999):  # the closed-form parameter count of the space
        assert tab.columns["params"][i] == space.params(space.parse(tab.arch_ids[i]))
    assert np.array_equal(tab.columns["az_complexity"], tab.columns["flops"])  # one function, two names
