"""core.llm.generation against transformers: the logits processors, and generate() itself.

The filters are compared with transformers' LogitsProcessors on random logits, including logits
full of ties; the decoding loops with `model.generate` on a tiny random GPT-2 (no download).
"""

import itertools

import pytest
import torch
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LogitsProcessorList,
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from core.errors import LabError
from core.llm import generation as g

VOCAB = 61


def random_logits(kind: str, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    if kind == "ties":  # few distinct values: many tokens share a logit, and the cut-offs fall on ties
        return torch.randint(-3, 3, (6, VOCAB), generator=gen).float()
    return torch.randn(6, VOCAB, generator=gen) * 3


def reference(logits, temperature, top_k, top_p, min_p):
    """The warpers in the order GenerationMixin._get_logits_processor appends them (do_sample=True)."""
    procs = LogitsProcessorList()
    if temperature != 1.0:
        procs.append(TemperatureLogitsWarper(temperature))
    if top_k != 0:
        procs.append(TopKLogitsWarper(top_k))
    if top_p < 1.0:
        procs.append(TopPLogitsWarper(top_p))
    procs.append(MinPLogitsWarper(min_p))  # generate adds it whenever min_p is set, 0 included
    return procs(torch.zeros(logits.shape[0], 1, dtype=torch.long), logits.clone())


# each case checks 48 filter settings through transformers' warpers (~1.5 s): one stays in the fast suite
SLOWER_FILTER_CASES = [("normal", 0.4), ("normal", 1.0), ("ties", 1.0), ("normal", 2.5), ("ties", 2.5)]


@pytest.mark.parametrize("kind, temperature", [("ties", 0.4)] + [pytest.param(*c, marks=pytest.mark.slow) for c in SLOWER_FILTER_CASES])
def test_filter_logits_equals_the_transformers_warpers(kind, temperature):
    for top_k, top_p, min_p in itertools.product([0, 1, 7, VOCAB + 40], [0.0, 0.35, 0.9, 1.0], [0.0, 0.1, 0.5]):
        case = f"top_k={top_k} top_p={top_p} min_p={min_p}"
        logits = random_logits(kind, seed=top_k + int(100 * top_p))
        ours = g.filter_logits(logits, temperature, top_k, top_p, min_p)
        theirs = reference(logits, temperature, top_k, top_p, min_p)
        assert torch.equal(torch.isinf(ours), torch.isinf(theirs)), f"different tokens survive, {case}"
        torch.testing.assert_close(ours.softmax(-1), theirs.softmax(-1), rtol=0, atol=1e-6, msg=case)
        if top_k == 1 or top_p == 0.0:  # degenerate settings keep a most likely token (one of the tied ones)
            assert torch.equal(logits.gather(-1, ours.argmax(-1, keepdim=True)), logits.amax(-1, keepdim=True)), case


def test_the_filters_really_filter():
    """Guards the parity test above against passing with filters that do nothing."""
    logits = random_logits("normal", 0)
    assert torch.isinf(g.filter_logits(logits, top_k=5)).sum(-1).eq(VOCAB - 5).all()
    assert torch.isinf(g.filter_logits(logits, top_p=0.5)).any()
    assert torch.isinf(g.filter_logits(logits, min_p=0.2)).any()
    assert not torch.isinf(g.filter_logits(logits, top_k=VOCAB + 40)).any()  # k beyond the vocabulary: no-op


def test_temperature_zero_is_greedy_and_top_k_ties_are_kept():
    logits = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
    assert torch.isfinite(g.filter_logits(logits, temperature=0.0)).sum() == 1
    assert torch.isfinite(g.filter_logits(logits, top_k=1)).tolist() == [[False, True, True, False]]


@pytest.mark.parametrize("penalty", [0.5, 1.0, 1.3, 3.0])
def test_repetition_penalty_equals_transformers(penalty):
    logits = random_logits("normal", 3)
    ids = torch.randint(0, VOCAB, (6, 25), generator=torch.Generator().manual_seed(1))  # with repeats
    theirs = RepetitionPenaltyLogitsProcessor(penalty)(ids, logits.clone())
    torch.testing.assert_close(g.penalise_repetition(logits, ids, penalty), theirs, rtol=0, atol=1e-6)
    if penalty != 1.0:
        assert not torch.equal(g.penalise_repetition(logits, ids, penalty), logits)


@pytest.mark.parametrize("bad", [dict(temperature=-1.0), dict(top_p=1.5), dict(top_k=-2), dict(min_p=-0.1)])
def test_meaningless_settings_are_refused_with_a_message(bad):
    with pytest.raises(LabError):
        g.filter_logits(random_logits("normal", 0), **bad)


# ----------------------------------------------------------------------------- decoding vs generate


@pytest.fixture(scope="module")
def tiny_gpt2():
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=VOCAB, n_positions=48, n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(config).eval()


def hf_generate(model, prompt, eos, **kwargs):
    out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                         eos_token_id=eos, pad_token_id=eos if eos is not None else 0, **kwargs)
    return out[0, len(prompt):].tolist()


def a_likely_eos(model, prompt, n, penalty=1.0):
    """A token greedy decoding emits mid-way: as EOS it makes texts end early."""
    return g.greedy(model, prompt, n, repetition_penalty=penalty).new_ids[n // 2]


PROMPTS = [[5, 9, 13, 2], [40, 3], [7, 7, 7, 7, 7, 1, 22, 30]]


@pytest.mark.parametrize("prompt,use_eos,penalty", [(PROMPTS[0], False, 1.0), (PROMPTS[1], True, 1.0), (PROMPTS[2], False, 1.4),
                                                    (PROMPTS[0], True, 1.4)])
def test_greedy_equals_generate(tiny_gpt2, prompt, use_eos, penalty):
    eos = a_likely_eos(tiny_gpt2, prompt, 12, penalty) if use_eos else None
    ours = g.greedy(tiny_gpt2, prompt, 12, eos_token_id=eos, repetition_penalty=penalty)
    assert ours.new_ids == hf_generate(tiny_gpt2, prompt, eos, do_sample=False, max_new_tokens=12, repetition_penalty=penalty)
    if use_eos:
        assert ours.new_ids[-1] == eos and len(ours.new_ids) < 12  # stopped at EOS


BEAM_CASES = [  # (prompt, beams, length penalty, repetition penalty, EOS): EOS cases end hypotheses early
    (0, 2, 1.0, 1.0, False), (1, 3, 0.0, 1.0, True), (2, 4, 2.0, 1.0, True), (0, 5, 1.0, 1.3, True),
    (1, 3, -1.0, 1.0, True), (2, 3, 1.0, 1.3, False),
]
# generate() with beams costs over a second a case: the last one (repetition penalty, no EOS) stays fast
BEAM_CASES = [pytest.param(c, marks=pytest.mark.slow) for c in BEAM_CASES[:-1]] + BEAM_CASES[-1:]


@pytest.mark.parametrize("case", BEAM_CASES)
def test_beam_search_equals_generate(tiny_gpt2, case):
    prompt, num_beams, length_penalty, penalty, use_eos = PROMPTS[case[0]], *case[1:]
    eos = a_likely_eos(tiny_gpt2, prompt, 10, penalty) if use_eos else None
    ours = g.beam_search(tiny_gpt2, prompt, 10, num_beams, length_penalty, eos, repetition_penalty=penalty)
    theirs = hf_generate(tiny_gpt2, prompt, eos, do_sample=False, num_beams=num_beams, max_new_tokens=10,
                         length_penalty=length_penalty, repetition_penalty=penalty, early_stopping=False)
    assert ours.new_ids == theirs
    # the tree is consistent: the winning path spells the output, every kept node's parent was kept
    assert [ours.nodes[i].token for i in ours.best_path] == ours.new_ids
    for node in ours.nodes:
        assert node.parent == -1 or ours.nodes[node.parent].status == "kept"


@pytest.mark.slow
def test_beam_search_can_beat_greedy_on_total_logprob(tiny_gpt2):
    """Why beam search exists: some prompt where a wider search finds a more likely text."""
    gains = [g.beam_search(tiny_gpt2, p, 8, 5, length_penalty=0.0).total_logprob - g.greedy(tiny_gpt2, p, 8).total_logprob
             for p in PROMPTS]
    assert min(gains) >= -1e-4 and max(gains) > 0


@pytest.mark.parametrize("s", [g.Sampling(), pytest.param(g.Sampling(temperature=0.7, top_k=10), marks=pytest.mark.slow),
                               pytest.param(g.Sampling(top_p=0.8, min_p=0.05), marks=pytest.mark.slow),
                               g.Sampling(temperature=1.5, top_p=0.9, repetition_penalty=1.2)])
def test_sampling_equals_generate_with_the_same_seed(tiny_gpt2, s):
    prompt = PROMPTS[0]
    ours = g.sample(tiny_gpt2, prompt, 15, s, seed=123)
    torch.manual_seed(123)  # generate draws from the global generator; ours from its own, same seed
    theirs = hf_generate(tiny_gpt2, prompt, None, do_sample=True, max_new_tokens=15, temperature=s.temperature,
                         top_k=s.top_k, top_p=s.top_p, min_p=s.min_p, repetition_penalty=s.repetition_penalty)
    assert ours.new_ids == theirs
    assert g.sample(tiny_gpt2, prompt, 15, s, seed=124).new_ids != ours.new_ids  # the seed matters


def test_logprobs_are_the_models_own(tiny_gpt2):
    out = g.sample(tiny_gpt2, PROMPTS[1], 6, g.Sampling(temperature=2.0), seed=0)
    with torch.no_grad():
        logp = tiny_gpt2(torch.tensor([out.ids])).logits[0, :-1].log_softmax(-1)
    expected = [logp[len(out.prompt_ids) - 1 + i, t].item() for i, t in enumerate(out.new_ids)]
    assert out.logprobs == pytest.approx(expected, abs=1e-5)
    assert out.perplexity == pytest.approx(torch.tensor(expected).mean().neg().exp().item(), rel=1e-6)


def test_temperature_zero_sampling_is_greedy(tiny_gpt2):
    assert g.sample(tiny_gpt2, PROMPTS[2], 10, g.Sampling(temperature=0.0), seed=5).new_ids == g.greedy(tiny_gpt2, PROMPTS[2], 10).new_ids


def test_empty_and_too_long_prompts_are_explained(tiny_gpt2):
    with pytest.raises(LabError, match="empty"):
        g.greedy(tiny_gpt2, [], 5)
    with pytest.raises(LabError, match="context window"):
        g.beam_search(tiny_gpt2, list(range(45)), 5)


def test_step_view_agrees_with_the_sampler():
    logits, ids = random_logits("normal", 7)[0], [3, 3, 9]
    s = g.Sampling(temperature=0.7, top_k=12, top_p=0.8, repetition_penalty=1.5)
    view = g.next_tokens(logits, ids, s, top_n=VOCAB)
    final = g.process(logits[None], torch.tensor([ids]), s)[0]
    assert view.n_kept == int(torch.isfinite(final).sum()) == int(view.table.kept.sum())
    expected = final.softmax(-1)[torch.tensor(view.table.id.values)]
    torch.testing.assert_close(torch.tensor(view.table.p_sample.values, dtype=torch.float32), expected, rtol=0, atol=1e-6)
    assert view.table.p_shaped.is_monotonic_decreasing and 0 < view.kept_mass < 1


@pytest.mark.slow
def test_five_strategies_side_by_side(tiny_gpt2):
    cfg = g.CompareConfig(max_new_tokens=6, num_beams=2, temperature=0.8, top_k=7, top_p=0.6, seed=3)
    results = {name: run(tiny_gpt2, PROMPTS[0], None) for name, run in g.strategies(cfg).items()}
    assert list(results) == ["greedy", "beam search, width 2", "sampling, T = 0.8", "top-k, k = 7", "top-p, p = 0.6"]
    assert all(len(r.new_ids) == 6 and r.total_logprob < 0 and r.perplexity > 1 for r in results.values())
    # each row is the strategy it names, with the config's settings and the shared seed
    alone = [g.greedy(tiny_gpt2, PROMPTS[0], 6), g.beam_search(tiny_gpt2, PROMPTS[0], 6, 2),
             g.sample(tiny_gpt2, PROMPTS[0], 6, g.Sampling(temperature=0.8), seed=3),
             g.sample(tiny_gpt2, PROMPTS[0], 6, g.Sampling(top_k=7), seed=3),
             g.sample(tiny_gpt2, PROMPTS[0], 6, g.Sampling(top_p=0.6), seed=3)]
    assert [r.new_ids for r in results.values()] == [r.new_ids for r in alone]
    assert len({tuple(r.new_ids) for r in results.values()}) > 1  # the strategies do differ on this prompt


def test_a_long_prompt_keeps_its_last_tokens(tiny_gpt2):
    ids = [1 + i % (VOCAB - 1) for i in range(100)]  # more than the tiny model's 48 positions
    assert g.context_window(tiny_gpt2) == 48
    assert g.fit_prompt(tiny_gpt2, ids) == ids[-48:]
    assert g.fit_prompt(tiny_gpt2, ids, max_tokens=10) == ids[-10:]
    assert g.fit_prompt(tiny_gpt2, ids, room=8) == ids[-40:]  # 40 + 8 new tokens fill the window exactly
    assert g.fit_prompt(tiny_gpt2, ids[:5], max_tokens=10) == ids[:5] and g.fit_prompt(tiny_gpt2, []) == []
    assert len(g.greedy(tiny_gpt2, g.fit_prompt(tiny_gpt2, ids, room=8), 8).new_ids) == 8
    with pytest.raises(LabError, match="context window"):
        g.greedy(tiny_gpt2, g.fit_prompt(tiny_gpt2, ids, room=8), 9)
    with pytest.raises(LabError, match="No room"):
        g.fit_prompt(tiny_gpt2, ids, room=48)


def test_stepper_reuses_its_cache_and_matches_a_full_forward_pass(tiny_gpt2):
    stepper = g.Stepper(tiny_gpt2)
    texts = [PROMPTS[2], PROMPTS[2] + [4], PROMPTS[2] + [4, 9], PROMPTS[2] + [4], PROMPTS[2] + [4, 11, 12], [1, 2, 3], [1]]
    for ids in texts:  # prefill, add, add, undo (crop), add two, a new text, a one-token text
        with torch.no_grad():  # transformers' own full forward pass, no cache
            full = tiny_gpt2(torch.tensor([ids])).logits[0, -1]
        torch.testing.assert_close(stepper(ids), full, rtol=1e-4, atol=1e-4)
        assert stepper.cache.get_seq_length() == len(ids)
    with pytest.raises(LabError):
        stepper([])
