"""The shape of the code, checked on its source (``ast``; nothing under ``packages/`` is imported).

* imports point one way: metrics <- spaces <- supernets <- estimators <- app;
* typer/rich are imported only by the CLI layer (``penas/app/cli.py``, ``penas/app/cli/``,
  ``penas/app/commands/``);
* the tests of a lower package (``tests/metrics|spaces|supernets|estimators``) never import
  ``penas.app``;
* every third-party module a distribution imports is declared in its ``pyproject.toml``
  (optional extras only where the import is lazy: inside a function or an ``ImportError`` guard);
* no import circle between modules (module-level imports; ``if TYPE_CHECKING:`` excluded).

Each check also runs once on a small synthetic tree (``tmp_path``) holding the violation, so a
check that cannot fail would fail here.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: import package -> (rank in the layering, distribution directory under packages/)
LAYERS: dict[str, tuple[int, str]] = {
    "metrics": (0, "metrics"),
    "spaces": (1, "spaces"),
    "supernets": (2, "supernets"),
    "estimators": (3, "estimators"),
    "app": (4, "apps"),
}
CLI_LAYER = ("penas.app.cli", "penas.app.commands")
CLI_ONLY = {"typer", "rich", "click"}
#: import name -> distribution name, where the two differ
IMPORT_TO_DIST = {
    "PIL": "pillow", "yaml": "pyyaml", "sklearn": "scikit-learn", "cv2": "opencv-python",
    "mmseg": "mmsegmentation", "nas_201_api": "nas-bench-201", "nats_bench": "nats-bench",
    "google": "protobuf",
}



@dataclass(frozen=True)
class Imp:
    """One import statement's target module."""

    module: str  # absolute dotted name (a submodule when ``from pkg import submodule``)
    line: int
    top: bool  # at module level, not in a function, not under an ImportError guard
    typing_only: bool  # under ``if TYPE_CHECKING:``


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_pkg: bool


def find_modules(src_roots: list[Path]) -> dict[str, Module]:
    """``{dotted name: Module}`` for every ``.py`` file below the ``src`` roots."""
    out: dict[str, Module] = {}
    for root in src_roots:
        for p in sorted(root.rglob("*.py")):
            parts = list(p.relative_to(root).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            out[".".join(parts)] = Module(".".join(parts), p, is_pkg)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _guards_import_error(node: ast.Try) -> bool:
    for h in node.handlers:
        names = [h.type] if not isinstance(h.type, ast.Tuple) else list(h.type.elts)
        if h.type is None or any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError")
                                 for n in names):
            return True
    return False


def imports_of(path: Path, name: str, is_pkg: bool, known: set[str] | None = None) -> list[Imp]:
    """The imports of one file, relative ones resolved against ``name``."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if is_pkg else name.rpartition(".")[0]
    out: list[Imp] = []

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = package.split(".")
        if node.level > 1:
            base = base[: len(base) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(node: ast.AST, top: bool, typing_only: bool) -> None:
        if isinstance(node, ast.Import):
            out.extend(Imp(a.name, node.lineno, top, typing_only) for a in node.names)
            return
        if isinstance(node, ast.ImportFrom):
            mod = resolve(node)
            targets = [f"{mod}.{a.name}" if known is not None and f"{mod}.{a.name}" in known else mod
                       for a in node.names]
            out.extend(Imp(t, node.lineno, top, typing_only) for t in dict.fromkeys(targets))
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            top = False
        if isinstance(node, ast.If) and _is_main_guard(node.test):
            top = False  # ``if __name__ == "__main__":`` runs when executed, not on import
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, top, True)
            for child in node.orelse:
                visit(child, top, typing_only)
            return
        if isinstance(node, ast.Try) and _guards_import_error(node):
            for child in node.body:
                visit(child, False, typing_only)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, top, typing_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, top, typing_only)

    visit(tree, True, False)
    return out


# --- the checks (each returns one line per violation) -----------------------------------------
def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "penas" and parts[1] in LAYERS:
        return LAYERS[parts[1]][0]
    return None


def layering_violations(modules: dict[str, Module]) -> list[str]:
    bad = []
    for m in modules.values():
        own = _layer(m.name)
        for imp in imports_of(m.path, m.name, m.is_pkg):
            other = _layer(imp.module)
            if own is not None and other is not None and other > own:
                bad.append(f"{m.path.relative_to(m.path.parents[3])}:{imp.line}: {m.name} imports {imp.module} "
                           "(against metrics <- spaces <- supernets <- estimators <- app)")
    return bad


def _in_cli_layer(name: str) -> bool:
    return any(name == c or name.startswith(c + ".") for c in CLI_LAYER)


def cli_leaks(modules: dict[str, Module]) -> dict[str, list[str]]:
    """``{module: [lines]}`` of modules outside the CLI layer importing typer/rich/click."""
    out: dict[str, list[str]] = {}
    for m in modules.values():
        if _in_cli_layer(m.name):
            continue
        for imp in imports_of(m.path, m.name, m.is_pkg):
            if imp.module.split(".")[0] in CLI_ONLY:
                out.setdefault(m.name, []).append(f"{m.path}:{imp.line}: {m.name} imports {imp.module}")
    return out


def lower_tests_importing_upper(tests_root: Path) -> list[str]:
    """Lines where ``tests/<pkg>`` of a library package imports ``penas.app``."""
    bad = []
    for pkg in LAYERS:
        d = tests_root / pkg
        if pkg == "app" or not d.is_dir():
            continue
        for p in sorted(d.rglob("*.py")):
            for imp in imports_of(p, "tests." + p.stem, False):
                if imp.module == "penas.app" or imp.module.startswith("penas.app."):
                    bad.append(f"{p}:{imp.line}: tests of penas.{pkg} import {imp.module}")
    return bad


def _declared(pyproject: Path) -> tuple[set[str], set[str]]:
    """(required, optional) distribution names of one pyproject.toml, normalised."""
    proj = tomllib.loads(pyproject.read_text())["project"]

    def names(reqs: list[str]) -> set[str]:
        out = set()
        for r in reqs:
            n = r.split(";")[0]
            for stop in "<>=!~[ (":
                n = n.split(stop)[0]
            out.add(_norm(n))
        return out

    required = names(proj.get("dependencies", []))
    optional = set().union(*(names(v) for v in proj.get("optional-dependencies", {}).values()))
    return required, optional


def _norm(dist: str) -> str:
    return dist.strip().lower().replace("_", "-").replace(".", "-")


def _dist_of(import_name: str) -> str:
    top = import_name.split(".")[0]
    if top == "penas":
        parts = import_name.split(".")
        sub = parts[1] if len(parts) > 1 else ""
        return "penas-" + {"app": "app"}.get(sub, sub)
    return _norm(IMPORT_TO_DIST.get(top, top))


def undeclared_imports(packages_root: Path) -> list[str]:
    bad = []
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for pkg, (_, d) in LAYERS.items():
        dist_dir = packages_root / d
        required, optional = _declared(dist_dir / "pyproject.toml")
        own = _dist_of(f"penas.{pkg}")
        modules = find_modules([dist_dir / "src"])
        for m in modules.values():
            for imp in imports_of(m.path, m.name, m.is_pkg, set(modules)):
                top = imp.module.split(".")[0]
                if not top or top in stdlib or imp.typing_only:
                    continue
                dist = _dist_of(imp.module)
                if dist == own:
                    continue
                where = f"{m.path.relative_to(packages_root)}:{imp.line}"
                if dist in required:
                    continue
                if dist in optional:
                    if imp.top:
                        bad.append(f"{where}: {imp.module} (optional extra {dist!r}) imported at module level")
                    continue
                bad.append(f"{where}: {imp.module} needs {dist!r}, which {d}/pyproject.toml does not declare")
    return bad


def import_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components (size > 1, or a self-import) of the module-level import graph."""
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for m in modules.values():
        graph[m.name] = {i.module for i in imports_of(m.path, m.name, m.is_pkg, known)
                         if i.top and not i.typing_only and i.module in known}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan, recursive (module graphs are shallow)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


# --- the tests on this repository ----------------------------------------------------------------
def _repo_modules() -> dict[str, Module]:
    return find_modules([REPO / "packages" / d / "src" for _, d in LAYERS.values()])


def _fmt(lines: list[str]) -> str:
    return "\n".join(lines)


def test_imports_point_down_the_layers():
    assert not (bad := layering_violations(_repo_modules())), _fmt(bad)


def test_typer_and_rich_only_in_the_cli_layer():
    leaks = cli_leaks(_repo_modules())
    new = [ln for name, lines in sorted(leaks.items()) for ln in lines]
    assert not new, _fmt(new)


def test_lower_package_tests_do_not_import_the_app():
    assert not (bad := lower_tests_importing_upper(REPO / "tests")), _fmt(bad)


def test_every_import_is_declared():
    assert not (bad := undeclared_imports(REPO / "packages")), _fmt(bad)


def test_no_import_circles():
    cycles = import_cycles(_repo_modules())
    assert not cycles, _fmt([" <-> ".join(c) for c in cycles])


# --- each check catches its violation (synthetic trees: the repository has none to show) -------
def _write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    for rel, text in files.items():
        _write(tmp_path, rel, text)
    return find_modules([tmp_path])


def test_checks_catch_their_violations(tmp_path):
    mods = _tree(tmp_path, {
        "penas/spaces/__init__.py": "from . import _all\n",
        "penas/spaces/_all.py": "from . import nb\n",
        "penas/spaces/nb.py": "from . import register\nfrom penas.estimators import x\n",
        "penas/spaces/ok.py": "def f():\n    import penas.metrics\n",
        "penas/app/runs.py": "def f():\n    from rich.progress import Progress\n",
        "penas/app/cli.py": "import typer\n",
        "penas/app/commands/x.py": "import rich\n",
        "penas/app/lazy.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import runs\n",
        "penas/app/__init__.py": "",
    })
    assert [b.split(": ", 1)[1] for b in layering_violations(mods)] == [
        "penas.spaces.nb imports penas.estimators (against metrics <- spaces <- supernets <- estimators <- app)"]
    assert set(cli_leaks(mods)) == {"penas.app.runs"}
    assert import_cycles(mods) == [["penas.spaces", "penas.spaces._all", "penas.spaces.nb"]]


def test_lower_tests_check_catches_an_app_import(tmp_path):
    _write(tmp_path, "spaces/test_x.py", "def test():\n    from penas.app.runs import GroundTruth\n")
    _write(tmp_path, "app/test_y.py", "import penas.app\n")
    bad = lower_tests_importing_upper(tmp_path)
    assert len(bad) == 1 and "tests of penas.spaces import penas.app.runs" in bad[0]


@pytest.mark.parametrize(("code", "expect"), [
    ("import sklearn\n", "needs 'scikit-learn'"),
    ("import ray\n", "optional extra 'ray'"),
    ("def f():\n    import ray\n", None),
    ("try:\n    import ray\nexcept ImportError:\n    ray = None\n", None),
    ("import numpy, json\nfrom penas.spaces import x\n", None),
    ("from penas.supernets import y\n", "needs 'penas-supernets'"),
])
def test_declared_imports_check(tmp_path, code, expect):
    pkg = tmp_path / "spaces"
    _write(pkg, "pyproject.toml", '[project]\nname = "penas-spaces"\ndependencies = ["numpy>=1"]\n'
                                  '[project.optional-dependencies]\nray = ["ray>=2"]\n')
    _write(pkg, "src/penas/spaces/__init__.py", "")
    _write(pkg, "src/penas/spaces/m.py", code)
    for _, d in LAYERS.values():
        if d != "spaces":
            _write(tmp_path / d, "pyproject.toml", f'[project]\nname = "penas-{d}"\n')
            (tmp_path / d / "src").mkdir(parents=True, exist_ok=True)
    bad = undeclared_imports(tmp_path)
    if expect is None:
        assert bad == []
    else:
        assert len(bad) == 1 and expect in bad[0], bad
