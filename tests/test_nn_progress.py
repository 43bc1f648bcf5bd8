"""The progress bar: drawn in place on a terminal, silent otherwise."""

import io

from nn import ProgressBar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_renders_count_bar_and_postfix():
    bar = ProgressBar(4, "train", stream=io.StringIO(), enabled=False, width=8)
    bar.update(2, loss=0.123456)
    line = bar.render()
    assert line.startswith("train 2/4 [####----]")
    assert line.endswith("loss=0.1235")


def test_draws_in_place_on_a_terminal_and_ends_the_line():
    stream = Terminal()
    with ProgressBar(3, stream=stream, width=3) as bar:
        for _ in range(3):
            bar.update(1, step=1)
    text = stream.getvalue()
    assert text.startswith("\r") and "3/3 [###]" in text and text.endswith("\n")


def test_silent_when_not_a_terminal():
    stream = io.StringIO()
    with ProgressBar(3, stream=stream) as bar:
        bar.update(3)
    assert stream.getvalue() == ""
