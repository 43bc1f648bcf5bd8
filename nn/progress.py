"""Progress for training loops, visible wherever the loop runs, with no dependency needed.

- On a terminal: a bar redrawn in place on one line (`ProgressBar`).
- In Jupyter: tqdm's notebook widget when tqdm (and ipywidgets) are installed
  (`pip install "chaingrad[progress]"`), otherwise one line per epoch (`ProgressLines`).
- Elsewhere (a log file, a pipe, CI): one line per epoch on stderr.
Long runs print at most about 100 lines: every k-th epoch and the last one.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Protocol, TextIO


class Progress(Protocol):
    """What a training loop needs from a progress display."""

    def update(self, n: int = 1, **postfix: Any) -> None: ...

    def close(self) -> None: ...


def format_postfix(postfix: dict[str, Any]) -> str:
    """`loss=0.1234 accuracy=0.95`: floats to 4 significant digits, as the bar and the lines show them."""
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in postfix.items())


class ProgressBar:
    """`desc  42/100 [########------------] 0.8s loss=0.1234`, redrawn in place on one line.

    Shown only when `stream` is a terminal (or `enabled=True`); otherwise every method does nothing.
    """

    def __init__(
        self,
        total: int,
        desc: str = "",
        stream: TextIO | None = None,
        enabled: bool | None = None,
        width: int = 30,
    ) -> None:
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            enabled = is_terminal(self.stream)
        self.enabled = enabled
        self.width = width
        self.count = 0
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.postfix: dict[str, Any] = {}

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance by `n` and show `postfix` (e.g. loss=0.12) after the bar; at most 20 redraws a second."""
        self.count += n
        self.postfix.update(postfix)
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last_draw >= 0.05 or self.count >= self.total:
            self.last_draw = now
            self.draw(now)

    def render(self, now: float | None = None) -> str:
        """The bar's current line as text."""
        elapsed = (time.perf_counter() if now is None else now) - self.start
        done = min(self.count, self.total)
        filled = self.width * done // self.total
        bar = "#" * filled + "-" * (self.width - filled)
        head = f"{self.desc} " if self.desc else ""
        line = f"{head}{done:>{len(str(self.total))}}/{self.total} [{bar}] {elapsed:.1f}s "
        return (line + format_postfix(self.postfix)).rstrip()

    def draw(self, now: float | None = None) -> None:
        """Redraw the line in place."""
        self.stream.write("\r" + self.render(now) + "\033[K")  # \033[K: clear what a longer line left
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self.draw()
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ProgressLines:
    """`train epoch 3/100: loss=0.1234 accuracy=0.95 (0.4s)`, one line per epoch (at most about 100)."""

    def __init__(
        self, total: int, desc: str = "", stream: TextIO | None = None, max_lines: int = 100
    ) -> None:
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream
        self.every = max(1, math.ceil(self.total / max_lines))
        self.count = 0
        self.start = time.perf_counter()
        self.postfix: dict[str, Any] = {}
        self.printed = 0  # the count at the last line printed

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance by `n`; print a line every `every` epochs and at the last one."""
        self.count += n
        self.postfix.update(postfix)
        if self.count % self.every == 0 or self.count >= self.total:
            self.write()

    def write(self) -> None:
        """Print the current line."""
        stream = sys.stderr if self.stream is None else self.stream  # looked up late: Jupyter swaps it
        head = f"{self.desc} " if self.desc else ""
        elapsed = time.perf_counter() - self.start
        stream.write(
            f"{head}epoch {self.count}/{self.total}: {format_postfix(self.postfix)} ({elapsed:.1f}s)\n"
        )
        stream.flush()
        self.printed = self.count

    def close(self) -> None:
        """Print the last state if it has not been printed (an early stop)."""
        if self.count and self.printed != self.count:
            self.write()


class TqdmNotebook:
    """tqdm's Jupyter widget, showing the same postfix as the bar."""

    def __init__(self, total: int, desc: str = "") -> None:
        from tqdm.notebook import tqdm  # type: ignore[import-untyped]  # ImportError without ipywidgets too

        self.bar = tqdm(total=total, desc=desc or None)

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance by `n` and show `postfix`."""
        if postfix:
            self.bar.set_postfix_str(format_postfix(postfix), refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        """Close the widget (it stays visible)."""
        self.bar.close()


def is_terminal(stream: Any) -> bool:
    """Whether `stream` is a terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def in_jupyter() -> bool:
    """Whether this runs in a Jupyter kernel (IPython's shell with a kernel, not the terminal IPython)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython that is half imported or broken: not a kernel we can use
        return False
    return shell is not None and hasattr(shell, "kernel")


def make_progress(total: int, desc: str = "", enabled: bool = True) -> Progress:
    """The right progress display for where this runs (see the module doc); `enabled=False` is silent."""
    if not enabled:
        return ProgressBar(total, desc, enabled=False)
    if in_jupyter():
        try:
            return TqdmNotebook(total, desc)
        except ImportError:
            return ProgressLines(total, desc, stream=sys.stdout)
    if is_terminal(sys.stderr):
        return ProgressBar(total, desc, enabled=True)
    return ProgressLines(total, desc)
