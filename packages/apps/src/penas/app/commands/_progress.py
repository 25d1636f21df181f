"""Rich progress rendering for the library's ``(label, done, total)`` progress callbacks."""

from __future__ import annotations

from typing import Any


class LabelledProgress:
    """A callable ``(label, done, total)``: one rich progress bar per label, shown until done.

    The workflow APIs report progress through such callbacks (no rich/typer in the library);
    the CLI hands them an instance bound to its console.
    """

    def __init__(self, console: Any) -> None:
        self.console = console
        self._bar: Any = None
        self._task: Any = None
        self._label: str | None = None

    def __call__(self, label: str, done: int, total: int) -> None:
        if total <= 0:
            return
        if self._bar is None or label != self._label:
            self.close()
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task(label, total=total)
            self._label = label
        self._bar.update(self._task, completed=done, total=total)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar = self._task = self._label = None
