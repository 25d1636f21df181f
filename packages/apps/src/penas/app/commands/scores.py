"""penas-app sub-commands (scores). Adds its commands to penas.app.commands._app.app on import.

``penas-app scores build-table|list-tables|import-table``: penas's own precomputed zero-cost
score tables (:mod:`penas.estimators.score_tables`). ``build-table`` scores through a score store,
so rerunning a killed build computes only what is missing. Errors are one line, exit code 2,
before any scoring starts.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app

scores_app = typer.Typer(
    name="scores",
    help="penas's precomputed zero-cost score tables: build, list, import into a store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(scores_app, name="scores")


def _console():
    from rich.console import Console

    return Console(soft_wrap=True)


def _int_list(text: str | None, option: str) -> list[int] | None:
    if text is None or not text.strip():
        return None
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"{option}: expected comma-separated integers, got {text!r}") from None


@scores_app.command("build-table")
def build_table_cmd(
    space: str = typer.Option(..., "--space", help="Search space, e.g. nasbench_macro."),
    proxies: str = typer.Option(..., "--proxies", help="Comma-separated proxy names, e.g. l2_norm,nwot,zen."),
    name: str = typer.Option(None, "--name", help="Table name (default <space>_zc)."),
    archs: str = typer.Option("all", "--archs", help="all | deiso | sample:N | FILE of arch ids."),
    protocol: str = typer.Option("zero-cost-nas", "--protocol", help="zero-cost-nas | aw_nas."),
    seeds: str = typer.Option(None, "--seeds", help="Comma-separated init seeds (default: the protocol's)."),
    data: str = typer.Option("auto", "--data", help="Batch data: auto (real CIFAR-10 under $PENAS_DATA), "
                                                    "cifar10[:DIR], ..."),
    out: Path = typer.Option(None, "--out", help="Directory of the table (default $PENAS_CACHE/score_tables)."),
    store: Path = typer.Option(None, "--store", help="Score store to resume through (default <out>/<name>.db)."),
    fill_isomorphs: bool = typer.Option(False, "--fill-isomorphs/--no-fill-isomorphs",
                                        help="Score one arch per isomorphism class and copy its scores to the "
                                             "others (exact where they build the same net: nasbench_macro)."),
    shard_size: int = typer.Option(8, "--shard-size", help="Archs per store transaction."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Compute (or resume) a score table and write <out>/<name>.csv.gz + <name>.json."""
    from penas.estimators.score_tables import build_table, load_table
    from penas.spaces import SPACES

    from ._progress import LabelledProgress

    if space not in SPACES:
        raise ValueError(f"--space: unknown space {space!r}; expected one of: {', '.join(SPACES.names())}")
    if shard_size < 1:
        raise ValueError(f"--shard-size: expected a positive integer, got {shard_size}")
    names = [p.strip() for p in proxies.split(",") if p.strip()]
    con = _console()
    bar = LabelledProgress(con) if progress else None
    try:
        path = build_table(space, archs, names, protocol, _int_list(seeds, "--seeds"), out, store, name=name,
                           data=data, fill_isomorphs=fill_isomorphs, progress=bar, shard_size=shard_size)
    finally:
        if bar is not None:
            bar.close()
    tab = load_table(path)
    valid = ", ".join(f"{c} {int(tab.meta['columns'][c]['n_valid'])}" for c in tab.columns)
    con.print(f"wrote {path} ({len(tab.arch_ids)} archs, {tab.meta['n_scored']} scored; valid: {valid})",
              highlight=False)
    con.print(f"use it as penas:{tab.name}[:<column>]", highlight=False)


@scores_app.command("list-tables")
def list_tables_cmd() -> None:
    """The score tables shipped with penas and those built into $PENAS_CACHE/score_tables."""
    from rich.table import Table

    from penas.estimators.score_tables import known_tables, load_table

    table = Table(title="score tables (penas:<name>[:<column>])")
    for col in ("name", "space", "archs", "protocol", "columns", "file"):
        table.add_column(col, overflow="fold")
    for nm, path in known_tables().items():
        try:
            t = load_table(path)
        except ValueError as e:
            table.add_row(nm, "-", "-", "-", f"unreadable: {str(e).splitlines()[0]}", str(path))
            continue
        table.add_row(nm, t.space, str(len(t.arch_ids)), str(t.meta.get("protocol", "")), ", ".join(t.columns),
                      str(path))
    _console().print(table)


@scores_app.command("import-table")
def import_table_cmd(
    table: str = typer.Argument(..., help="Table name or path of its .csv.gz."),
    store: Path = typer.Option(..., "--store", help="Score store to write the rows into."),
) -> None:
    """Write a table's rows into a score store under its estimators' keys (stored rows are kept)."""
    from penas.estimators.score_tables import import_into_store, load_table
    from penas.estimators.store import ScoreStore

    tab = load_table(table)
    n = import_into_store(tab, ScoreStore(store))
    _console().print(f"{n} new rows from {tab.name} ({len(tab.columns)} columns x {len(tab.arch_ids)} archs) "
                     f"in {store}", highlight=False)
