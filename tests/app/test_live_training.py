"""ui.live wires core.training's on_step to a progress bar, a chart and a Stop button."""

from streamlit.testing.v1 import AppTest


def training_page():
    import streamlit as st

    from core.training import run_steps
    from ui import live

    if st.button("Train"):
        live.train("demo", lambda on_step: run_steps(lambda i: {"loss": 1 / i}, 30, on_step), total_steps=30)
    result = live.last("demo")
    if result is not None:
        st.metric("final loss", f"{result.last('loss'):.4f}")


def test_a_finished_run_is_kept_for_later_reruns():
    at = AppTest.from_function(training_page, default_timeout=30).run()
    assert not at.metric
    at.button[0].click().run()
    assert not at.exception
    assert at.metric[0].value == "0.0333"
    assert [b.label for b in at.button] == ["Train"]  # the run is over: no Stop button left behind
    at.run()  # an unrelated rerun keeps the result
    assert at.metric[0].value == "0.0333"
    assert not at.info


def test_an_interrupted_run_says_where_it_stopped():
    at = AppTest.from_function(training_page, default_timeout=30).run()
    at.button[0].click().run()
    # what a Stop click leaves behind: the loop was interrupted while running
    history = at.session_state["demo.history"]
    history.steps, history.metrics = [1, 2, 3], {"loss": [1.0, 0.5, 0.33]}
    at.session_state["demo.running"] = True
    at.session_state["demo"] = None
    at.run()
    assert not at.exception
    assert "stopped at step 3 of 30" in at.info[0].value
    assert not at.metric
