"""What the information-theory and cross-entropy pages show: written-out formulas that add up, a code tree
whose text keeps its size, legends not cut off, guided steps, and race claims taken from the run itself."""

import math
import re

import pytest
from scipy.stats import entropy as scipy_entropy

from core.foundations import information_demo, loss_race, prefix_codes
from tests.app.conftest import assert_clean, open_page, widget
from tests.app.vega_specs import chart, charts

pytestmark = pytest.mark.slow  # each test starts the app and reruns a page several times


def written_numbers(latex: str) -> list[tuple[int, float]]:
    """(count, probability) of each term of a by-hand entropy line, read back from the LaTeX."""
    terms = []
    for count, frac, decimal in re.findall(r"(?:(\d+) \\times )?(?:\\tfrac\{1\}\{(\d+)\}|([0-9.]+)) \\log_2", latex):
        terms.append((int(count or 1), 1 / int(frac) if frac else float(decimal)))
    return terms


def by_hand_line(at) -> str | None:
    lines = [x.value.strip("$\n") for x in at.latex if x.value.strip("$\n").startswith("H = -")]
    return lines[0] if lines else None


def test_entropy_by_hand_writes_numbers_that_add_up_to_the_entropy():
    at = open_page("pages/information_theory.py")
    widget(at.selectbox, "Start from").select("uniform").run()
    widget(at.slider, "Outcomes").set_value(4096).run()
    assert_clean(at)
    line = by_hand_line(at)
    assert "0.0002 " not in line and r"\tfrac{1}{4096}" in line  # 1/4096 was written as 0.0002, which gives 12.3 bits
    assert -sum(c * v * math.log2(v) for c, v in written_numbers(line)) == pytest.approx(12.0)
    assert line.endswith(r"= 12.0000\ \text{bits}")
    widget(at.selectbox, "Start from").select("biased coin").run()
    widget(at.slider, "P(heads)").set_value(0.37).run()
    line = by_hand_line(at)  # 0.37 and 0.63 as written give the entropy: "="
    assert r"\approx" not in line and -sum(c * v * math.log2(v) for c, v in written_numbers(line)) == pytest.approx(0.9507, abs=1e-4)
    for typed in ("1, 1, 1, 1, 1, 1, 1, 2", "3, 7, 11"):  # 2/9, 3/21, 7/21 are written rounded: "=" only if that is harmless
        widget(at.selectbox, "Start from").select("typed by you").run()
        widget(at.text_area, "Weights").input(typed).run()
        line = by_hand_line(at)
        weights = [float(w) for w in typed.split(",")]
        exact = scipy_entropy(weights, base=2)
        from_written = -sum(c * v * math.log2(v) for c, v in written_numbers(line))
        assert line.endswith(f"{exact:.4f}\\ \\text{{bits}}")
        assert (r"\approx" in line) == (round(from_written, 4) != round(exact, 4)), line


def test_a_27_leaf_huffman_tree_is_drawn_left_to_right_at_its_own_size():
    at = open_page("pages/information_theory.py")
    widget(at.selectbox, "Start from").select("typed by you").run()
    widget(at.text_area, "Weights").input(", ".join(str(w) for w in range(1, 28))).run()
    assert_clean(at)
    tree = at.get("graphviz_chart")[0]
    assert "rankdir=LR" in tree.proto.spec and tree.proto.spec.count("shape=box") == 27
    assert any("0 = up, 1 = down" in c.value for c in at.caption)
    widget(at.selectbox, "Start from").select("English letters").run()
    letters = prefix_codes.huffman_code(information_demo.preset("English letters")[1])
    assert prefix_codes.tree_direction(letters) == "LR" and "rankdir=LR" in at.get("graphviz_chart")[0].proto.spec


def test_information_page_has_guided_steps_and_no_truncated_legend():
    at = open_page("pages/information_theory.py")
    assert sum("**Try this**" in m.value for m in at.markdown) == 3
    steps = " ".join(m.value for m in at.markdown if "**Try this**" in m.value)
    assert "4.18 bits, below the 4.70 bits" in steps  # English letters' entropy and log2 26, computed
    assert "2.667 bits, 0.082 above H = 2.585" in steps  # the fair die's Huffman code
    legend = chart(at, "Cross-entropy = entropy + KL").spec["encoding"]["color"]["legend"]
    assert legend.get("labelLimit", 0) >= 300  # "KL: cost of the wrong model" was cut to "KL: cost of the wrong mo…"
    assert [e.label for e in at.expander if e.label.startswith("More:")]  # the side charts are folded away


def test_loss_race_states_its_own_duration_and_leaves_no_stop_button():
    at = open_page("pages/cross_entropy_loss.py")
    assert not any("few seconds" in c.value for c in at.caption)  # no duration promised before the run
    widget(at.slider, "Steps").set_value(20)
    widget(at.button, "Train both").click().run()
    assert_clean(at)
    assert not [b for b in at.button if b.label == "Stop"]
    history = at.session_state["loss_race"].history
    took = history.steps[-1] / history.last("steps_per_s")
    said = next(c.value for c in at.caption if c.value.startswith("This race took"))
    assert said.startswith(f"This race took {took:.1f} s for 20 steps")
    for name in ("cross-entropy", "squared error"):
        median = sorted(history.metrics[f"{name}: ms per step"])
        assert f"{name} {(median[9] + median[10]) / 2:.1f} ms" in said
    claim = next(c.value for c in at.caption if c.value.startswith("The two losses have different units"))
    assert claim.endswith(loss_race.describe(history)) and "crawls" not in claim  # computed from this run, not a fixed story
    race = [c for c in charts(at) if c.title in ("its own training loss", "training accuracy", "gradient norm (log scale)")]
    assert len(race) == 3
    for c in race:
        assert c.spec["height"] == 220 and c.spec["encoding"]["color"]["legend"]["orient"] == "top"
    # one colour per loss on the whole page: the race's three charts and section 3's gradients alike
    saturation = next(c for c in charts(at) if c.title.startswith("∂loss/∂(right-class logit)"))
    for c in [*race, saturation]:
        assert c.spec["encoding"]["color"]["scale"] == {"domain": ["cross-entropy", "squared error"], "range": ["#1f77b4", "#ff7f0e"]}
