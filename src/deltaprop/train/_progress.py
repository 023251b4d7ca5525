"""The progress bar training shows when asked to (``verbose``): rich's, or nothing."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class ProgressBar:
    """A progress bar over ``total`` epochs (or iterations), used as a context manager.

    Shows "epoch k/total", a bar, a line of metrics and the time remaining, drawn by
    rich (the "progress" extra).  When not ``enabled`` it shows nothing and needs no
    rich: the training loops call it the same way either way.

    Parameters
    ----------
    total : int
        The number of epochs (or iterations) the bar counts to.
    enabled : bool, default True
        Show the bar; False makes every method do nothing.

    Raises
    ------
    ImportError
        When ``enabled`` and rich is not installed; the message says what to install.

    Examples
    --------
    >>> with ProgressBar(3, enabled=False) as bar:
    ...     for epoch in range(3):
    ...         bar.advance(f"loss {1 / (epoch + 1):.4f}")
    """

    def __init__(self, total: int, enabled: bool = True) -> None:
        self._progress: Any = None
        self._task: Any = None
        if not enabled:
            return
        try:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
        except ImportError:  # pragma: no cover - rich is in the "progress" extra
            raise ImportError("verbose=True needs rich: pip install 'deltaprop[progress]'") from None
        self._progress = Progress(
            TextColumn("epoch {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("{task.fields[metrics]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self._task = self._progress.add_task("train", total=total, metrics="")

    def __enter__(self) -> ProgressBar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    @property
    def shown(self) -> bool:
        """Whether the bar is shown (so whether text beside it is worth making)."""
        return self._progress is not None

    def note(self, text: str) -> None:
        """Print a line of ``text`` above the bar."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)

    def advance(self, metrics: str = "", count: int = 1) -> None:
        """Count ``count`` epochs (or iterations) done and show ``metrics`` beside the bar."""
        if self._progress is not None:
            self._progress.update(self._task, advance=count, metrics=metrics)
