"""The progress bar: drawn in place on a terminal, silent otherwise."""

import io

from nn import ProgressBar, progress
from nn.progress import ProgressLines


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


def test_lines_print_every_kth_update_and_the_last():
    stream = io.StringIO()
    lines = ProgressLines(10, "train", stream=stream, max_lines=4)  # every 3rd: 3, 6, 9 and 10
    for i in range(10):
        lines.update(1, loss=1.0 / (i + 1))
    lines.close()
    text = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in text] == [f"train epoch {k}/10" for k in (3, 6, 9, 10)]
    assert "loss=0.1 " in text[-1]


def test_lines_print_the_last_state_on_an_early_close():
    stream = io.StringIO()
    lines = ProgressLines(100, stream=stream, max_lines=10)
    for _ in range(4):
        lines.update(1, loss=0.5)
    lines.close()
    assert stream.getvalue().splitlines()[-1].startswith("epoch 4/100: loss=0.5")


def test_make_progress_picks_the_display_for_where_it_runs(monkeypatch):
    monkeypatch.setattr(progress, "in_jupyter", lambda: False)
    monkeypatch.setattr("sys.stderr", Terminal())
    assert isinstance(progress.make_progress(3), ProgressBar)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(progress.make_progress(3), ProgressLines)
    assert not progress.make_progress(3, enabled=False).enabled
    monkeypatch.setattr(progress, "in_jupyter", lambda: True)
    monkeypatch.setitem(__import__("sys").modules, "tqdm.notebook", None)
    shown = progress.make_progress(3)
    assert isinstance(shown, ProgressLines) and shown.stream is __import__("sys").stdout


def test_the_bar_and_the_lines_format_the_postfix_alike():
    assert (
        progress.format_postfix({"loss": 0.123456, "accuracy": 1.0, "step": 3})
        == "loss=0.1235 accuracy=1 step=3"
    )
