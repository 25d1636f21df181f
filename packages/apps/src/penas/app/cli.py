"""The ``penas-app`` Typer application.

The application object lives in :mod:`penas.app.commands._app`; the sub-command modules
register on it and are attached here; each command maps 1:1 onto a typed config dataclass.
Errors the user can fix are printed as one line (``error: <argument>: <what was expected>``)
with exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from .commands._app import UserError, app, installed_versions  # noqa: F401  (the CLI's public names)


def _attach_subcommands() -> None:
    from . import commands  # noqa: F401  (each module registers on ``app``)
    from .commands import scores  # noqa: F401  (penas-app scores ...)


def main(argv: list[str] | None = None) -> None:
    _attach_subcommands()
    try:
        app(args=argv, standalone_mode=True)
    except UserError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except (ValueError, KeyError) as e:
        # Library code raises these with one-line, user-facing messages.
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        typer.echo(f"error: {_first_line(msg)}", err=True)
        sys.exit(2)
    except OSError as e:
        # A full or read-only disk met after the up-front checks: name the path, no traceback.
        where = e.filename if e.filename is not None else ""
        text = f"{where}: {e.strerror}" if where and e.strerror else _first_line(e)
        typer.echo(f"error: {text}", err=True)
        sys.exit(2)


def _first_line(msg: object) -> str:
    text = str(msg)
    return (text.splitlines() or [type(msg).__name__])[0]


if __name__ == "__main__":  # pragma: no cover
    # Run as a script the module is ``__main__``; sub-commands attach to ``penas.app.commands._app.app``.
    from penas.app.cli import main as _main

    _main()
