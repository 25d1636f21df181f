"""``penas-app scores build-table|list-tables|import-table`` through the real entry point.

A tiny real run (2 NB201 archs, l2_norm/params on the protocol's real CIFAR-10 batch) and the
one-line errors (exit code 2, nothing written) of bad options; skipped without the shared data.
"""

from __future__ import annotations

import pytest

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
]


@pytest.fixture
def real(real_cifar, monkeypatch, tmp_path):
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_build_list_import(cli, real):
    from penas.estimators.score_tables import load_table, resolve_score_file
    from penas.estimators.store import ScoreStore

    archs = real / "archs.txt"
    archs.write_text("\n".join(ARCHS) + "\n")
    code, out, err = cli("scores", "build-table", "--space", "nb201", "--archs", str(archs),
                         "--proxies", "l2_norm,params", "--name", "cli201", "--no-progress")
    assert code == 0, err
    assert "2 archs" in out and "penas:cli201" in out
    path = real / "cache" / "score_tables" / "cli201.csv.gz"
    assert path.is_file() and (real / "cache" / "score_tables" / "cli201.db").is_file()
    code, out, _ = cli("scores", "list-tables")
    assert code == 0 and "cli201" in out and "nb201" in out
    ids, vals = resolve_score_file("penas:cli201:params", space="nb201")
    assert len(ids) == 2 and vals[0] > vals[1]
    code, out, err = cli("scores", "import-table", "cli201", "--store", str(real / "s.db"))
    assert code == 0, err
    assert out.startswith("4 new rows")
    assert ScoreStore(real / "s.db").count(space="nb201") == 4
    import hashlib

    digest = hashlib.sha256(archs.read_bytes()).hexdigest()[:16]  # the file, not this machine's path
    assert load_table("cli201").meta["archs"] == f"file archs.txt (sha256 {digest}, 2 ids)"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--space", "nope", "--proxies", "l2_norm"], "--space: unknown space 'nope'"),
        (["--space", "nb201", "--proxies", "l2_norm,zz"], "proxies: unknown proxy 'zz'"),
        (["--space", "nb201", "--proxies", "l2_norm", "--seeds", "1,x"], "--seeds: expected comma-separated"),
        (["--space", "nb201", "--proxies", "l2_norm", "--archs", "sample:0"], "archs: expected"),
        (["--space", "nb201", "--proxies", "l2_norm", "--protocol", "bogus"], "protocol: expected one of"),
        (["--space", "nb201", "--proxies", "l2_norm", "--shard-size", "0"], "--shard-size"),
    ],
)
def test_build_table_bad_options(cli, real, argv, needle):
    code, out, err = cli("scores", "build-table", *argv, "--no-progress")
    assert code == 2
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1, err
    assert not (real / "cache" / "score_tables").exists() or not any((real / "cache" / "score_tables").iterdir())


def test_import_unknown_table(cli, real):
    code, _, err = cli("scores", "import-table", "nope", "--store", str(real / "s.db"))
    assert code == 2 and "unknown table 'nope'" in err and err.count("\n") == 1
    assert not (real / "s.db").exists()


@pytest.mark.data
def test_shipped_table_feeds_search_and_evaluate(cli, bench_root, tmp_path):
    """``--score-file NAME=penas:<table>[:<column>]`` reads penas's own table (column NAME by default)."""
    import json

    from penas.estimators.score_tables import load_table

    tab = load_table("nasbench_macro_zc")
    out = tmp_path / "s"
    code, _, err = cli("search", "nasbench_macro", "--strategy", "pe-nas-a", "--candidates", "sample:200",
                       "--score-file", "l2_norm=penas:nasbench_macro_zc", "--score-file", "nwot=penas:nasbench_macro_zc",
                       "--score-file", "zen=penas:nasbench_macro_zc:synflow", "--one-shot", "none",
                       "--out", str(out), "--no-progress")
    assert code == 0, err
    res = json.loads((out / "result.json").read_text())
    assert res["bindings"]["zc:nwot"]["score_file"] == "penas:nasbench_macro_zc:nwot"
    assert res["bindings"]["zc:zen"]["score_file"] == "penas:nasbench_macro_zc:synflow"
    vote = json.loads(sorted((out / "stages").glob("*zc-vote*.json"))[0].read_text())
    nwot = dict(zip(tab.arch_ids, tab.columns["nwot"], strict=True))
    got = vote["output"]["scores"]["zc:nwot"]
    assert len(got) == 200 and all(v == pytest.approx(nwot[a]) for a, v in got.items())
    code, stdout, err = cli("evaluate", "nasbench_macro", "--estimators", "nwot,params", "--archs", "sample:60",
                            "--score-file", "nwot=penas:nasbench_macro_zc", "--out", str(tmp_path / "e"))
    assert code == 0, err
    assert "penas:nasbench_macro_zc" in stdout
