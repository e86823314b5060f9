"""The LoRA-from-scratch page: the numbers it shows match core.llm.lora_toy, extremes don't break it."""


import pytest

from tests.app.conftest import assert_clean, metric, open_page


@pytest.mark.slow
def test_bound_and_counts_match_core_and_extremes_are_handled():
    at = open_page("pages/lora_update.py", timeout=300)
    assert_clean(at)
    # ΔW* has singular values 0.6^i, i < 8: rank 4 misses 0.6^8 + 0.6^10 + 0.6^12 + 0.6^14 = 0.025803, over 64 rows
    assert metric(at, "Least possible loss at rank r") == "4.03e-04"
    assert metric(at, "Trainable: r·(d_in + d_out)") == "512"
    assert metric(at, "Rank of learned ΔW") == "4"
    assert any("copies the top 4 singular values" in c.value for c in at.caption)  # converged: it says what it learned

    at.button(key="lu.sweep").click().run()  # every rank at these settings: r = 8 has not copied σ₈ = 0.028 in 300 steps
    assert_clean(at)
    sweep = at.dataframe[-1].value.set_index("r")
    assert sweep.loc[8, "directions copied"] == "7 of 8" and not sweep.loc[8, "converged"]
    assert sweep.loc[4, "converged"] and sweep.loc[4, "directions copied"] == "4 of 4"
    assert any("Not converged at r = " in c.value and "8" in c.value.split("Not converged at r = ")[1] for c in at.caption)

    at.slider(key="lu.k").set_value(2)
    at.select_slider(key="lu.r").set_value(64)
    at.select_slider(key="lu.lr").set_value(1.0)  # far too large for Adam here
    at.slider(key="lu.steps").set_value(50)
    at.button[0].click().run()  # the form's Train button
    assert_clean(at)
    assert metric(at, "Trainable: r·(d_in + d_out)") == "8,192"
    assert at.info or at.warning, "a run that did not converge says so"
    assert not any("copies the top" in c.value for c in at.caption), "an unconverged run copied nothing yet"
    assert any(c.value.startswith("Not converged") for c in at.caption)

    at.slider(key="lu.noise").set_value(0.5)
    at.select_slider(key="lu.lr").set_value(1e-2)
    at.select_slider(key="lu.r").set_value(1)
    at.button[0].click().run()
    assert_clean(at)
    assert metric(at, "Rank of learned ΔW") == "1"
