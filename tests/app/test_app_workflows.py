"""The workflows as a library: the notebook use the apps README shows, run for real."""

from __future__ import annotations

import json

from penas.estimators import ESTIMATORS, Estimator, register_estimator


def _register_convs():
    if "test_convs" in ESTIMATORS:
        return

    @register_estimator("test_convs")
    class Convs(Estimator):  # counts conv edges of an NB201 cell (a user's own estimator)
        name = "test_convs"

        def _score_one(self, arch):
            return sum("conv" in op for op in self.space.format(arch).split("|"))


def test_pe_nas_with_a_user_estimator_from_python(tmp_path, bench_root):
    _register_convs()
    from penas.app.workflows import SearchConfig, search

    res = search(SearchConfig(space="nb201", strategy="pe-nas-a", proxies=["test_convs", "params", "flops"],
                              one_shot="none", progress=False, out=str(tmp_path / "run")))
    assert res["chosen"] and res["gt"] is not None
    stored = json.loads((tmp_path / "run" / "result.json").read_text())
    assert stored["chosen"] == res["chosen"]
    assert "test_convs" in json.dumps(stored["bindings"])


def test_workflow_api_imports_no_cli_layer():
    import subprocess
    import sys

    code = ("import sys, penas.app.workflows; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('typer', 'rich') or m.startswith(('penas.app.cli', 'penas.app.commands'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
