"""Widget tests for the backprop lab: autograd, gradient descent, playground, digits MLP.

Each test pushes controls to extremes or feeds bad input and checks the page says so with a
warning (never st.error, never an exception) and shows the right numbers.
"""


import re

import pytest

from core.nn import autograd
from tests.app.conftest import assert_clean, metric, open_page, widget
from tests.app.vega_specs import chart, charts


def test_autograd_steps_and_bad_expressions():
    at = open_page("pages/autograd.py")
    assert_clean(at)
    assert at.slider(key="ag.step").value == 0 and "Forward pass done" in at.info[0].value  # it opens before the first step
    at.button(key="ag.all").click().run()
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
    at = open_page("pages/autograd.py")
    at.button(key="ag.all").click().run()  # the default neuron, every backward step taken
    assert_clean(at)
    dot = at.get("graphviz_chart")[0].proto.spec
    # the page's default neuron, rebuilt here: x = (2, -1), w = (-0.5, 0.8), b = 0.5, tanh, target 1
    root = autograd.neuron([2.0, -1.0], [-0.5, 0.8], 0.5, "tanh", 1.0)
    root.backward()
    nodes = autograd.topological_order(root)
    assert dot.count("shape=record") == len(nodes) and "grad ?" not in dot and "so far" not in dot
    for v in nodes:
        assert f"data {v.data:.4g} | grad {v.grad:.4g}" in dot, v
    at.button(key="ag.back").click().run()  # one step undone: the first input's gradients are not final yet
    assert "grad ?" in at.get("graphviz_chart")[0].proto.spec


def test_autograd_each_step_shows_upstream_times_local_left_to_right_with_a_legend_that_matches():
    at = open_page("pages/autograd.py")
    root = autograd.neuron([2.0, -1.0], [-0.5, 0.8], 0.5, "tanh", 1.0)
    legend = " ".join(m.value for m in at.markdown if "Reading the graph" in m.value)
    for colour, meaning in autograd.LEGEND.values():
        assert colour in legend and meaning in legend
    assert "rankdir=LR" in at.get("graphviz_chart")[0].proto.spec
    for k in range(1, autograd.operations(root) + 1):
        at.button(key="ag.fwd").click().run()
        node = autograd.backward_steps(root, k)[-1]
        shown = " ".join(x.value for x in at.latex)
        dot = at.get("graphviz_chart")[0].proto.spec
        for row in autograd.step_story(node):
            assert f"\\underbrace{{{row['upstream']:.4g}}}_{{\\text{{upstream}}}} \\times \\underbrace{{{row['local']:.4g}}}" in shown
            assert f"= {row['upstream × local']:.4g}" in shown
        states = autograd.node_states(root, autograd.backward_steps(root, k))
        colours = dict((label, colour) for colour, label in re.findall(r'fillcolor="([^"]+)", label="(\w+) \| data', dot))
        assert len(colours) == len(autograd.topological_order(root))  # every value in the neuron has a name
        for v in autograd.topological_order(root):  # every box has the colour its state has in the legend
            assert colours[v.label] == autograd.LEGEND[states[id(v)]][0], (k, v.label)
    assert "−" in at.get("graphviz_chart")[0].proto.spec  # out − target is a subtraction, not "+ (−1 ×)"


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
    at.button(key="pg.apply").click().run()  # the form's Apply
    at.button(key="pg.play").click().run()
    assert_clean(at)
    assert any("diverged" in w.value for w in at.warning)


def test_playground_turns_its_knobs_without_a_reset_and_shows_inside_the_network():
    at = open_page("pages/playground.py")
    at.button(key="pg.step").click().run()
    at.select_slider(key="pg.lr").set_value(0.3).run()  # while it trains, as TensorFlow Playground allows
    at.select_slider(key="pg.l2").set_value(1e-3).run()
    assert_clean(at)
    assert metric(at, "Epoch") == "1"  # the same network, not a fresh one
    trainer = at.session_state["pg.trainer"]
    assert trainer.optimizer.lr == 0.3 and trainer.config.l2 == 1e-3
    # the network 2 → 8 → 8 → 2 as a diagram (an edge per weight) and a map per hidden neuron
    assert at.get("graphviz_chart")[0].proto.spec.count("->") == 2 * 8 + 8 * 8 + 8 * 2
    maps = next(c for c in charts(at) if "row" in c.spec.get("encoding", {}))
    assert len(maps.frame().groupby(["layer", "neuron"])) == 16
    boundary = next(c for c in charts(at) if "layer" in c.spec and c.spec["layer"][0]["mark"] == "rect")
    dots = boundary.layers()[1]["encoding"]["color"]["legend"]
    assert dots["title"] == "class" and dots["orient"] == "top"
    assert boundary.spec["resolve"] == {"legend": {"color": "independent"}}  # shared, the regions' legend=None hid it


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_playground_stops_a_diverging_mse_run(optimizer):
    # MSE of softmax outputs stays below 2 however wrong: the page must still say the run diverged
    at = open_page("pages/playground.py")
    at.selectbox(key="pg.loss").set_value("mse")
    at.selectbox(key="pg.opt").set_value(optimizer)
    at.select_slider(key="pg.lr").set_value(1000.0)
    at.button(key="pg.apply").click().run()
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
    at.button(key="pg.apply").click().run()
    assert_clean(at)
    assert any("no training points" in w.value for w in at.warning)
    assert not at.metric  # no network was built from it


def test_playground_bad_widths_and_multiclass():
    at = open_page("pages/playground.py")
    at.text_input(key="pg.widths").set_value("8, 0")
    at.button(key="pg.apply").click().run()
    assert_clean(at)
    assert any("at least one unit" in w.value for w in at.warning)
    at.text_input(key="pg.widths").set_value("")  # no hidden layer: logistic regression still works
    at.slider(key="pg.classes").set_value(6)
    at.selectbox(key="pg.loss").set_value("mse")
    at.button(key="pg.apply").click().run()
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
    at.button(key="pg.apply").click().run()
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    if expect is None:
        captions = " ".join(c.value for c in at.caption)
        assert not warnings and "3 classes" in captions
        assert "rescaled into [−1, 1]" in captions and "x1 from [0, 59], x2 from [0, 6]" in captions
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
    captions = " ".join(c.value for c in at.caption)
    assert f"weights kept (epoch {kept})" in captions
    # the claim under the curves is the run's own: the validation loss turned up after the kept epoch
    assert f"the validation loss was lowest at epoch {kept}" in captions and "rose to" in captions


@pytest.mark.slow
def test_gradient_descent_saddle_draws_contours_and_plays_from_a_typed_start_with_its_own_momentum():
    at = open_page("pages/gradient_descent.py")
    at.selectbox(key="gd.surface").set_value("saddle").run()
    assert_clean(at)
    surface = chart(at, "saddle")
    logs = [(layer["encoding"]["color"]["field"], surface.frames[layer["data"]["name"]]) for layer in surface.layers()
            if layer["encoding"].get("color", {}).get("scale", {}).get("type") == "log"]
    # a log colour scale over the saddle's negative f drew no contour at all
    assert logs and all((frame[name] > 0).all() for name, frame in logs)
    table = lambda: at.dataframe[0].value.set_index("optimizer")["final f"]  # noqa: E731
    at.number_input(key="gd.x0.saddle").set_value(1.0).run()  # a typed start point
    at.number_input(key="gd.y0.saddle").set_value(-0.05).run()
    start = chart(at, "saddle").frames[chart(at, "saddle").layers()[-1]["data"]["name"]]
    assert start[["x", "y"]].values.tolist() == [[1.0, -0.05]]
    assert table()["Momentum"] != table()["SGD"]
    at.slider(key="gd.mu").set_value(0.0).run()  # no momentum: Momentum is SGD
    assert table()["Momentum"] == table()["SGD"]
    at.button(key="gd.play").click().run()  # from step 0, a few steps a tick
    assert_clean(at)
    shown = widget(at.slider, "Steps shown").value
    assert 0 < shown < 300 and at.button(key="gd.play").label.startswith("⏸")
    paths = chart(at, "saddle").frames[chart(at, "saddle").layers()[1]["data"]["name"]]
    assert paths.step.max() == shown
