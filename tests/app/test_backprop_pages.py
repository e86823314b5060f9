"""Widget tests for the backprop lab: autograd, gradient descent, playground, digits MLP.

Each test pushes controls to extremes or feeds bad input and checks the page says so with a
warning (never st.error, never an exception) and shows the right numbers.
"""


import pytest

from core.nn import autograd
from tests.app.conftest import assert_clean, metric, open_page


def test_autograd_steps_and_bad_expressions():
    at = open_page("pages/autograd.py")
    assert_clean(at)
    assert "largest gradient difference" in " ".join(c.value for c in at.caption)  # fully stepped: checked against torch
    at.button(key="ag.reset").click().run()
    assert at.slider(key="ag.step").value == 0 and "Forward pass done" in at.info[0].value
    at.button(key="ag.fwd").click().run().button(key="ag.fwd").click().run()
    assert at.slider(key="ag.step").value == 2 and "Step 2 of" in at.success[0].value
    at.radio(key="ag.mode").set_value("An expression").run()
    assert_clean(at)
    at.selectbox(key="ag.op1").set_value("÷").run()
    at.number_input(key="ag.bb").set_value(0.0).run()
    assert_clean(at)
    assert any("divides by zero" in w.value for w in at.warning)
    at.number_input(key="ag.bb").set_value(-3.0).run()
    at.number_input(key="ag.c").set_value(-10.0)
    at.selectbox(key="ag.fn").set_value("log").run()  # log of 2 ÷ (-3) - 10 < 0
    assert any("positive" in w.value for w in at.warning)
    assert_clean(at)


def test_autograd_graph_shows_every_value_and_gradient_once_fully_stepped():
    at = open_page("pages/autograd.py")  # the default neuron, every backward step taken
    assert_clean(at)
    dot = at.get("graphviz_chart")[0].proto.spec
    # the page's default neuron, rebuilt here: x = (2, -1), w = (-0.5, 0.8), b = 0.5, tanh, target 1
    root = autograd.neuron([2.0, -1.0], [-0.5, 0.8], 0.5, "tanh", 1.0)
    root.backward()
    nodes = autograd.topological_order(root)
    assert dot.count("shape=record") == len(nodes) and "grad ?" not in dot
    for v in nodes:
        assert f"label=\"{v.label} | data {v.data:.4g} | grad {v.grad:.4g}\"" in dot, v
    at.button(key="ag.back").click().run()  # one step undone: the leaves' gradients are not final yet
    assert "grad ?" in at.get("graphviz_chart")[0].proto.spec


@pytest.mark.slow  # a learning-rate sweep over every optimizer
def test_gradient_descent_reports_divergence_and_handles_extremes():
    at = open_page("pages/gradient_descent.py")
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(table.optimizer) == {"SGD", "Momentum", "Nesterov", "RMSprop", "Adam"}
    assert all(o.startswith("converged") for o in table.outcome)  # the defaults converge on the bowl
    at.slider(key="gd.condition").set_value(100.0).run()
    at.select_slider(key="gd.lr.bowl").set_value(3.0).run()  # far above 2/κ
    assert_clean(at)
    table = at.dataframe[0].value
    assert table.set_index("optimizer").outcome["SGD"].startswith("diverged")
    assert any("diverged" in w.value for w in at.warning)
    for name in ("Rosenbrock", "saddle", "several minima"):
        at.selectbox(key="gd.surface").set_value(name).run()
        assert_clean(at)
    at.multiselect(key="gd.opts").set_value([]).run()  # nothing picked: the page says so and shows SGD
    assert_clean(at)
    assert list(at.dataframe[0].value.optimizer) == ["SGD"] and at.info


def test_playground_steps_plays_and_stops_a_diverging_run():
    at = open_page("pages/playground.py")
    assert_clean(at)
    assert metric(at, "Epoch") == "0"
    at.button(key="pg.step").click().run()
    assert metric(at, "Epoch") == "1"
    at.button(key="pg.play").click().run()  # one tick of training runs in this script run
    assert_clean(at)
    assert int(metric(at, "Epoch").replace(",", "")) > 1
    at.button(key="pg.reset").click().run()
    assert metric(at, "Epoch") == "0"
    # a learning rate so large that the loss explodes: the run stops and says so
    at.selectbox(key="pg.opt").set_value("SGD")
    at.selectbox(key="pg.act").set_value("relu")
    at.select_slider(key="pg.lr").set_value(1000.0)
    at.button[0].click().run()  # the form's Apply
    at.button(key="pg.play").click().run()
    assert_clean(at)
    assert any("diverged" in w.value for w in at.warning)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_playground_stops_a_diverging_mse_run(optimizer):
    # MSE of softmax outputs stays below 2 however wrong: the page must still say the run diverged
    at = open_page("pages/playground.py")
    at.selectbox(key="pg.loss").set_value("mse")
    at.selectbox(key="pg.opt").set_value(optimizer)
    at.select_slider(key="pg.lr").set_value(1000.0)
    at.button[0].click().run()
    at.button(key="pg.play").click().run()
    assert_clean(at)
    warning = next(w.value for w in at.warning if "diverged" in w.value)
    assert "confidently wrong" in warning
    assert at.button(key="pg.play").label == "▶ Play"  # stopped playing by itself
    assert float(metric(at, "Train loss")) <= 2


def test_playground_split_that_loses_a_class_says_so():
    at = open_page("pages/playground.py")
    at.selectbox(key="pg.data").set_value("gaussians")
    at.slider(key="pg.n").set_value(50)
    at.slider(key="pg.classes").set_value(6)
    at.slider(key="pg.test").set_value(90)  # 5 training points for 6 classes
    at.button[0].click().run()
    assert_clean(at)
    assert any("no training points" in w.value for w in at.warning)
    assert not at.metric  # no network was built from it


def test_playground_bad_widths_and_multiclass():
    at = open_page("pages/playground.py")
    at.text_input(key="pg.widths").set_value("8, 0")
    at.button[0].click().run()
    assert_clean(at)
    assert any("at least one unit" in w.value for w in at.warning)
    at.text_input(key="pg.widths").set_value("")  # no hidden layer: logistic regression still works
    at.slider(key="pg.classes").set_value(6)
    at.selectbox(key="pg.loss").set_value("mse")
    at.button[0].click().run()
    at.button(key="pg.step").click().run()
    assert_clean(at)
    assert "6 classes" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("payload, expect", [
    (b"x1,x2,label\n" + b"".join(f"{i},{i % 7},{i % 3}\n".encode() for i in range(60)), None),
    (b"x1,x2,label\n1,2,a\n,3,b\n" + b"4,5,a\n" * 20, "missing"),
    (b"a,b,c,d\n1,2,3,4\n", "expected columns"),
    (b"x1,x2,label\n" + b"1,two,a\n" * 20, "numbers"),
    (b"x1,x2,label\n" + b"".join(f"{i},{i % 7},{i % 3}\n".encode() for i in range(20)) + b"inf,1,a\n", "finite"),
])
def test_playground_csv_upload(payload, expect):
    at = open_page("pages/playground.py")
    at.selectbox(key="pg.data").set_value("upload a CSV")
    at.file_uploader(key="pg.upload").set_value(("points.csv", payload, "text/csv"))
    at.button[0].click().run()
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    if expect is None:
        assert not warnings and "3 classes" in " ".join(c.value for c in at.caption)
    else:
        assert expect in warnings


@pytest.mark.slow
def test_digits_trains_reports_and_survives_bad_settings():
    at = open_page("pages/mlp_digits.py")  # the first visit trains the default network
    assert_clean(at)
    assert float(metric(at, "Test accuracy").rstrip("%")) > 90
    assert at.image  # misclassified digits and first-layer weights
    at.text_input(key="dg.w.Good fit").set_value("0")
    at.button[0].click().run()
    assert any("at least one unit" in w.value for w in at.warning)
    at.text_input(key="dg.w.Good fit").set_value("32")
    at.selectbox(key="dg.opt.Good fit").set_value("SGD")
    at.select_slider(key="dg.lr.Good fit").set_value(100.0)
    at.slider(key="dg.e.Good fit").set_value(5)
    at.button[0].click().run()
    assert_clean(at)
    assert any("diverged" in w.value for w in at.warning)
    # the softmax + cross-entropy check on the same page agrees to ~1e-10 even with huge logits
    at.slider(key="dg.scale").set_value(20.0).run()
    check = next(m.value for m in at.markdown if "finite differences" in m.value)
    assert float(check.split("**")[1]) < 1e-6


def percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


@pytest.mark.slow
def test_overfit_preset_shows_overfitting_and_early_stopping_keeps_the_best_epoch():
    at = open_page("pages/mlp_digits.py")
    at.radio(key="dg.preset").set_value("Overfit on purpose").run()
    at.button[0].click().run()  # the form's Train
    assert_clean(at)
    # overfitting: 150 training digits nearly all right, the validation digits far fewer
    train, val = percent(metric(at, "Train accuracy")), percent(metric(at, "Validation accuracy"))
    assert train > 0.95 and train - val > 0.08, (train, val)
    # early stopping: it stopped before the 120 epochs, 30 after the best, and kept the best
    ran, kept = int(metric(at, "Epochs run")), int(metric(at, "Kept epoch"))
    assert ran < 120 and ran - kept == 30
    stop = next(s.value for s in at.success if "Early stopping" in s.value)
    assert f"stopped at epoch {ran} and kept epoch {kept}'s weights" in stop
    assert f"weights kept (epoch {kept})" in " ".join(c.value for c in at.caption)
