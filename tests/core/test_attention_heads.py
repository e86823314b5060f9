"""Pretrained heads: our recomputed weights equal transformers' (eager), head stats, ablation, BertViz offline."""

import threading

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

from core.errors import LabError
from core.infra import bertviz_offline, models
from core.infra.models import LoadedModel
from core.transformers import attention_heads as ah
from core.transformers.attention_demo import StepConfig, equivariance, multi_head, step_by_step
from tests.stand_ins import save, tiny_encoder


@pytest.fixture(scope="module")
def minilm():
    return models.load("minilm")


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(models.minilm_path())  # a real tokenizer, on disk


def gpt2(tokenizer, **extra) -> LoadedModel:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=tokenizer.vocab_size, n_positions=16, n_embd=32, n_layer=3, n_head=4,
                        attn_implementation="eager", **extra)
    return LoadedModel(tokenizer, GPT2LMHeadModel(config).eval(), "tiny-gpt2")


@pytest.fixture(scope="module")
def tiny_gpt2(tokenizer):
    return gpt2(tokenizer)


@pytest.fixture(scope="module")
def tiny_gpt2_layer_scaled(tokenizer):
    """GPT-2 with scores also divided by layer + 1; weights large enough that a wrong scale shows."""
    return gpt2(tokenizer, scale_attn_by_inverse_layer_idx=True, initializer_range=0.5)


@pytest.fixture(scope="module")
def tiny_distilbert(tokenizer):
    model = tiny_encoder("distilbert", tokenizer.vocab_size, attn_implementation="eager")
    return LoadedModel(tokenizer, model.eval(), "tiny-distilbert")


@pytest.fixture(scope="module")
def tiny_bert(tokenizer):
    return LoadedModel(tokenizer, tiny_encoder("bert", tokenizer.vocab_size, attn_implementation="eager").eval(), "tiny-bert")


def reference_attentions(lm, text):
    batch = lm.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        return torch.cat(lm.model(**batch, output_attentions=True).attentions).numpy()


@pytest.mark.parametrize("which", ["tiny_gpt2", "tiny_gpt2_layer_scaled", "tiny_bert", "tiny_distilbert"])
def test_recomputed_weights_equal_transformers(which, request):
    lm = request.getfixturevalue(which)
    att = ah.attentions(lm, "The cat sat on the mat, then slept.")
    np.testing.assert_allclose(att.weights, reference_attentions(lm, "The cat sat on the mat, then slept."), atol=1e-6, rtol=0)
    assert att.causal == which.startswith("tiny_gpt2")


@pytest.mark.parametrize("family", ["bert", "distilbert"])
def test_hub_loader_encoders_recomputed_weights_equal_eager(family, tokenizer, lab_folder):
    """The online path (models.load_hub) on a saved folder, as the page uses it for a Hub id."""
    layers, heads = (2, 4) if family == "bert" else (3, 2)
    save(tiny_encoder(family, tokenizer.vocab_size, layers, heads), tokenizer, lab_folder)
    lm = models.load_hub(str(lab_folder), "encoder")
    text = "Heads of a model loaded from a folder."
    att = ah.attentions(lm, text)
    assert att.weights.shape[:2] == ah.shape(lm.model) == ((2, 4) if family == "bert" else (3, 2))
    np.testing.assert_allclose(att.weights, reference_attentions(lm, text), atol=1e-6, rtol=0)
    assert not att.causal and att.tokens[0] == "[CLS]"


@pytest.mark.slow
def test_minilm_heads_equal_transformers_and_stats_label_them(minilm):
    text = "The quick brown fox jumps over the lazy dog. It barks, loudly!"
    att = ah.attentions(minilm, text)
    assert att.weights.shape[:2] == (6, 12) and att.tokens[0] == "[CLS]" and att.special[-1]
    np.testing.assert_allclose(att.weights, reference_attentions(minilm, text), atol=1e-6, rtol=0)
    stats = ah.head_stats(att)
    assert len(stats) == 72 and set(stats["label"]) <= set(ah.STAT_LABELS.values()) | {"broad", "mixed"}
    assert len(set(stats["label"])) >= 3  # a trained model has heads of several kinds
    shares = stats[list(ah.STAT_LABELS.values())].to_numpy()
    assert (shares >= 0).all() and (shares <= 1 + 1e-6).all()


def test_head_stats_on_hand_made_patterns():
    n = 5
    tokens = ["[CLS]", "a", ",", "b", "[SEP]"]
    special = [True, False, False, False, True]
    prev = np.eye(n, k=-1)
    prev[0, 0] = 1
    sep = np.zeros((n, n))
    sep[:, 4] = 1
    uniform = np.full((n, n), 1 / n)
    w = np.stack([prev, sep, uniform, np.eye(n)])[None]
    att = ah.Attentions(tokens, w, n, False, False, special)
    stats = ah.head_stats(att)
    assert stats["label"].tolist() == ["previous token", "[SEP]", "broad", "same token"]
    assert stats["entropy (bits)"][2] == pytest.approx(np.log2(n))
    assert stats["punctuation"][2] == pytest.approx(1 / n)
    one = ah.head_stats(ah.Attentions(["x"], np.ones((2, 3, 1, 1)), 1, False, True, [False]))  # a single token
    assert len(one) == 6 and (one["previous token"] == 0).all() and (one["entropy (bits)"] == 0).all()


def test_head_mask_equals_zeroing_the_head_by_hand(tiny_bert):
    """Switching head 2 of layer 1 off = its slice of the concatenated heads is zero before W_o."""
    from core.transformers.attention import MultiHeadAttention

    lm = tiny_bert
    batch = lm.tokenizer("heads can be switched off", return_tensors="pt")
    mask = torch.ones(2, 4)
    mask[1, 2] = 0
    with torch.no_grad():
        hidden = lm.model(**batch, output_hidden_states=True).hidden_states
        layer = lm.model.encoder.layer[1]
        parts = MultiHeadAttention.from_bert_layer(layer).steps(hidden[1])
        concat = parts.concat.clone()
        concat[..., 16:24] = 0
        expected = layer.attention.output.LayerNorm(layer.attention.output.dense(concat) + hidden[1])
        seen = {}
        def keep(module, args, out):
            seen["out"] = out[0] if isinstance(out, tuple) else out

        handle = layer.attention.register_forward_hook(keep)
        try:
            with ah.head_mask(lm.model, mask):
                ablated = lm.model(**batch).last_hidden_state
        finally:
            handle.remove()
        torch.testing.assert_close(seen["out"], expected, atol=1e-5, rtol=0)
        # hooks are gone afterwards, and never act in another thread
        torch.testing.assert_close(lm.model(**batch).last_hidden_state, hidden[-1])
        assert not torch.allclose(ablated, hidden[-1])
        other = {}
        with ah.head_mask(lm.model, torch.zeros(2, 4)):
            t = threading.Thread(target=lambda: other.setdefault("h", lm.model(**batch).last_hidden_state))
            t.start()
            t.join()
        torch.testing.assert_close(other["h"], hidden[-1])


@pytest.mark.parametrize("which", ["tiny_gpt2", "tiny_bert", "tiny_distilbert"])
def test_batched_ablation_equals_one_head_at_a_time(which, request):
    lm = request.getfixturevalue(which)
    text = "one batch switches every head off"
    scan = ah.ablate_each_head(lm, text)
    layers, heads = ah.shape(lm.model)
    assert scan.effect.shape == (layers, heads) and (scan.effect > -1e-6).all()
    batch, _ = ah.model_inputs(lm, text)
    kind = "gpt2" if which == "tiny_gpt2" else "bert"
    with torch.no_grad():
        base = ah._summary(lm, batch, kind)
        for layer, head in [(0, 1), (layers - 1, heads - 1)]:
            mask = torch.ones(layers, heads)
            mask[layer, head] = 0
            with ah.head_mask(lm.model, mask):
                one = ah._summary(lm, batch, kind)
            assert ah._effect(kind, base, one).item() == pytest.approx(scan.effect[layer, head], abs=1e-5)


def test_heads_off_agrees_with_the_scan(tiny_gpt2, tiny_bert):
    for lm in (tiny_bert, tiny_gpt2):
        text = "switch two heads off"
        scan = ah.ablate_each_head(lm, text)
        one = ah.heads_off(lm, text, [(1, 2)], other="another sentence")
        assert one.effect == pytest.approx(scan.effect[1, 2], abs=1e-5)
        two = ah.heads_off(lm, text, [(1, 2), (0, 0)], other="another sentence")
        assert two.effect != pytest.approx(one.effect, abs=1e-7)
    assert one.top is not None and len(one.top) == 5 and one.similarity is None  # GPT-2: next-token table
    bert = ah.heads_off(tiny_bert, "a sentence", [(0, 1)], other="another one")
    assert bert.top is None and -1 <= bert.similarity[1] <= 1
    with pytest.raises(LabError):
        ah.heads_off(tiny_bert, "a sentence", [(9, 0)])


def test_bad_input_and_truncation(tiny_gpt2, tiny_bert):
    for text in ["", "   "]:
        with pytest.raises(LabError):
            ah.attentions(tiny_bert, text)
    long = "word " * 40  # the tiny GPT-2 has 16 positions (its tokenizer adds [CLS] and [SEP])
    att = ah.attentions(tiny_gpt2, long)
    assert att.truncated and len(att.tokens) == 16 and att.n_tokens == 42
    for text in ["🙂🚀 émoji", "注意力机制", "שלום עולם", "x"]:
        att = ah.attentions(tiny_bert, text)
        assert np.allclose(att.weights.sum(-1), 1, atol=1e-5)
        ah.head_stats(att)
    with pytest.raises(LabError):
        ah.shape(torch.nn.Linear(2, 2))


@pytest.mark.slow
def test_sentence_demos_on_minilm(minilm):
    sent, steps = step_by_step(minilm, "the cat sat on the mat", StepConfig(head=2, causal=True))
    assert sent.tokens == ["the", "cat", "sat", "on", "the", "mat"] and steps.q.shape == (6, 32)
    assert (steps.weights.triu(1) == 0).all()
    _, raw = step_by_step(minilm, "the cat sat on the mat", StepConfig(head=2, scaled=False))
    _, scaled = step_by_step(minilm, "the cat sat on the mat", StepConfig(head=2))
    assert raw.weights.amax(-1).mean() > scaled.weights.amax(-1).mean()  # softmax saturates without 1/√d
    sent, parts = multi_head(minilm, "the cat sat", StepConfig())
    assert parts.weights.shape == (1, 12, 3, 3) and parts.concat.shape == (1, 3, 384)
    eq = equivariance(minilm, "the quick brown fox jumps over the lazy dog")
    assert eq.gap_without < 1e-5 < 1e-2 < eq.gap_with
    assert sorted(eq.perm) == list(range(9)) and eq.perm != list(range(9))
    long = step_by_step(minilm, "word " * 100, StepConfig())[0]
    assert long.truncated and len(long.tokens) == StepConfig().max_tokens and long.n_tokens == 100
    with pytest.raises(LabError):
        step_by_step(minilm, " ", StepConfig())


def test_bertviz_html_is_self_contained():
    weights = [np.random.default_rng(0).dirichlet(np.ones(3), size=(1, 2, 3)) for _ in range(2)]
    for html in (bertviz_offline.head_view_html(weights, ["a", "b", "c"]),
                 bertviz_offline.model_view_html(weights, ["a", "b", "c"])):
        assert "cdnjs" not in html and '<script src="http' not in html
        assert "require.config({" not in html and bertviz_offline.REQUIRE_STANDIN in html
        assert bertviz_offline.libraries()["d3"][:200] in html and "jQuery" in html
        assert "requirejs(['jquery', 'd3']" in html  # BertViz's own drawing code is there, untouched
    assert bertviz_offline.FIT_WIDTH in html  # the model view (last one) scales its fixed 970 px SVG to the frame
    long = [np.full((1, 2, 100, 100), 0.01)]
    html = bertviz_offline.head_view_html(long, [f"t{i}" for i in range(100)], max_tokens=10)
    assert '"t9"' in html and '"t10"' not in html  # cut to the first 10 tokens
