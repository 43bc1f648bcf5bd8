"""The lecture notes' formulas, worked by hand here and reproduced by the engine.

The notes: "Gradient descent & Backpropagation" (the 3-2-1 network), the neural-network
backpropagation note (the mini-batch algorithm), and "CISC 7026 Introduction to Deep Learning —
Optimization", University of Macau (linear regression).

Every expected value below comes from the notes' closed forms coded with plain floats and lists;
the engine only builds the loss from Value operations and runs backward().
"""

import math
import random

import pytest

import autograd
from autograd import Value, grad

# -- small helpers on plain lists (the "by hand" side) --


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def softmax(z: list[float]) -> list[float]:
    m = max(z)
    e = [math.exp(v - m) for v in z]
    total = math.fsum(e)
    return [v / total for v in e]


def matvec(a: list[list[float]], v: list[float]) -> list[float]:
    return [math.fsum(x * y for x, y in zip(row, v, strict=True)) for row in a]


def transpose(a: list[list[float]]) -> list[list[float]]:
    return [list(col) for col in zip(*a, strict=True)]


def matmul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    bt = transpose(b)
    return [[math.fsum(x * y for x, y in zip(row, col, strict=True)) for col in bt] for row in a]


def values(rows: list[list[float]]) -> list[list[Value]]:
    return [[Value(x) for x in row] for row in rows]


def grads(rows: list[list[Value]]) -> list[list[float]]:
    return [[v.grad for v in row] for row in rows]


def assert_close(got, want, rel=1e-12, abs=1e-14):
    assert got == pytest.approx(want, rel=rel, abs=abs)


# -- the calculus review's small examples --


def test_derivative_of_x_squared_minus_3x():
    # f(x) = x^2 - 3x, f'(x) = 2x - 3: f'(1) = -1, and f' vanishes at x = 3/2
    df = grad(lambda x: x**2 - 3 * x)
    assert df(1.0) == -1.0
    assert df(1.5) == 0.0
    for x in (-3.0, 0.25, 7.0):
        assert df(x) == 2 * x - 3


def test_gradient_of_x1_squared_minus_3_x1_x2():
    # f = x1^2 - 3 x1 x2, grad = (2 x1 - 3 x2, -3 x1). At (1, 0) that is (2, -3); the notes print
    # (-1, -3), an arithmetic slip (2*1 - 3*0 = 2) that the engine does not reproduce.
    df = grad(lambda x1, x2: x1**2 - 3 * x1 * x2, argnums=(0, 1))
    assert df(1.0, 0.0) == (2.0, -3.0)
    for x1, x2 in [(0.5, -2.0), (-1.0, 3.0)]:
        assert df(x1, x2) == (2 * x1 - 3 * x2, -3 * x1)


# -- sigmoid' = σ(1 - σ), and the logistic neuron's gradient --


@pytest.mark.parametrize("z", [-30.0, -4.0, -0.5, 0.0, 0.3, 2.0, 12.0])
def test_sigmoid_derivative_is_sigma_times_one_minus_sigma(z):
    s = sigmoid(z)
    assert_close(grad(autograd.sigmoid)(z), s * (1 - s))


def test_logistic_neuron_gradient():
    # f(x, θ) = σ(θᵀ x̄), x̄ = [1, x]:  ∇_θ f = σ(θᵀ x̄)(1 - σ(θᵀ x̄)) x̄
    x_bar = [1.0, 0.4, -1.2, 2.0]
    theta = [Value(t) for t in (0.1, -0.5, 0.3, 0.25)]
    f = autograd.dot(theta, x_bar).sigmoid()
    f.backward()
    s = sigmoid(math.fsum(t.data * x for t, x in zip(theta, x_bar, strict=True)))
    assert_close([t.grad for t in theta], [s * (1 - s) * x for x in x_bar])


# -- cross-entropy: d/dz (-z_y + ln Σ e^{z_j}) = softmax(z) - onehot(y) --


@pytest.mark.parametrize("seed", range(5))
def test_cross_entropy_gradient_is_softmax_minus_onehot(seed):
    rng = random.Random(seed)
    m = rng.randint(2, 6)
    logits = [rng.uniform(-4, 4) for _ in range(m)]
    label = rng.randrange(m)
    z = [Value(v) for v in logits]
    loss = -z[label] + autograd.sum(v.exp() for v in z).log()
    loss.backward()
    p = softmax(logits)
    assert_close(loss.data, -math.log(p[label]))
    assert_close([v.grad for v in z], [p[j] - (1.0 if j == label else 0.0) for j in range(m)])


# -- linear regression: ∇_θ (Y - X_D θ)ᵀ(Y - X_D θ) = -2 X_Dᵀ Y + 2 X_Dᵀ X_D θ --


def _regression_data(seed: int, n: int, d: int):
    rng = random.Random(seed)
    x_d = [[1.0] + [rng.uniform(-2, 2) for _ in range(d)] for _ in range(n)]  # design matrix: 1, x
    y = [rng.uniform(-3, 3) for _ in range(n)]
    theta = [rng.uniform(-1, 1) for _ in range(d + 1)]
    return x_d, y, theta


def _squared_error_loss(x_d, y, theta_values):
    residuals = [yi - autograd.dot(theta_values, row) for row, yi in zip(x_d, y, strict=True)]
    return autograd.dot(residuals, residuals)


@pytest.mark.parametrize(("seed", "n", "d"), [(0, 6, 1), (1, 10, 3), (2, 4, 2)])
def test_linear_regression_gradient(seed, n, d):
    x_d, y, theta = _regression_data(seed, n, d)
    theta_values = [Value(t) for t in theta]
    _squared_error_loss(x_d, y, theta_values).backward()
    xt = transpose(x_d)
    xty = matvec(xt, y)
    xtx_theta = matvec(matmul(xt, x_d), theta)
    expected = [-2 * a + 2 * b for a, b in zip(xty, xtx_theta, strict=True)]
    assert_close([t.grad for t in theta_values], expected, rel=1e-11)


def test_gradient_vanishes_at_the_normal_equations_solution():
    # θ = (X_Dᵀ X_D)^-1 X_Dᵀ Y, solved by hand for one feature (a 2x2 system, Cramer's rule)
    x_d, y, _ = _regression_data(3, 8, 1)
    xt = transpose(x_d)
    (a, b), (c, d) = matmul(xt, x_d)
    r0, r1 = matvec(xt, y)
    det = a * d - b * c
    theta = [Value((r0 * d - b * r1) / det), Value((a * r1 - c * r0) / det)]
    _squared_error_loss(x_d, y, theta).backward()
    assert_close([t.grad for t in theta], [0.0, 0.0], abs=1e-12)


# -- the backprop article's 3-2-1 network: E = ½(y - ŷ)², sigmoid units, no biases --


def test_three_two_one_network_weight_updates():
    x = [0.5, 0.1, -0.2]
    w1 = [[0.5, -0.6], [0.1, -0.2], [0.1, 0.7]]  # w1[i][j]: input i -> hidden j (3x2)
    w2 = [0.1, -0.3]  # hidden j -> output (2x1)
    y, eta = 0.6, 0.5

    # By hand, with the article's error terms and f'(h) = f(h)(1 - f(h)) for the sigmoid f.
    h_hidden = [math.fsum(w1[i][j] * x[i] for i in range(3)) for j in range(2)]
    a_hidden = [sigmoid(h) for h in h_hidden]
    h_out = math.fsum(w2[j] * a_hidden[j] for j in range(2))
    y_hat = sigmoid(h_out)
    delta_out = (y - y_hat) * y_hat * (1 - y_hat)  # δ_out = (y - ŷ) f'(h)
    delta_hidden = [w2[j] * delta_out * a_hidden[j] * (1 - a_hidden[j]) for j in range(2)]  # Σ w δ f'(h)
    dw2 = [eta * delta_out * a_hidden[j] for j in range(2)]  # Δw_ij = η δ_j x_i
    dw1 = [[eta * delta_hidden[j] * x[i] for j in range(2)] for i in range(3)]

    # The engine: the same network from Value operations, then backward().
    w1_v, w2_v = values(w1), [Value(w) for w in w2]
    hidden = [autograd.sum(w1_v[i][j] * x[i] for i in range(3)).sigmoid() for j in range(2)]
    out = autograd.sum(w2_v[j] * hidden[j] for j in range(2)).sigmoid()
    error = 0.5 * (y - out) ** 2
    error.backward()

    assert_close(out.data, y_hat)
    assert_close([-eta * w.grad for w in w2_v], dw2)  # Δw = -η ∂E/∂w
    for i in range(3):
        assert_close([-eta * w.grad for w in w1_v[i]], dw1[i])


# -- the neural-network note's mini-batch backpropagation algorithm, on a random 2-layer net --

ACTIVATIONS = {
    # name: (h on Values or floats, h' on floats by hand)
    "tanh": (autograd.tanh, lambda z: 1 - math.tanh(z) ** 2),
    "sigmoid": (autograd.sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z))),
}


def _random_net(seed: int, n_b: int, d: int, units: int, outputs: int):
    rng = random.Random(seed)
    x = [[rng.gauss(0, 1) for _ in range(d)] for _ in range(n_b)]
    w1 = [[rng.gauss(0, 0.7) for _ in range(d)] for _ in range(units)]  # W^(1): U1 x D
    b1 = [rng.gauss(0, 0.3) for _ in range(units)]
    w2 = [[rng.gauss(0, 0.7) for _ in range(units)] for _ in range(outputs)]  # W^(2): U2 x U1
    b2 = [rng.gauss(0, 0.3) for _ in range(outputs)]
    return rng, x, (w1, b1, w2, b2)


def _backprop_by_hand(x, y, params, h, dh, classification):
    """The note's algorithm: forward, dZ^L, then dZ = dQ ⊙ h'(Z), dQ = dZ W, dW = dZᵀQ / n_b."""
    w1, b1, w2, b2 = params
    n_b = len(x)
    z1 = [[a + b for a, b in zip(row, b1, strict=True)] for row in matmul(x, transpose(w1))]  # Q0 W1ᵀ + b1ᵀ
    q1 = [[h(v) for v in row] for row in z1]
    z2 = [[a + b for a, b in zip(row, b2, strict=True)] for row in matmul(q1, transpose(w2))]
    pairs = list(zip(z2, y, strict=True))
    if classification:
        cost = math.fsum(-z[yi] + math.log(math.fsum(math.exp(v) for v in z)) for z, yi in pairs)
        dz2 = [[p - (1.0 if j == yi else 0.0) for j, p in enumerate(softmax(z))] for z, yi in pairs]
    else:
        cost = math.fsum((yi - z[0]) ** 2 for z, yi in pairs)
        dz2 = [[-2 * (yi - z[0])] for z, yi in pairs]  # dZ^L = -2(y - Z^L)
    cost /= n_b
    dq1 = matmul(dz2, w2)  # dQ^(1) = dZ^(2) W^(2)
    dz1 = [[g * dh(z) for g, z in zip(gr, zr, strict=True)] for gr, zr in zip(dq1, z1, strict=True)]
    dw2 = [[v / n_b for v in row] for row in matmul(transpose(dz2), q1)]  # dW = (1/n_b) dZᵀ Q
    dw1 = [[v / n_b for v in row] for row in matmul(transpose(dz1), x)]
    db2 = [math.fsum(col) / n_b for col in transpose(dz2)]  # db_j = mean_i dZ_ij
    db1 = [math.fsum(col) / n_b for col in transpose(dz1)]
    return cost, (dw1, db1, dw2, db2)


def _cost_with_the_engine(x, y, params, h, classification):
    w1, b1, w2, b2 = params
    n_b = len(x)
    losses = []
    for xi, yi in zip(x, y, strict=True):
        q1 = [h(autograd.dot(row, xi) + b) for row, b in zip(w1, b1, strict=True)]
        z2 = [autograd.dot(row, q1) + b for row, b in zip(w2, b2, strict=True)]
        if classification:
            losses.append(-z2[yi] + autograd.sum(z.exp() for z in z2).log())
        else:
            losses.append((yi - z2[0]) ** 2)
    return autograd.sum(losses) / n_b


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("classification", [False, True], ids=["regression", "classification"])
def test_mini_batch_backpropagation_matches_the_engine(activation, classification):
    h, dh = ACTIVATIONS[activation]
    outputs = 3 if classification else 1
    rng, x, params = _random_net(seed=7, n_b=5, d=3, units=4, outputs=outputs)
    y = [rng.randrange(outputs) for _ in x] if classification else [rng.gauss(0, 1) for _ in x]

    expected_cost, expected_grads = _backprop_by_hand(x, y, params, h, dh, classification)

    w1, b1, w2, b2 = params
    value_params = (values(w1), [Value(b) for b in b1], values(w2), [Value(b) for b in b2])
    cost = _cost_with_the_engine(x, y, value_params, h, classification)
    cost.backward()

    assert_close(cost.data, expected_cost)
    dw1, db1, dw2, db2 = expected_grads
    v_w1, v_b1, v_w2, v_b2 = value_params
    for got, want in [(grads(v_w1), dw1), (grads(v_w2), dw2)]:
        for row_got, row_want in zip(got, want, strict=True):
            assert_close(row_got, row_want)
    assert_close([b.grad for b in v_b1], db1)
    assert_close([b.grad for b in v_b2], db2)
