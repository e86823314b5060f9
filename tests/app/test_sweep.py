"""Push every control of every page to both ends, and type odd text into every box: no exception allowed.

The pages come from ui.curriculum (a page another branch registers is swept with no change here). For each
page, opened at its defaults, one control at a time (the others at their defaults):

- every slider and select_slider to its first and its last value, every number_input to its min and max
  (a box with no bound: ±1e9);
- every text_input and text_area gets each of ODD_TEXTS, cut to the box's max_chars as a browser would;
- after each run: `at.exception` must be empty (a LabError shown as a warning is fine).

The rule for forms. A control inside an st.form only counts once its form is submitted, so the sweep
presses the form's first submit button with each value. Submitting starts training on some pages: FORMS
below gives, per page and form, the TINY settings submitted along with every value (few rows, one epoch)
so each run takes seconds, and the ends to leave out because they are long by design (the most steps or
seconds a learner may ask for). A form not listed is submitted as it is: fine for a cheap form; a page
whose form trains for long then hits the run timeout and fails here, which says to add its tiny settings.

What is not swept: controls that appear only after another control moved or a button was pressed (the
targeted tests of each page do those), selectboxes, radios, buttons and uploads.

Pages in SLOW_PAGES (pretrained models, real training) are marked slow; the rest run in the fast suite.
"""

import math
import time
from dataclasses import dataclass

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import SelectSlider

from tests.app.conftest import open_page
from tests.app.test_pages import SLOW_PAGES
from ui.curriculum import all_pages

ODD_TEXTS = {
    "empty": "",
    "20,000 characters": ("The quick brown fox jumps over the lazy dog. " * 445)[:20_000],
    "emoji": "🙂🚀 naïve 👩‍👩‍👧 café 🇫🇷 ✨" * 3,
    "right-to-left": "مرحبا بالعالم، هذا نص تجريبي. שלום עולם",
    "NUL and controls": "a\x00b\x01c\td\r\ne\x7f",
    "HTML": "<script>alert('x')</script><b>bold</b> & <i>it</i> [link](javascript:alert(1)) $x^2$",
}
UNBOUNDED = 1e9
RUN_TIMEOUT_S = 120  # one rerun; a form without tiny settings that trains longer fails here


@dataclass(frozen=True)
class Form:
    tiny: dict  # label → value submitted with every value swept in this form (select_sliders: the label shown)
    skip: frozenset = frozenset()  # (label, "min" | "max") ends left out: long runs by design


FORMS: dict[str, dict[str, Form]] = {
    "pages/cross_entropy_loss.py": {"race": Form({"Steps": 20})},
    "pages/mlp_digits.py": {"dg.form": Form({"Training digits": 20, "Epochs": 2})},
    "pages/seq2seq.py": {"s2s.form": Form({"Steps": 10, "Warmup steps": 1}, frozenset({("Seconds per model", "max")}))},
    "pages/lora_finetune.py": {"lora.form": Form({"Training rows (at most)": 8, "Epochs": 1, "Max length (tokens)": "16",
                                                  "Batch size": "8"})},
    "pages/decoding.py": {"compare": Form({"New tokens": 2, "Beam width": 2})},
    "pages/prompting.py": {"accuracy": Form({}, frozenset({("Reviews from the lab's held-out sentiment set", "max")}))},
    "pages/gpt.py": {"gpt.form": Form({"Steps": 2, "Batch (windows)": "4"}, frozenset({("Steps", "max")})),
                     "gpt.generate": Form({"New tokens": 2, "Beam width": 2}),
                     # each trains several GPTs: even 20 steps each runs past a minute on 2 busy cores (the GPT page's own tests press them)
                     "gpt.ablations_form": Form({}, frozenset({("Steps each", "min"), ("Steps each", "max")})),
                     "gpt.sweep_form": Form({}, frozenset({("Steps each", "min"), ("Steps each", "max")}))},
    "pages/neural_lm_ladder.py": {"lad.form": Form({"Training steps (each network)": "1"},
                                                   frozenset({("Training steps (each network)", "max")}))},
    "pages/rnn_memory.py": {"mem.form": Form({"Training steps per run": "1"}, frozenset({("Training steps per run", "max")}))},
}
SLOW_SWEEPS = {"pages/gpt.py", "pages/neural_lm_ladder.py", "pages/rnn_memory.py"}  # pages that train on submit: many runs each

KINDS = ("slider", "select_slider", "number_input", "text_input", "text_area")


@dataclass(frozen=True)
class Control:
    kind: str
    label: str
    nth: int  # among controls of this kind with this label
    form: str
    default: object  # value (select_slider: the option as shown)

    def __str__(self):
        return f"{self.kind} {self.label!r}" + (f" #{self.nth}" if self.nth else "")


def _shown(w) -> object:
    """A control's value, a select_slider's as the label shown (its options are those labels)."""
    return w.format_func(w.value) if isinstance(w, SelectSlider) else w.value


def controls(at: AppTest) -> list[Control]:
    found = []
    for kind in KINDS:
        seen: dict[str, int] = {}
        for w in getattr(at, kind):
            if w.disabled:  # a browser user can't move it either
                continue
            nth = seen.get(w.label, 0)
            seen[w.label] = nth + 1
            found.append(Control(kind, w.label, nth, w.form_id, _shown(w)))
    return found


def find(at: AppTest, c: Control):
    same = [w for w in getattr(at, c.kind) if w.label == c.label and not w.disabled]
    return same[c.nth] if len(same) > c.nth else None


class _ShownOption(SelectSlider):
    """A select_slider set by the label of an option (AppTest's own set_value needs the option's value)."""

    @property
    def _widget_state(self) -> WidgetState:
        ws = WidgetState()
        ws.id = self.id
        ws.string_array_value.data[:] = [str(self._value)]
        return ws


def put(w, value) -> None:
    if isinstance(w, SelectSlider):
        w.__class__ = _ShownOption
        w._value = value
    else:
        w.set_value(value)


def ends(w) -> dict[str, object]:
    """The values a control is pushed to: its two ends, or the odd texts."""
    if w.type in ("text_input", "text_area"):
        return {name: text[: w.max_chars or None] for name, text in ODD_TEXTS.items()}
    if w.type == "select_slider":
        return {"min": w.options[0], "max": w.options[-1]}
    low = w.min if w.min is not None else -UNBOUNDED
    high = w.max if w.max is not None else UNBOUNDED
    if isinstance(w.value, (tuple, list)):  # a range slider: both handles at one end
        return {"min": (low, low), "max": (high, high)}
    if w.type == "number_input" and isinstance(w.value, int) and not isinstance(low, int):
        low, high = int(low), int(high)
    return {"min": low, "max": high}


def submit(at: AppTest, form_id: str, form: Form | None) -> None:
    """Set the tiny settings of `form` and press its first submit button."""
    for label, value in (form.tiny if form else {}).items():
        w = next((w for kind in KINDS for w in getattr(at, kind) if w.label == label and w.form_id == form_id), None)
        if w is not None:
            put(w, value)
    next(b for b in at.button if b.form_id == form_id).click()


def sweep(path: str) -> tuple[list[str], int]:
    """(what raised, how many runs) for one page."""
    forms = FORMS.get(path, {})
    at = open_page(path, RUN_TIMEOUT_S)
    assert not at.exception, [e.value for e in at.exception]
    failures, runs = [], 0
    for c in controls(at):
        form = forms.get(c.form)
        w = find(at, c)
        if w is None:  # gone after an earlier control changed the page: start again from the defaults
            at = open_page(path, RUN_TIMEOUT_S)
            w = find(at, c)
        for end, value in ends(w).items():
            if form and (c.label, end) in form.skip:
                continue
            w = find(at, c)
            if w is None:
                at = open_page(path, RUN_TIMEOUT_S)
                w = find(at, c)
            put(w, value)
            if c.form:
                submit(at, c.form, form)
            try:
                at.run()
            except RuntimeError as e:  # AppTest's timeout
                failures.append(f"{c} at {end}: {e} (a form that trains for long needs tiny settings in FORMS)")
                at = open_page(path, RUN_TIMEOUT_S)
                continue
            runs += 1
            if at.exception:
                failures.append(f"{c} at {end} ({value!r:.60}): {at.exception[0].value[:300]}")
                at = open_page(path, RUN_TIMEOUT_S)
        w = find(at, c)
        if w is not None:
            put(w, c.default)  # back to the default; the next control's run sends it
    return failures, runs


def params():
    for p in all_pages():
        marks = [pytest.mark.slow] if p.path in SLOW_PAGES | SLOW_SWEEPS else []
        yield pytest.param(p.path, marks=marks, id=p.path.removeprefix("pages/").removesuffix(".py"))


@pytest.mark.parametrize("path", params())
def test_every_control_at_both_ends_and_odd_text(path):
    started = time.perf_counter()
    failures, runs = sweep(path)
    print(f"{path}: {runs} runs in {time.perf_counter() - started:.1f} s")
    assert not failures, "\n".join(failures)


def test_the_sweep_reaches_both_ends_of_each_kind():
    """The sweep's own helpers, on a page of one control of each kind (a test that can fail)."""
    at = AppTest.from_function(_one_of_each).run()
    found = {c.kind: c for c in controls(at)}
    assert set(found) == set(KINDS)
    assert ends(find(at, found["slider"])) == {"min": 1, "max": 16}
    assert ends(find(at, found["select_slider"])) == {"min": "0.001", "max": "1"}
    assert ends(find(at, found["number_input"])) == {"min": -UNBOUNDED, "max": UNBOUNDED}
    assert ends(find(at, found["text_input"]))["20,000 characters"] == ODD_TEXTS["20,000 characters"][:50]
    put(find(at, found["select_slider"]), "1")
    put(find(at, found["slider"]), 16)
    at.run()
    assert at.markdown[0].value == "16 1.0"
    assert not math.isnan(find(at, found["number_input"]).value)


def _one_of_each():
    import streamlit as st

    n = st.slider("n", 1, 16, 8)
    lr = st.select_slider("lr", [0.001, 0.01, 1.0], 0.01, format_func=lambda v: f"{v:g}")
    st.number_input("x", value=0.0)
    st.text_input("t", max_chars=50)
    st.text_area("a")
    st.markdown(f"{n} {lr}")
