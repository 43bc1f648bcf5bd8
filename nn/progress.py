"""A small progress bar for training loops, drawn only on a terminal (no dependency needed)."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


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
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
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
        extra = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.postfix.items()
        )
        head = f"{self.desc} " if self.desc else ""
        return f"{head}{done:>{len(str(self.total))}}/{self.total} [{bar}] {elapsed:.1f}s {extra}".rstrip()

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
