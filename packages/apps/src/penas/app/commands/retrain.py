"""penas-app sub-commands (retrain). Adds its commands to penas.app.commands._app.app on import.

``penas-app retrain darts --genotype "Genotype(...)" --dataset cifar10 --data DIR --out RUN_DIR``
``penas-app retrain attentivenas --config cfg.json --dataset imagenet --data DIR --out RUN_DIR``

Every :class:`~penas.app.training.recipes.Recipe` field is a 1:1 option (``--epochs``,
``--batch-size``, ``--lr``, ...) overriding the ``--preset``. The arch is validated before any data
is read; user errors are one line with exit code 2. ``--resume`` continues RUN_DIR's checkpoint.
Multi-GPU: ``torchrun --nproc-per-node N -m penas.app.cli retrain ...`` (same options).
"""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import typer

from ._app import UserError, app

retrain_app = typer.Typer(
    name="retrain",
    help="Train a searched architecture from scratch (PC-DARTS / AttentiveNAS recipes).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(retrain_app, name="retrain")

_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


def _recipe_parameters() -> list[inspect.Parameter]:
    """One keyword option per Recipe field (``name`` is the preset, not an option)."""
    from penas.app.training.recipes import Recipe

    params = []
    for f in fields(Recipe):
        if f.name == "name":
            continue
        tp = _TYPES[str(f.type)]
        flag = "--" + f.name.replace("_", "-")
        decl = [f"{flag}/--no-{f.name.replace('_', '-')}"] if tp is bool else [flag]
        opt = typer.Option(None, *decl, help=f"Recipe override ({f.name}).", rich_help_panel="Recipe")
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=opt,
                                        annotation=typing.Optional[tp]))  # noqa: UP045 (typer needs Optional)
    return params


def _one_line(e: BaseException) -> UserError:
    msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    return UserError((str(msg).splitlines() or [type(e).__name__])[0])


def _read_text(path: Path, opt: str) -> str:
    if not path.is_file():
        raise UserError(f"{opt}: {path} is not a file")
    return path.read_text().strip()


def run_retrain(space: str, arch_text: str, dataset: str, data: Path | None, out: Path, preset: str | None,
                resume: bool, stop_after: int | None, progress: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    """The CLI face of :func:`penas.app.training.run.run_retrain`: a progress bar and a final table."""
    from penas.app.training.run import run_retrain as run

    def log(msg: str) -> None:
        if progress:
            typer.echo(msg, err=True)

    from penas.app.training.trainer import DistInfo

    is_main = DistInfo.from_env().is_main
    try:
        with _progress_bar(progress and is_main, overrides.get("epochs")) as on_event:
            report = run(space, arch_text, dataset, data, out, preset, resume, stop_after, overrides,
                         progress=on_event, log=log)
    except ValueError as e:
        raise _one_line(e) from None
    if progress and is_main:
        _print_report(report)
    return report


@contextlib.contextmanager
def _progress_bar(enabled: bool, epochs: int | None) -> Iterator[Callable[[dict[str, Any]], None] | None]:
    """A rich progress bar fed by the training engine's step events (None when disabled). It appears
    with the first event, so a run rejected by validation prints its one error line only."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar: dict[str, Any] = {}

    def on_event(ev: dict[str, Any]) -> None:
        if ev["event"] != "step":
            return
        if not bar:
            bar["prog"] = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=False)
            bar["prog"].start()
            bar["task"] = bar["prog"].add_task("retrain", total=None, info="")
        bar["prog"].update(bar["task"], total=ev["total_steps"], completed=ev["step"],
                           info=f"epoch {ev['epoch'] + 1}{f'/{epochs}' if epochs else ''} loss {ev['loss']:.3f}")

    try:
        yield on_event
    finally:
        if bar:
            bar["prog"].stop()


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"retrain {report['space']} on {report['dataset']} ({report['recipe']})")
    t.add_column("field")
    t.add_column("value")
    rows = [("arch", report["arch"]), ("params (aux excluded)", f"{report['params'] / 1e6:.3f} M"),
            ("FLOPs (MACs)", f"{report['flops'] / 1e6:.1f} M"),
            ("epochs", f"{report['epochs_done']}/{report['epochs']}"),
            ("best test acc", f"{report['best_acc']:.2f} %"), ("last test acc", f"{report['last_acc']:.2f} %")]
    for k, v in rows:
        t.add_row(k, str(v))
    Console(soft_wrap=True).print(t)


_DATA = typer.Option(None, "--data", help="Dataset directory (CIFAR npy, python batches or ImageFolder; ImageNet "
                     "train/ val/). Default for cifar10/cifar100: $PENAS_DATA/<dataset> when present.")
_OUT = typer.Option(..., "--out", help="Run directory (checkpoint, log.jsonl, report.json).")
_PRESET = typer.Option(None, "--preset", help="pcdarts-cifar10 | pcdarts-imagenet | attentivenas-imagenet.")
_RESUME = typer.Option(False, "--resume", help="Continue from RUN_DIR/checkpoint.pt.")
_STOP = typer.Option(None, "--stop-after", help="Train at most this many epochs in this invocation.")
_QUIET = typer.Option(False, "--quiet", help="No progress bar or final table.")
_FROM_RUN = typer.Option(None, "--from-run", help="A search run directory: retrain its chosen arch.")


def _arch_text(space: str, text: str | None, file: Path | None, from_run: Path | None, names: tuple[str, str]) -> str:
    given = [x for x in (text, file, from_run) if x is not None]
    if len(given) != 1:
        raise UserError(f"{names[0]}: give exactly one of {names[0]}, {names[1]}, --from-run")
    if text is not None:
        return text
    if file is not None:
        return _read_text(file, names[1])
    from penas.app.training.targets import arch_from_run

    try:
        run_space, arch = arch_from_run(from_run)  # type: ignore[arg-type]
    except (ValueError, FileNotFoundError) as e:
        raise _one_line(e) from None
    if run_space is not None and run_space != space:
        raise UserError(f"--from-run: the run searched space {run_space!r}, not {space!r}")
    return arch


def darts_cmd(
    genotype: str | None = typer.Option(None, "--genotype", help='"Genotype(normal=[...], ...)" text.'),
    genotype_file: Path | None = typer.Option(None, "--genotype-file", help="A file holding the genotype text."),
    from_run: Path | None = _FROM_RUN,
    dataset: str = typer.Option("cifar10", "--dataset", help="cifar10 | cifar100 | imagenet."),
    data: Path | None = _DATA,
    out: Path = _OUT,
    preset: str | None = _PRESET,
    resume: bool = _RESUME,
    stop_after: int | None = _STOP,
    quiet: bool = _QUIET,
    **overrides: Any,
) -> None:
    """Retrain a DARTS genotype with the PC-DARTS recipe (CIFAR-10/100 or ImageNet)."""
    arch = _arch_text("darts", genotype, genotype_file, from_run, ("--genotype", "--genotype-file"))
    run_retrain("darts", arch, dataset, data, out, preset, resume, stop_after, not quiet, overrides)


def attentivenas_cmd(
    config: str | None = typer.Option(None, "--config", help="A JSON file, or JSON / dict-literal text."),
    from_run: Path | None = _FROM_RUN,
    dataset: str = typer.Option("imagenet", "--dataset", help="imagenet."),
    data: Path | None = _DATA,
    out: Path = _OUT,
    preset: str | None = _PRESET,
    resume: bool = _RESUME,
    stop_after: int | None = _STOP,
    quiet: bool = _QUIET,
    **overrides: Any,
) -> None:
    """Retrain an AttentiveNAS subnet config on ImageNet (auto-augment unavailable: needs torchvision)."""
    path = Path(config) if config is not None and not config.lstrip().startswith("{") else None
    text = None if path is not None else config
    arch = _arch_text("attentivenas", text, path, from_run, ("--config", "--config"))
    run_retrain("attentivenas", arch, dataset, data, out, preset, resume, stop_after, not quiet, overrides)


def _with_recipe_options(fn):
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    base = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD]
    fn.__signature__ = sig.replace(parameters=base + _recipe_parameters())
    return fn


retrain_app.command("darts")(_with_recipe_options(darts_cmd))
retrain_app.command("attentivenas")(_with_recipe_options(attentivenas_cmd))
