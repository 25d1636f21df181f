"""``penas-app data import|info|download cifar10|cifar100``: the image datasets of the data layer
(:mod:`penas.spaces.datasets.manage`). Called by :mod:`penas.app.commands.data` when the name is
a dataset rather than a space. Errors are one line with exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import UserError


def _fail(e: BaseException) -> UserError:
    return UserError((str(e).splitlines() or [type(e).__name__])[0])


def info(name: str, root: Path | None) -> None:
    """Where ``name`` lives, its layout, counts per split and sha256 per file."""
    from penas.spaces import paths
    from penas.spaces.datasets.manage import dataset_info

    try:
        prov = dataset_info(name, root)
    except (ValueError, FileNotFoundError, OSError) as e:
        raise _fail(e) from None
    typer.echo(f"{name}: {prov['path']} ({prov['layout']} layout)")
    typer.echo("counts: " + ", ".join(f"{k} {v}" for k, v in prov["counts"].items()))
    if prov.get("imported_from"):
        typer.echo(f"imported from: {prov['imported_from']}")
    for f, h in prov.get("sha256", {}).items():
        typer.echo(f"sha256 {f}: {h}")
    typer.echo(f"data root {paths.data_root(root)} (read); cache {paths.cache_root()} (derived files)")


def import_(name: str, path: Path, root: Path | None, replace: bool) -> None:
    """Read PATH (npy, python batches or ImageFolder) into ``<data root>/<name>`` as the npy layout."""
    from penas.spaces.datasets.manage import import_dataset

    if not path.exists():
        raise UserError(f"PATH: {str(path)!r} does not exist")
    try:
        out, manifest = import_dataset(name, path, root, replace=replace)
    except (ValueError, FileNotFoundError, FileExistsError, OSError) as e:
        raise _fail(e) from None
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    typer.echo(f"imported {name} ({counts}) from {manifest['source']} into {out} (sha256 in manifest.json)")


def download(name: str, root: Path | None, mirror: str | None, timeout: float, force: bool) -> None:
    """Fetch the official tarball (md5-checked) and write the npy layout; "already present" otherwise."""
    from penas.spaces.benchmarks.download import DownloadError
    from penas.spaces.datasets.manage import OFFICIAL, download_dataset

    url = f"{mirror.rstrip('/')}/{OFFICIAL[name].filename}" if mirror else None
    try:
        out, prov, fetched = download_dataset(name, root, url=url, timeout=timeout, force=force)
    except (DownloadError, ValueError, FileNotFoundError, OSError) as e:
        raise _fail(e) from None
    counts = ", ".join(f"{k} {v}" for k, v in prov["counts"].items())
    if fetched:
        typer.echo(f"downloaded {name} (md5 checked; {counts}) into {out}")
    else:
        typer.echo(f"{name} already present in {out} ({counts}); nothing downloaded (--force to fetch again)")
