"""fit and evaluate: a step lowers the loss, histories, metrics, silence without a terminal."""

import io

import pytest

import nn


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


def test_progress_true_without_a_terminal_is_silent(capsys):
    X, y = moons()
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=True)  # pytest's capture is not a tty
    assert capsys.readouterr() == ("", "")


def test_bad_arguments():
    X, y = moons()
    model = nn.MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match="40 samples but 39 labels"):
        nn.fit(model, X, y[:-1], progress=False)
    with pytest.raises(ValueError, match="epochs"):
        nn.fit(model, X, y, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        nn.fit(model, X, y, metrics=["f1"], progress=False)


def test_a_diverging_loss_stops_training_with_a_clear_error():
    X, y = [[1e150, 1e150]], [1.0]
    model = nn.MLP(2, [1], seed=0)
    with pytest.raises((FloatingPointError, OverflowError)):
        nn.fit(
            model, X, y, loss="mse", optimizer=nn.SGD(model.parameters(), lr=1.0), epochs=3, progress=False
        )


def test_fit_draws_a_bar_on_a_terminal(monkeypatch):
    stream = io.StringIO()
    stream.isatty = lambda: True
    monkeypatch.setattr("sys.stderr", stream)
    X, y = moons()
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=3, progress=True)
    text = stream.getvalue()
    assert "\r" in text and "3/3" in text and "loss=" in text and text.endswith("\n")
