"""fit and evaluate: a step lowers the loss, histories, metrics, silence without a terminal."""

import io
import math
import random
import re
import struct
import sys

import pytest

import autograd
import nn
from autograd import Value


def moons():
    return nn.make_moons(40, noise=0.1, seed=0, signed=True)


def test_one_sgd_step_lowers_the_loss():
    X, y = moons()
    model = nn.MLP(2, [8, 1], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.05)
    before = nn.evaluate(model, X, y, loss="hinge")["loss"]
    nn.fit(model, X, y, loss="hinge", optimizer=opt, epochs=1, progress=False)
    after = nn.evaluate(model, X, y, loss="hinge")["loss"]
    assert after < before


def test_history_has_one_entry_per_epoch_measured_before_each_update():
    X, y = moons()
    model = nn.MLP(2, [8, 1], seed=0)
    first = nn.evaluate(model, X, y, loss="hinge")
    history = nn.fit(
        model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=0.1), epochs=5, progress=False
    )
    assert set(history) == {"loss", "accuracy"} and len(history["loss"]) == 5
    assert history["loss"][0] == pytest.approx(first["loss"], rel=1e-12)
    assert history["accuracy"][0] == first["accuracy"]


def test_l2_is_added_to_the_reported_loss():
    X, y = moons()
    model = nn.MLP(2, [4, 1], seed=0)
    data_loss = nn.evaluate(model, X, y, loss="hinge")["loss"]
    penalty = 0.5 * sum(p.data**2 for p in model.parameters())
    history = nn.fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer=nn.SGD(model.parameters(), lr=0.0),
        epochs=1,
        l2=0.5,
        progress=False,
    )
    assert history["loss"][0] == pytest.approx(data_loss + penalty, rel=1e-12)


def test_mini_batches_with_cross_entropy_learn_blobs():
    X, y = nn.make_blobs(60, centers=[[-3, 0], [3, 0], [0, 4]], cluster_std=0.5, seed=0)
    model = nn.MLP(2, [8, 3], seed=0)
    history = nn.fit(
        model,
        X,
        y,
        optimizer=nn.Adam(model.parameters(), lr=0.05),
        epochs=15,
        batch_size=16,
        seed=0,
        progress=False,
    )
    assert history["loss"][-1] < history["loss"][0]
    assert nn.evaluate(model, X, y)["accuracy"] == 1.0


def test_auto_loss_picks_by_output_and_labels():
    from nn import losses
    from nn.train import _resolve_loss

    assert _resolve_loss("auto", [1, 2], [0, 1]) is losses.cross_entropy
    assert _resolve_loss("auto", 1.0, [-1, 1]) is losses.hinge_loss
    assert _resolve_loss("auto", 1.0, [0, 1, 1]) is losses.binary_cross_entropy_with_logits
    assert _resolve_loss("auto", 1.0, [0.5, 2.0]) is losses.mse_loss
    with pytest.raises(ValueError, match="unknown loss"):
        _resolve_loss("huber", 1.0, [1.0])


def test_accuracy_for_signs_zero_one_labels_and_class_indices():
    assert nn.accuracy([0.5, -0.2, 3.0, -1.0], [1, -1, -1, 1]) == 0.5
    assert nn.accuracy([0.5, -0.2, 3.0], [1, 0, 1]) == 1.0
    assert nn.accuracy([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 5.0]], [1, 1, 2]) == pytest.approx(2 / 3)


def test_custom_loss_and_metric_callables():
    X, y = moons()
    model = nn.MLP(2, [4, 1], seed=0)

    def positives(preds, targets):
        return sum(p.data > 0 for p in preds) / len(preds)

    history = nn.fit(model, X, y, loss=nn.mse_loss, metrics=[positives], epochs=2, progress=False)
    assert set(history) == {"loss", "positives"}


def test_progress_false_is_silent(capsys):
    X, y = moons()
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=False)
    out, err = capsys.readouterr()
    assert out == err == ""


def test_progress_without_a_terminal_prints_a_line_per_epoch(capsys):
    X, y = moons()
    history = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=3, progress=True)  # pytest's capture is no tty
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 3
    assert lines[0].startswith("train epoch 1/3: loss=") and lines[2].startswith("train epoch 3/3: ")
    # The last line shows the history's final loss, formatted as the bar formats it.
    assert f"loss={history['loss'][-1]:.4g} accuracy={history['accuracy'][-1]:.4g}" in lines[2]


def test_long_runs_print_at_most_about_a_hundred_lines(capsys):
    X, y = [[0.0]], [0.0]
    nn.fit(nn.MLP(1, [1], seed=0), X, y, loss="mse", epochs=250, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 84 and lines[-1].startswith("train epoch 250/250")  # every 3rd epoch, and the last


class FakeNotebookTqdm:
    """Records what fit asks of tqdm.notebook.tqdm."""

    made = []

    def __init__(self, total, desc):
        self.total, self.desc, self.postfix, self.n, self.closed = total, desc, [], 0, False
        FakeNotebookTqdm.made.append(self)

    def set_postfix_str(self, text, refresh=True):
        self.postfix.append(text)

    def update(self, n):
        self.n += n

    def close(self):
        self.closed = True


def test_in_jupyter_fit_uses_tqdms_notebook_widget_when_installed(monkeypatch, capsys):
    import types

    fake = types.ModuleType("tqdm.notebook")
    fake.tqdm = FakeNotebookTqdm
    monkeypatch.setitem(sys.modules, "tqdm.notebook", fake)
    monkeypatch.setattr(nn.progress, "in_jupyter", lambda: True)
    X, y = moons()
    history = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=4, progress=True)
    (bar,) = FakeNotebookTqdm.made
    assert (bar.total, bar.desc, bar.n, bar.closed) == (4, "train", 4, True)
    assert bar.postfix[-1] == f"loss={history['loss'][-1]:.4g} accuracy={history['accuracy'][-1]:.4g}"
    assert capsys.readouterr() == ("", "")


def test_in_jupyter_without_tqdm_fit_prints_a_line_per_epoch_on_stdout(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.notebook", None)  # importing it raises ImportError
    monkeypatch.setattr(nn.progress, "in_jupyter", lambda: True)
    X, y = moons()
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=True)
    out, err = capsys.readouterr()
    assert err == "" and [line[:19] for line in out.splitlines()] == [
        "train epoch 1/2: lo",
        "train epoch 2/2: lo",
    ]


def test_in_jupyter_is_false_here_and_true_in_a_real_kernel():
    assert not nn.progress.in_jupyter()
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("import nn\nprint(nn.progress.in_jupyter())"))
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    assert notebook.cells[0].outputs[0]["text"].strip() == "True"


def test_bad_arguments():
    X, y = moons()
    model = nn.MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match="40 samples but 39 labels"):
        nn.fit(model, X, y[:-1], progress=False)
    with pytest.raises(ValueError, match="epochs"):
        nn.fit(model, X, y, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        nn.fit(model, X, y, metrics=["f1"], progress=False)


def test_a_non_finite_loss_stops_training_naming_the_step_before_any_update():
    model = nn.MLP(1, [1], seed=0)
    model.layers[0].weight[0][0].data = 1.0
    X, y = [[1.0], [1e200]], [0.0, 0.0]  # (1e200)^2 overflows to inf at once
    opt = nn.SGD(model.parameters(), lr=0.1)
    before = model.state_dict()
    with pytest.raises(FloatingPointError, match=r"loss is inf at step 1 \(epoch 0\)"):
        nn.fit(model, X, y, loss="mse", optimizer=opt, epochs=3, progress=False)
    assert model.state_dict() == before and opt.steps == 0


def test_a_diverging_run_stops_at_the_step_whose_loss_is_not_finite():
    X, y = [[1e100, 1e100]], [1.0]
    model = nn.MLP(2, [1], seed=0)
    opt = nn.SGD(model.parameters(), lr=1.0)
    with pytest.raises(FloatingPointError, match="at step 2"):
        nn.fit(model, X, y, loss="mse", optimizer=opt, epochs=5, progress=False)
    assert opt.steps == 1 and all(math.isfinite(p.data) for p in model.parameters())


def test_a_non_finite_gradient_stops_training_naming_the_parameter():
    spike = autograd.primitive("spike", forward=lambda x: 0.0 * x, partials=lambda x, out: (math.inf,))
    model = nn.MLP(2, [1], seed=0)
    before = model.state_dict()

    def loss(preds, targets):
        return nn.mse_loss(preds, targets) + spike(model.layers[0].bias[0])

    with pytest.raises(FloatingPointError, match=r"gradient of layers\.0\.bias\[0\] is inf at step 1"):
        nn.fit(model, *moons(), loss=loss, epochs=2, progress=False)
    assert model.state_dict() == before


@pytest.mark.parametrize(
    "X, y, message",
    [
        (
            [[0.0, 1.0], [1.0, math.nan], [2.0, 2.0]],
            [1, -1, 1],
            "non-finite number nan in sample 1, feature 1",
        ),
        ([[0.0, 1.0], [math.inf, 0.0]], [1, -1], "X has a non-finite number inf in sample 1, feature 0"),
        ([[0.0, 1.0], [1.0, 0.0]], [1.0, -math.inf], "y has a non-finite number -inf in sample 1"),
        ([[0.0, 1.0], [1.0, 0.0]], [1.0, Value(math.nan)], "y has a non-finite number nan in sample 1"),
        ([[0.0, 1.0], (1.0, Value(math.inf))], [1, 1], "sample 1, feature 1"),
    ],
)
def test_non_finite_data_is_refused_before_training_naming_sample_and_feature(X, y, message):
    model = nn.MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=re.escape(message)):
        nn.fit(model, X, y, epochs=2, progress=False)
    assert model.state_dict() == before


def test_numpy_data_is_checked_too():
    np = pytest.importorskip("numpy")
    X = np.array([[0.0, 1.0], [np.nan, 2.0]])
    with pytest.raises(ValueError, match="sample 1, feature 0"):
        nn.fit(nn.MLP(2, [1], seed=0), X, np.array([1.0, -1.0]), progress=False)


def test_callbacks_get_each_epoch_and_its_logs_and_false_stops():
    X, y = moons()
    seen = []

    def record(epoch, logs):
        seen.append((epoch, logs))

    def stop_after_three(epoch, logs):
        return epoch < 2  # False at epoch 2: training stops after that epoch

    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, X, y, epochs=10, callbacks=[record, stop_after_three], progress=False)
    assert len(history["loss"]) == 3 and [e for e, _ in seen] == [0, 1, 2]
    assert [logs["loss"] for _, logs in seen] == history["loss"]
    assert [logs["accuracy"] for _, logs in seen] == history["accuracy"]
    with pytest.raises(TypeError, match="callback"):
        nn.fit(model, X, y, epochs=1, callbacks=[3], progress=False)


def test_fit_trains_and_evaluate_evaluates_in_the_right_mode():
    class Probe(nn.Module):
        def __init__(self):
            self.mlp = nn.MLP(2, [3, 1], seed=0)
            self.modes = []

        def forward(self, x):
            self.modes.append(self.training)
            return self.mlp(x)

    model = Probe()
    model.eval()
    X, y = moons()
    nn.fit(model, X, y, epochs=1, progress=False)
    assert all(model.modes) and model.training
    model.modes.clear()
    nn.evaluate(model, X, y)
    assert not any(model.modes) and model.training  # evaluate restores the mode it found


def test_seed_none_shuffles_with_the_global_random():
    X, y = moons()

    def run():
        random.seed(3)
        model = nn.MLP(2, [4, 1])
        nn.fit(model, X, y, epochs=3, batch_size=8, progress=False)
        return model.state_dict()

    assert run() == run()


def test_fit_draws_a_bar_on_a_terminal(monkeypatch):
    stream = io.StringIO()
    stream.isatty = lambda: True
    monkeypatch.setattr("sys.stderr", stream)
    X, y = moons()
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=3, progress=True)
    text = stream.getvalue()
    assert "\r" in text and "3/3" in text and "loss=" in text and text.endswith("\n")


def _bits(xs):
    return [struct.pack("<d", x) for x in xs]


FIT_CASES = {
    "hinge": (lambda: nn.make_moons(30, noise=0.1, seed=2, signed=True), [6, 1], "hinge"),
    "mse": (
        lambda: (nn.make_moons(30, noise=0.1, seed=2)[0], [0.1 * i - 1.0 for i in range(30)]), [6, 1], "mse"
    ),
    "bce": (lambda: nn.make_moons(30, noise=0.1, seed=2), [6, 1], "bce"),
    "cross_entropy": (
        lambda: nn.make_blobs(30, centers=[[-3, 0], [3, 0], [0, 4]], cluster_std=0.5, seed=0), [6, 3], "auto"
    ),
}


@pytest.mark.parametrize("case", sorted(FIT_CASES))
def test_compiled_mini_batches_share_one_program_and_give_the_same_bits(case, monkeypatch):
    # The labels are the program's arguments, like the inputs: every shuffled batch of 8 replays the
    # same trace (the last batch, of 6, makes a second one), with the uncompiled run's numbers.
    make, sizes, loss = FIT_CASES[case]
    X, y = make()
    made = []
    original = autograd.compile
    monkeypatch.setattr(autograd, "compile", lambda *a, **k: made.append(original(*a, **k)) or made[-1])
    runs = []
    for compiled in (False, True):
        model = nn.MLP(2, sizes, seed=3)
        history = nn.fit(model, X, y, loss=loss, optimizer=nn.SGD(model.parameters(), lr=0.1), epochs=4,
                         batch_size=8, seed=5, l2=1e-4, progress=False, compile=compiled)
        runs.append((history, _bits(p.data for p in model.parameters())))
    assert runs[0] == runs[1]
    assert len(made) == 1 and made[0].programs == 2


def test_compiled_fit_checks_every_label_before_the_first_step():
    X, y = nn.make_moons(20, noise=0.1, seed=2, signed=True)
    y = list(y)
    y[13] = 0.5  # a replay runs no checks: fit makes them all up front, naming the sample
    model = nn.MLP(2, [4, 1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match="label 13 is 0.5"):
        nn.fit(model, X, y, loss="hinge", epochs=1, batch_size=4, progress=False, compile=True)
    assert [p.data for p in model.parameters()] == before
