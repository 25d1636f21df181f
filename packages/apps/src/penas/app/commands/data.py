"""penas-app sub-commands (data). Adds its commands to penas.app.commands._app.app on import.

``penas-app data list|info|import|download``: the ground-truth benchmark tables
(:mod:`penas.spaces.benchmarks`); for ``cifar10`` / ``cifar100`` the image datasets
(:mod:`penas.app.commands.data_images`). The data root is ``$PENAS_DATA`` or the user cache dir;
``--root`` overrides it. Errors are one line with exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from penas.spaces.datasets.manage import DATASETS as _IMAGE_DATASETS  # dataset names, not spaces

from . import data_images
from ._app import UserError, app

data_app = typer.Typer(
    name="data",
    help="Ground-truth benchmark tables: list, info, import, download.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")

_ROOT_OPT = typer.Option(None, "--root", help="Data root (default: $PENAS_DATA or the user cache dir).")


def _console():
    from rich.console import Console

    return Console(soft_wrap=True)


def _fail(e: Exception) -> UserError:
    msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    return UserError(str(msg).splitlines()[0] if str(msg) else type(e).__name__)


@data_app.command("list")
def list_cmd(root: Path | None = _ROOT_OPT) -> None:
    """What benchmark data is installed, and where."""
    from rich.table import Table

    from penas.spaces import paths
    from penas.spaces.benchmarks import StoreCorruptError, get_source, list_sources, store_path, verify_store

    r = paths.data_root(root)
    table = Table(title=f"benchmarks (data root {r}, read only; stores in the cache {paths.cache_root()})")
    for col in ("space", "raw files found", "buildable", "store", "location"):
        table.add_column(col)
    for name in list_sources():
        src = get_source(name)
        present = src.present(r)
        sp = store_path(name, root)
        built = (sp / "manifest.json").is_file()
        rows = ""
        if built:
            try:
                rows = f"built, {verify_store(sp)['n_rows']} rows"
            except StoreCorruptError:
                rows = "corrupt (rebuilt on open when the raw files are present)"
        table.add_row(name, f"{len(present)}/{len(src.files)}", "yes" if src.buildable(r) else "no",
                      rows or "not built", str(sp if built else r))
    _console().print(table)


@data_app.command("info")
def info_cmd(space: str = typer.Argument(..., help="Space name, e.g. nb201."), root: Path | None = _ROOT_OPT) -> None:
    """Rows, datasets, metrics and the best arch per dataset of SPACE's table (or, for cifar10 /
    cifar100, where the images live, counts per split and checksums)."""
    from rich.table import Table

    if space in _IMAGE_DATASETS:
        return data_images.info(space, root)

    from penas.spaces import paths
    from penas.spaces.benchmarks import open_benchmark

    con = _console()
    try:
        bench = open_benchmark(space, root)
    except (ValueError, KeyError, FileNotFoundError) as e:
        if not _surrogate_info(con, space, root):
            raise _fail(e) from None
        con.print(f"no measured table: {_fail(e)}", highlight=False)
        return
    con.print(f"[bold]{space}[/bold]: {len(bench)} rows, store {bench.path}")
    con.print(f"data root (read only): {paths.data_root(root)}", highlight=False)
    con.print(f"cache (derived stores): {paths.cache_root()}", highlight=False)
    if bench.meta.get("id_form"):
        con.print(f"arch id form: {bench.meta['id_form']}")
    table = Table()
    for col in ("dataset", "metrics"):
        table.add_column(col, overflow="fold")
    best: list[str] = []
    for ds in bench.datasets:
        metrics = bench.metrics(ds)
        table.add_row(ds, _compact(metrics))
        for m in ("test_acc", "valid_acc"):
            if m in metrics:
                a, v = bench.best(m, ds)
                best.append(f"best {m} on {ds}: {v:.4f}  {a}")
                break
    con.print(table)
    for line in best:
        con.print(line, highlight=False)
    _surrogate_info(con, space, root)


def _surrogate_info(con, space: str, root: Path | None) -> bool:
    """Print where SPACE's surrogate GT comes from (False when the space has none)."""
    from penas.spaces.benchmarks.surrogates import SURROGATES, get_surrogate_source, surrogate

    if space not in SURROGATES:
        return False
    src = get_surrogate_source(space)
    try:
        s = surrogate(space, root)
    except (ValueError, FileNotFoundError) as e:
        con.print(f"surrogate GT {src.name}: not available ({_fail(e)}); "
                  f"`penas-app data import {src.name} DIR`", highlight=False)
        return True
    con.print(f"surrogate GT {src.name}: {s.path / 'model.onnx'} (sha256 {s.model_sha256}); {src.description}; "
              f"final epoch {s.final_epoch}; metrics {', '.join(s.metrics('cifar10'))}", highlight=False)
    return True


def _compact(metrics: tuple[str, ...]) -> str:
    """Metric names, with families such as ``latency_<device>`` folded into one entry."""
    out: list[str] = []
    families: dict[str, int] = {}
    for m in metrics:
        head, sep, _ = m.partition("_")
        if head == "latency" and sep:
            families[head] = families.get(head, 0) + 1
        else:
            out.append(m)
    out += [f"{h}_<device> ({n} devices)" for h, n in families.items()]
    return ", ".join(out)


@data_app.command("import")
def import_cmd(
    space: str = typer.Argument(..., help="Space the file belongs to."),
    file: Path = typer.Argument(..., help="The file to convert."),
    kind: str = typer.Option("auto", "--kind", help="Importer: auto, csv, json, nds, naslib, macro, nb201-table, "
                             "nb201-official."),
    replace: bool = typer.Option(False, "--replace", help="Replace the store instead of merging into it."),
    root: Path | None = _ROOT_OPT,
) -> None:
    """Convert FILE into SPACE's ground-truth store (merged with what is there). For cifar10 /
    cifar100, FILE is a dataset directory (npy, python batches or ImageFolder) written into the data root."""
    from penas.spaces.benchmarks import IMPORTERS, detect_kind, import_table

    if space in _IMAGE_DATASETS:
        return data_images.import_(space, file, root, replace)
    if space == "nb301-yahpo":
        return _import_surrogate(space, file, root)

    if not file.exists():
        raise UserError(f"file: {str(file)!r} does not exist")
    try:
        k = detect_kind(file, space) if kind == "auto" else kind
        table = IMPORTERS.get(k)(file, space)
        table.meta["source"] = f"{k}:{file}"
        path = import_table(table, root, replace=replace)
    except ImportError as e:
        raise UserError(str(e).splitlines()[0]) from None
    except UnicodeDecodeError:
        raise UserError(f"file: {file} is not a text file the {kind} importer reads (CSV or JSON)") from None
    except (ValueError, KeyError, FileNotFoundError, OSError) as e:
        raise _fail(e) from None
    typer.echo(f"imported {table.n_rows} rows, {len(table.columns)} columns ({k}) into {path}")


def _import_surrogate(name: str, src: Path, root: Path | None) -> None:
    from penas.spaces.benchmarks.surrogates import import_surrogate

    if not src.is_dir():
        raise UserError(f"file: {str(src)!r} is not a directory (expected YAHPO Gym's data folder)")
    try:
        dest, sha, copied = import_surrogate(name, src, root)
    except ImportError as e:
        raise UserError(str(e).splitlines()[0]) from None
    except (ValueError, FileNotFoundError, OSError) as e:
        raise _fail(e) from None
    what = "imported" if copied else "already present:"
    typer.echo(f"{what} {name} surrogate {dest / 'model.onnx'} (sha256 {sha}); it is the darts surrogate GT")


@data_app.command("download")
def download_cmd(
    space: str = typer.Argument(..., help="Space whose public raw files to fetch."),
    mirror: str | None = typer.Option(None, "--mirror", help="Base URL to use instead of the original sources: "
                                      "files are fetched from MIRROR/<relative path>."),
    force: bool = typer.Option(False, "--force", help="Download again even if a file with the right sha256 exists."),
    timeout: float = typer.Option(20.0, "--timeout", help="Seconds before a connection attempt fails."),
    root: Path | None = _ROOT_OPT,
) -> None:
    """Fetch SPACE's raw files from their public URLs (sha256-checked, resumable); cifar10 / cifar100:
    the official tarball (md5-checked), converted into the data root."""
    if space in _IMAGE_DATASETS:
        return data_images.download(space, root, mirror, timeout, force)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from penas.spaces import paths
    from penas.spaces.benchmarks import get_source
    from penas.spaces.benchmarks.download import ChecksumError, DownloadError, download

    try:
        src = get_source(space)
    except KeyError as e:
        raise _fail(e) from None
    files = src.downloadable()
    if not files:
        raise UserError(f"space: {space!r} has no publicly downloadable files")
    r = paths.data_root(root)
    con = _console()
    present = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=con, transient=False) as prog:
        for f in files:
            url = f"{mirror.rstrip('/')}/{f.relpath}" if mirror else f.url
            task = prog.add_task(f.relpath, total=f.size)

            def cb(done: int, total: int | None, _t=task) -> None:
                prog.update(_t, completed=done, total=total)

            dest = f.path(r)
            before = dest.stat().st_mtime_ns if dest.is_file() and not force else None
            try:
                download(url, dest, f.sha256, progress=cb, timeout=timeout, force=force)  # type: ignore[arg-type]
            except (DownloadError, ChecksumError, PermissionError) as e:
                raise _fail(e) from None
            if before is not None and dest.stat().st_mtime_ns == before:  # kept, not fetched
                present += 1
            if f.sha256 is None:
                con.print(f"[yellow]note[/yellow]: no recorded sha256 for {f.relpath}; not verified")
    if present == len(files):
        con.print(f"{space}: already present ({len(files)} files under {r}); nothing downloaded")
    else:
        con.print(f"downloaded {len(files) - present} files for {space} under {r}"
                  + (f" ({present} already present)" if present else ""))
