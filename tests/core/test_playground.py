"""core.nn.playground: CSV uploads (good and bad), layer widths, the decision-boundary grid."""

import numpy as np
import pytest

from core.errors import LabError
from core.nn import mlp, playground


def csv(rows: list[str], header: str = "x1,x2,label") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_good_csv_is_scaled_and_labels_factorized():
    rows = [f"{i},{2 * i},{'cat' if i % 3 else 'dog'}" for i in range(30)]
    X, y, names, ranges = playground.points_from_csv(csv(rows))
    assert X.shape == (30, 2) and X.min() == -1 and X.max() == 1
    assert ranges == [(0.0, 29.0), (0.0, 58.0)]  # what the page says it rescaled
    assert names == ["cat", "dog"] and set(y) == {0, 1}
    assert y[0] == 1  # row 0 is a dog


@pytest.mark.parametrize("payload, message", [
    (csv([f"{i},{i},a" for i in range(5)] + ["1,,b"] + [f"{i},{i},b" for i in range(10)]), "missing"),
    (csv([f"{i},abc,a" for i in range(12)] + ["1,2,b"]), "numbers"),
    (csv([f"{i},{i},a" for i in range(6)] + ["inf,2,b"] + [f"{i},{i},b" for i in range(6)]), "finite.*row 8"),
    (csv([f"{i},{i},a" for i in range(6)] + ["1,-1e999,b"] + [f"{i},{i},b" for i in range(6)]), "finite"),
    (csv(["1,2"] * 12, header="x1,x2"), "expected columns"),
    (csv([f"{i},{i},a" for i in range(20)]), "classes"),
    (csv(["1,2,a", "2,3,b"]), "between"),
    (b"\xff\xfe\x00garbage", "CSV"),
    (b"", "CSV"),
])
def test_bad_csv_gives_a_clear_lab_error(payload, message):
    with pytest.raises(LabError, match=message):
        playground.points_from_csv(payload)


@pytest.mark.parametrize("text, widths", [("8, 8", (8, 8)), ("", ()), ("4;3", (4, 3)), (" 16 ", (16,))])
def test_parse_widths(text, widths):
    assert playground.parse_widths(text) == widths


@pytest.mark.parametrize("text", ["0", "8, 0", "a, b", "1000", "1,1,1,1,1,1,1"])
def test_bad_widths_are_lab_errors(text):
    with pytest.raises(LabError):
        playground.parse_widths(text)


def test_boundary_grid_matches_model_predictions():
    model = mlp.MLP([2, 5, 3], "tanh", np.random.default_rng(0))
    grid = playground.boundary(model, lim=1.0, n=10)
    assert len(grid) == 100 and set(grid["class"]) <= {"0", "1", "2"}
    centre = np.array([[(grid.x[7] + grid.x2[7]) / 2, (grid.y[7] + grid.y2[7]) / 2]])
    p = model.predict_proba(centre)[0]
    assert grid["class"][7] == str(p.argmax()) and np.isclose(grid.probability[7], p.max())


def test_neuron_maps_are_each_hidden_units_activation_over_the_grid():
    import torch

    model = mlp.MLP([2, 4, 3, 2], "tanh", np.random.default_rng(1))
    maps = playground.neuron_maps(model, lim=1.0, n=5)
    grid = maps[(maps.layer == 1) & (maps.neuron == 1)]
    X = torch.tensor(np.stack([(grid.x + grid.x2) / 2, (grid.y + grid.y2) / 2], 1).astype(np.float64))
    W1, b1, W2, b2 = (torch.tensor(p) for p in model.params[:4])
    h1 = torch.tanh(X @ W1 + b1)
    h2 = torch.tanh(h1 @ W2 + b2)
    for layer, h in ((1, h1), (2, h2)):
        for k in range(h.shape[1]):
            ours = maps[(maps.layer == layer) & (maps.neuron == k + 1)].h.to_numpy()
            np.testing.assert_allclose(ours, h[:, k].numpy(), rtol=0, atol=1e-12)
    assert set(maps.layer) == {1, 2} and len(maps) == 25 * (4 + 3)
