"""The decoding and prompting pages with the real offline SmolLM2: sliders at their extremes, the
step-by-step buttons, bad prompts (empty, longer than the context window, emoji), the accuracy run.
Numbers the pages show are checked against the same model run here through core."""

import json
import math
import re

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.infra import data, models
from core.llm import generation, prompting
from tests.app.conftest import assert_clean, open_page, text_tables, widget

pytestmark = pytest.mark.slow  # loads a 135 M model and decodes with it


@pytest.fixture(scope="module")
def smollm2() -> models.LoadedModel:
    return models.load("smollm2")


def survivors(at: AppTest) -> tuple[int, int]:
    caption = next(c.value for c in at.caption if "tokens survive" in c.value)
    kept, vocab = re.search(r"([\d,]+) of ([\d,]+) tokens survive", caption).groups()
    return int(kept.replace(",", "")), int(vocab.replace(",", ""))


def red_edges(at: AppTest) -> int:
    """How many edges of the beam-search tree the page draws in red (the winning path)."""
    (chart,) = at.get("graphviz_chart")
    assert chart.proto.spec.startswith("digraph beams")
    return len(re.findall(r'-> n\d+ \[color="#d62728"', chart.proto.spec))


def test_decoding_page_controls_and_bad_prompts(smollm2):
    at = open_page("pages/decoding.py", timeout=600)
    assert_clean(at)
    prompt_ids = prompting.prompt_token_ids(smollm2.tokenizer, widget(at.text_area, "Prompt").value)
    kept, vocab = survivors(at)
    assert kept == vocab == 49_152  # no filter on by default: the whole vocabulary survives

    # strategies side by side, made cheap for the rest of the test: 2 tokens, width 2
    widget(at.slider, "New tokens").set_value(2)
    widget(at.slider, "Beam width").set_value(2)
    widget(at.button, "Run the five strategies").click()
    at.run()
    assert_clean(at)
    (table,) = text_tables(at)
    table = table.astype({"tokens": int, "total log-prob": float, "perplexity": float})
    assert len(table) == 5 and (table.tokens <= 2).all()
    assert all(lp < 0 and math.isfinite(lp) for lp in table["total log-prob"]) and (table.perplexity >= 1).all()
    beam, greedy = table.set_index("strategy").loc[["beam search, width 2", "greedy"], "total log-prob"]
    assert beam >= greedy - 1e-4  # beam search never finds a less likely text than greedy (no EOS within 2 tokens)
    assert red_edges(at) == 2  # the tree is drawn, its winning path one red edge per new token

    for label, value in [("Temperature T", 0.0), ("top-p", 0.0), ("min-p", 1.0)]:  # each alone leaves the argmax
        defaults = {"Temperature T": 1.0, "top-p": 1.0, "min-p": 0.0}
        widget(at.slider, label).set_value(value).run()
        assert_clean(at)
        assert survivors(at)[0] == 1, label
        widget(at.slider, label).set_value(defaults[label])
    widget(at.number_input, "top-k (0 = off)").set_value(1_000_000).run()  # more than the vocabulary: no cut
    assert survivors(at)[0] == vocab
    widget(at.number_input, "top-k (0 = off)").set_value(5).run()
    with torch.no_grad():  # the model's own next-token logits after the prompt
        logits = smollm2.model(torch.tensor([prompt_ids])).logits[0, -1]
    fifth = logits.topk(5).values[-1]
    assert survivors(at)[0] == int((logits >= fifth).sum()) < vocab  # the 5 likeliest and any tied with the 5th
    widget(at.slider, "Repetition penalty").set_value(3.0).run()
    assert_clean(at)

    # stepping by hand and by the sampler
    widget(at.button, "Add it").click().run()
    widget(at.button, "🎲 Sample").click().run()
    assert_clean(at)
    assert len(at.session_state["decoding.chosen"]) == 2
    widget(at.button, "Undo").click().run()
    assert len(at.session_state["decoding.chosen"]) == 1

    widget(at.text_area, "Prompt").set_value("").run()
    assert_clean(at)
    assert any("empty" in w.value for w in at.warning)
    widget(at.text_area, "Prompt").set_value("Ça va? 🦜🎉 naïve — 東京 " * 2).run()
    assert_clean(at)
    assert at.session_state["decoding.chosen"] == []  # a new prompt starts a new text
    assert any("&lt;0xF0&gt;" in m.value for m in at.markdown)  # an emoji split across tokens shows its bytes

    window = generation.context_window(smollm2.model)
    for text in ["word " * 3000, "🦜" * 3000]:  # 3,000 tokens (under the window), then 9,000 (over it)
        n_tokens = len(prompting.prompt_token_ids(smollm2.tokenizer, text))
        widget(at.text_area, "Prompt").set_value(text).run()
        assert_clean(at)
        (note,) = [i.value for i in at.info if "keeps the last 512" in i.value]
        assert f"has {n_tokens:,} tokens" in note and (f"more than the {window:,}" in note) == (n_tokens > window)
        assert any(c.value.startswith("512 tokens (ids underneath") for c in at.caption)
    assert n_tokens > window == 8192


def test_prompting_page_few_shot_lens_perplexity(smollm2):
    at = open_page("pages/prompting.py", timeout=600)
    assert_clean(at)
    perplexity = float(widget(at.metric, "Perplexity").value.replace(",", ""))
    assert 1 < perplexity < 1000
    assert any("zero-shot" in c.value and "chat template" in c.value for c in at.caption)
    # zero-shot: the raw probability of each answer beside its renormalised share, the rest of the mass in grey
    charts = {s.get("title", ""): s for s in (json.loads(c.proto.spec) for c in at.get("vega_lite_chart"))}
    raw = charts["What the model says next: the answers, and everything else"]
    assert raw["encoding"]["color"]["scale"]["domain"] == ["positive", "negative", prompting.OTHER]
    assert "Renormalised over the two answers" in charts
    templates, probs = prompting.compare_prompts(smollm2.model, smollm2.tokenizer, prompting.FewShotTask(examples=tuple(
        zip(data.sentiment("train").text[:4], data.sentiment("train").label[:4]))), widget(at.text_input, "A review to classify").value)
    zero = probs[probs.prompt == "zero-shot"].set_index("label")
    assert any(f"zero-shot: positive {zero.probability['positive']:.1%}, negative {zero.probability['negative']:.1%} raw → "
               f"{zero.share['positive']:.0%} positive" in c.value for c in at.caption)

    widget(at.slider, "Reviews from the lab's held-out sentiment set").set_value(10)
    widget(at.button, "Measure the accuracy of each prompt").click().run()
    assert_clean(at)
    key, n, scores = at.session_state["prompting.accuracy"]
    assert n == 10 and set(scores) == {"zero-shot", "one-shot", "few-shot (4)", "chat template"}
    # the same reviews scored here: each prompt's label is the likelier answer, counted by hand (the two short
    # prompts only, to keep this test quick; tests/core/test_prompting.py counts the few-shot ones too)
    train, test = data.sentiment("train"), data.sentiment("test").sample(10, random_state=0)
    task = prompting.FewShotTask(examples=tuple(zip(train.text[:4], train.label[:4])))
    prompts = {"zero-shot": lambda t: prompting.few_shot_prompt(task, t, 0),
               "chat template": lambda t: prompting.chat_prompt(smollm2.tokenizer, task, t)}
    for name, make in prompts.items():
        answers = prompting.label_answers(task, chat=name == "chat template")
        hits = 0
        for text, label in zip(test.text, test.label):
            logps = prompting.answer_logprobs(smollm2.model, smollm2.tokenizer, make(text), answers)
            hits += task.labels[logps.index(max(logps))] == label
        assert scores[name] == hits / 10, name
    accuracy = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                    if json.loads(c.proto.spec).get("title", "").startswith("Accuracy on 10"))
    assert accuracy["height"] == {"step": 40}  # a row per prompt: all four labelled, each bar with its number written
    assert accuracy["layer"][0]["encoding"]["y"]["axis"]["labelOverlap"] is False
    assert accuracy["layer"][1]["mark"]["type"] == "text"

    widget(at.text_input, "A review to classify").set_value("").run()
    assert any("Type a review" in i.value for i in at.info)
    widget(at.text_input, "Prompt for the lens").set_value("").run()
    assert any("look inside" in i.value for i in at.info)
    widget(at.text_area, "Text to score").set_value("").run()
    assert any("empty" in w.value for w in at.warning)
    widget(at.text_area, "Text to score").set_value("🦜").run()
    assert_clean(at)
    widget(at.text_area, "Text to score").set_value("Les élèves ont mangé des crêpes 🥞 à Paris.").run()
    assert_clean(at)
    assert float(widget(at.metric, "Perplexity").value.replace(",", "")) > 1


def step_chart(at: AppTest) -> dict:
    return next(s for s in (json.loads(c.proto.spec) for c in at.get("vega_lite_chart")) if s.get("title", "").startswith("Next token"))


def test_decoding_race_runs_on_its_button_and_shows_whole_continuations(smollm2):
    at = open_page("pages/decoding.py", timeout=600)
    assert_clean(at)
    assert not text_tables(at) and any("Run the five strategies" in i.value for i in at.info)  # no race on a page load
    widget(at.slider, "New tokens").set_value(12)
    widget(at.slider, "Beam width").set_value(2)
    widget(at.button, "Run the five strategies").click().run()
    (table,) = text_tables(at)
    prompt_ids = prompting.prompt_token_ids(smollm2.tokenizer, widget(at.text_area, "Prompt").value)
    greedy = generation.greedy(smollm2.model, prompt_ids, 12, smollm2.tokenizer.eos_token_id)
    # the whole continuation, as decoded, not cut to a column's width
    assert table.set_index("strategy").loc["greedy", "continuation"] == smollm2.tokenizer.decode(greedy.new_ids)
    widget(at.text_area, "Prompt").set_value("Once upon a time").run()
    assert not text_tables(at), "a new prompt does not start the race by itself"
    assert any("Run the five strategies" in i.value for i in at.info)


def test_decoding_step_view_keeps_the_model_at_temperature_zero_and_generates(smollm2):
    at = open_page("pages/decoding.py", timeout=600)
    widget(at.slider, "Temperature T").set_value(0.0).run()
    assert_clean(at)
    spec = step_chart(at)
    prompt_ids = prompting.prompt_token_ids(smollm2.tokenizer, widget(at.text_area, "Prompt").value)
    with torch.no_grad():
        p = smollm2.model(torch.tensor([prompt_ids])).logits[0, -1].softmax(-1).double()
    entropy = float(-(p[p > 0] * p[p > 0].log2()).sum())
    assert widget(at.metric, "Model's uncertainty").value == f"{entropy:.2f} bits"  # the model's own spread, at T = 0 too
    assert widget(at.metric, "Left to the sampler").value == "0.00 bits"  # greedy: no choice left
    ghost, bars, _, running = spec["layer"]  # the model's own p behind the sampler's, and its running total
    assert ghost["encoding"]["x"]["field"] == "p_model" and bars["encoding"]["x"]["field"] == "p_shaped"
    assert running["mark"]["type"] == "line" and running["encoding"]["x"]["field"] == "cum_model"

    widget(at.slider, "Temperature T").set_value(1.0)
    widget(at.number_input, "N").set_value(4).run()
    widget(at.button, "Generate 4 tokens").click().run()
    assert_clean(at)
    chosen = at.session_state["decoding.chosen"]
    stepper, by_hand = generation.Stepper(smollm2.model), []
    for i in range(4):  # what four 🎲 clicks with seed 0 would draw
        by_hand.append(generation.sampled_token(stepper(prompt_ids + by_hand), prompt_ids + by_hand, generation.Sampling(), 0, i))
    assert chosen == by_hand
    at.toggle[0].set_value(True).run()  # autoplay: each tick (here, each run) writes one more token
    at.run()
    assert len(at.session_state["decoding.chosen"]) == 6
    assert_clean(at)
