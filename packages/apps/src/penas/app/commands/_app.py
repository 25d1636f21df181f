"""The ``penas-app`` Typer application object and the error type its commands raise.

Every module of :mod:`penas.app.commands` registers its commands on :data:`app`;
:mod:`penas.app.cli` attaches them and runs the application (``main``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer

DISTRIBUTIONS = ("penas-metrics", "penas-spaces", "penas-supernets", "penas-estimators", "penas-app")

app = typer.Typer(
    name="penas-app",
    help="penas: performance estimation for neural architecture search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def installed_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


def _version_callback(value: bool) -> None:
    if value:
        for dist, ver in installed_versions().items():
            typer.echo(f"{dist} {ver if ver else '(not installed)'}")
        raise typer.Exit()


@app.callback()
def _root(
    version_: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print every installed penas package."
    ),
) -> None:
    """penas: score architectures cheaply, measure how well the scores rank, search."""


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""
