"""The LoRA-from-scratch page: the numbers it shows match core.llm.lora_toy, extremes don't break it."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.llm import lora_toy

APP = str(Path(__file__).parents[2] / "streamlit_app.py")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.slow
def test_bound_and_counts_match_core_and_extremes_are_handled():
    at = AppTest.from_file(APP, default_timeout=300).run().switch_page("pages/lora_update.py").run()
    clean(at)
    _, delta = lora_toy.task(lora_toy.ToyConfig(true_rank=8))
    assert metric(at, "Least possible loss at rank r") == f"{lora_toy.eckart_young(delta.numpy(), 4):.2e}"
    assert metric(at, "Trainable: r·(d_in + d_out)") == "512"
    assert metric(at, "Rank of learned ΔW") == "4"
    assert any("copies the top 4 singular values" in c.value for c in at.caption)  # converged: it says what it learned

    at.slider(key="lu.k").set_value(2)
    at.select_slider(key="lu.r").set_value(64)
    at.select_slider(key="lu.lr").set_value(1.0)  # far too large for Adam here
    at.slider(key="lu.steps").set_value(50)
    at.button[0].click().run()  # the form's Train button
    clean(at)
    assert metric(at, "Trainable: r·(d_in + d_out)") == "8,192"
    assert at.info or at.warning, "a run that did not converge says so"
    assert not any("copies the top" in c.value for c in at.caption), "an unconverged run copied nothing yet"
    assert any(c.value.startswith("Not converged") for c in at.caption)

    at.slider(key="lu.noise").set_value(0.5)
    at.select_slider(key="lu.lr").set_value(1e-2)
    at.select_slider(key="lu.r").set_value(1)
    at.button[0].click().run()
    clean(at)
    assert metric(at, "Rank of learned ΔW") == "1"
