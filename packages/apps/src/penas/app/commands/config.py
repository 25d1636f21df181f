"""``penas-app config dump [COMMAND]``: every default of a command's typed config, as YAML."""

from __future__ import annotations

import typer

from ..command_configs import COMMAND_CONFIGS
from ..configs import SEARCH_PRESETS, defaults
from ._app import UserError, app

config_app = typer.Typer(help="Inspect the typed configs behind the commands.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("dump")
def dump(command: str = typer.Argument(None, help=f"One of: {', '.join(COMMAND_CONFIGS)} (default: all).")) -> None:
    """Print every default (YAML). Option --foo-bar sets field foo_bar."""
    import yaml

    if command is not None and command not in COMMAND_CONFIGS:
        raise UserError(f"command: expected one of {', '.join(COMMAND_CONFIGS)}, got {command!r}")
    names = [command] if command else list(COMMAND_CONFIGS)
    doc = {n: defaults(COMMAND_CONFIGS[n]) for n in names}
    if "search" in doc:
        doc["search_presets"] = SEARCH_PRESETS
    typer.echo(yaml.safe_dump(doc, sort_keys=False).rstrip())
