"""core.transformers.gpt against transformers' GPT2LMHeadModel with the same weights (a tiny random
one built here: no download), and the lab's decoding code run on our GPT against `generate` on its twin."""

import pytest
import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

from core.errors import LabError
from core.llm import generation as gen
from core.transformers.gpt import GPT, GPTConfig, KVCache, count_parameters, is_conv1d_weight

VOCAB = 53


def hf_gpt2(dropout: float = 0.0, **config) -> GPT2LMHeadModel:
    """A tiny random GPT-2; a wide initialisation, so logits are far from uniform and argmaxes never tie."""
    torch.manual_seed(0)
    settings = dict(vocab_size=VOCAB, n_positions=32, n_embd=24, n_layer=2, n_head=3, resid_pdrop=dropout, embd_pdrop=dropout,
                    attn_pdrop=dropout, initializer_range=0.2, bos_token_id=None, eos_token_id=None) | config
    return GPT2LMHeadModel(GPT2Config(**settings))


@pytest.fixture(scope="module")
def twins() -> tuple[GPT2LMHeadModel, GPT]:
    hf = hf_gpt2().eval()
    return hf, GPT.from_hf(hf).eval()


def batch(b: int = 3, t: int = 17, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (b, t), generator=torch.Generator().manual_seed(seed))


def test_same_logits_as_gpt2_with_the_same_weights(twins):
    hf, ours = twins
    ids = batch()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, hf(ids).logits, rtol=0, atol=1e-5)
        torch.testing.assert_close(ours(ids[:, :1]).logits, hf(ids[:, :1]).logits, rtol=0, atol=1e-5)  # one token
    assert count_parameters(ours) == sum(p.numel() for p in hf.parameters())


def test_one_training_step_gives_the_same_loss_and_gradients_as_gpt2():
    hf = hf_gpt2().train()
    ours = GPT.from_hf(hf).train()
    ids = batch(4, 20)
    theirs = hf(ids, labels=ids)  # transformers shifts the labels itself
    mine = ours(ids[:, :-1], targets=ids[:, 1:])
    torch.testing.assert_close(mine.loss, theirs.loss, rtol=0, atol=1e-5)
    theirs.loss.backward()
    mine.loss.backward()
    hf_params = dict(hf.named_parameters())
    for name, p in ours.named_parameters():
        expected = hf_params[name].grad
        torch.testing.assert_close(p.grad, expected.t() if is_conv1d_weight(name) else expected, rtol=0, atol=1e-5, msg=name)
    # and the step itself: AdamW from the same state lands on the same weights
    for model in (hf, ours):
        torch.optim.AdamW(model.parameters(), lr=1e-2).step()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, hf.eval()(ids).logits, rtol=0, atol=1e-5)


def test_loss_is_cross_entropy_of_the_logits_and_ignores_minus_one():
    model = GPT(GPTConfig(vocab_size=VOCAB, context=16, n_layer=1, n_head=2, n_embd=8), torch.Generator().manual_seed(3))
    ids, targets = batch(2, 9), batch(2, 9, seed=2)
    targets[0, :4] = -1
    out = model(ids, targets=targets)
    expected = F.cross_entropy(out.logits.reshape(-1, VOCAB), targets.reshape(-1), ignore_index=-1)
    torch.testing.assert_close(out.loss, expected, rtol=0, atol=1e-7)
    kept = targets >= 0  # the same, by hand: mean of -log softmax at the targets that are scored
    manual = -out.logits.log_softmax(-1)[kept].gather(-1, targets[kept][:, None]).mean()
    torch.testing.assert_close(out.loss, manual, rtol=0, atol=1e-6)


def test_to_hf_is_the_same_model_and_from_hf_takes_it_back():
    ours = GPT(GPTConfig(vocab_size=VOCAB, context=32, n_layer=2, n_head=2, n_embd=16), torch.Generator().manual_seed(5)).eval()
    hf = ours.to_hf()
    ids = batch()
    with torch.no_grad():
        torch.testing.assert_close(hf(ids).logits, ours(ids).logits, rtol=0, atol=1e-5)
        back = GPT.from_hf(hf).eval()
        assert torch.equal(back(ids).logits, ours(ids).logits)
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()  # still tied
    no_bias = GPT(GPTConfig(vocab_size=VOCAB, context=32, n_layer=1, n_head=2, n_embd=16, bias=False)).eval()
    with torch.no_grad():  # GPT-2 always has biases: zeros do the same
        torch.testing.assert_close(no_bias.to_hf()(ids).logits, no_bias(ids).logits, rtol=0, atol=1e-5)


def test_init_comes_from_the_generator_and_follows_gpt2():
    config = GPTConfig(vocab_size=VOCAB, context=16, n_layer=8, n_head=4, n_embd=64)
    a, b = GPT(config, torch.Generator().manual_seed(7)), GPT(config, torch.Generator().manual_seed(7))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = GPT(config, torch.Generator().manual_seed(8))
    assert not torch.equal(a.transformer.wte.weight, c.transformer.wte.weight)
    assert a.transformer.h[0].mlp.c_fc.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert a.transformer.h[0].mlp.c_proj.weight.std().item() == pytest.approx(0.02 / 4, rel=0.05)  # 0.02 / √(2 · 8)
    assert torch.equal(a.transformer.h[0].attn.c_attn.bias, torch.zeros(3 * 64))
    assert a.lm_head.weight is a.transformer.wte.weight


def test_kv_cache_gives_the_logits_of_a_full_forward_pass(twins):
    _, ours = twins
    ids = batch(2, 12)
    with torch.no_grad():
        full = ours(ids).logits
        out = ours(ids[:, :5], use_cache=True)
        pieces = [out.logits]
        for t in range(5, 12, 3):  # chunks of several tokens: the causal triangle must align to the end
            out = ours(ids[:, t:t + 3], past_key_values=out.past_key_values, use_cache=True)
            pieces.append(out.logits)
        torch.testing.assert_close(torch.cat(pieces, 1), full, rtol=0, atol=1e-5)
        cache = out.past_key_values
        cache.crop(-4)  # undo four tokens, then read them again
        again = ours(ids[:, 8:], past_key_values=cache).logits
        torch.testing.assert_close(again, full[:, 8:], rtol=0, atol=1e-5)
        cache.reorder_cache(torch.tensor([1, 1]))
        assert torch.equal(cache.keys[0][0], cache.keys[0][1])
        last = ours(ids[:, 2:3], use_cache=True, logits_to_keep=1, past_key_values=KVCache())
        assert last.logits.shape == (2, 1, VOCAB)


def test_attention_weights_are_causal_and_equal_the_fast_path(twins):
    _, ours = twins
    ids = batch(2, 10)
    with torch.no_grad():
        out = ours(ids, output_attentions=True)
        torch.testing.assert_close(out.logits, ours(ids).logits, rtol=0, atol=1e-5)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 3, 10, 10)
    w = out.attentions[1]
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 10))
    assert torch.all(w.triu(1) == 0)  # nobody looks ahead


def test_cross_attention_and_padding_mask_for_an_encoder_decoder():
    torch.manual_seed(0)  # reference modules only
    from core.transformers.gpt import CausalSelfAttention

    g = torch.Generator().manual_seed(0)
    attn = CausalSelfAttention(16, 4, g, causal=False).eval()
    x, source = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    mask = torch.ones(2, 1, 1, 7, dtype=torch.bool)
    mask[1, ..., 5:] = False  # the second source has two padding tokens
    out, w = attn(x, source=source, mask=mask, need_weights=True)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.c_attn.weight)
        mha.in_proj_bias.copy_(attn.c_attn.bias)
        mha.out_proj.weight.copy_(attn.c_proj.weight)
        mha.out_proj.bias.copy_(attn.c_proj.bias)
    ref, ref_w = mha.eval()(x, source, source, key_padding_mask=~mask[:, 0, 0], average_attn_weights=False)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(w, ref_w, rtol=0, atol=1e-6)
    # a decoder's causal self-attention with padding: the triangle and the padding mask together, fast path = weights path
    causal = CausalSelfAttention(16, 4, g).eval()
    pad = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    pad[0, ..., :2] = False  # left padding in the first row
    fast, _ = causal(x, mask=pad)
    slow, weights = causal(x, mask=pad, need_weights=True)
    torch.testing.assert_close(fast[1], slow[1], rtol=0, atol=1e-6)
    torch.testing.assert_close(fast[0, 2:], slow[0, 2:], rtol=0, atol=1e-6)  # rows with something to see
    assert torch.all(weights[0, :, :, :2] == 0) and torch.all(weights.triu(1) == 0)


# ----------------------------------------------------------------------------- the lab's decoding on our GPT


PROMPTS = [[5, 9, 13, 2], [40, 3], [7, 7, 7, 7, 7, 1, 22, 30]]


def hf_generate(model, prompt, eos=None, **kwargs):
    out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                         eos_token_id=eos, pad_token_id=eos if eos is not None else 0, **kwargs)
    return out[0, len(prompt):].tolist()


@pytest.mark.parametrize("prompt", PROMPTS[::2])
def test_greedy_and_beam_search_on_our_gpt_equal_generate_on_its_twin(twins, prompt):
    hf, ours = twins
    assert gen.greedy(ours, prompt, 12).new_ids == hf_generate(hf, prompt, do_sample=False, max_new_tokens=12)
    eos = gen.greedy(ours, prompt, 10).new_ids[5]  # a token greedy writes mid-way: as EOS, texts end early
    assert gen.greedy(ours, prompt, 12, eos, repetition_penalty=1.3).new_ids == hf_generate(
        hf, prompt, eos, do_sample=False, max_new_tokens=12, repetition_penalty=1.3)
    for beams, eos_id in ((3, None), (4, eos)):
        ours_beam = gen.beam_search(ours, prompt, 10, beams, eos_token_id=eos_id)
        assert ours_beam.new_ids == hf_generate(hf, prompt, eos_id, do_sample=False, num_beams=beams, max_new_tokens=10,
                                                early_stopping=False)


@pytest.mark.parametrize("s", [gen.Sampling(), gen.Sampling(temperature=0.7, top_k=10), gen.Sampling(top_p=0.8, min_p=0.05),
                               gen.Sampling(temperature=1.5, top_p=0.9, repetition_penalty=1.2)])
def test_sampling_on_our_gpt_equals_generate_on_its_twin(twins, s):
    hf, ours = twins
    mine = gen.sample(ours, PROMPTS[0], 15, s, seed=11)
    torch.manual_seed(11)  # generate draws from the global generator; ours from its own, same seed
    theirs = hf_generate(hf, PROMPTS[0], None, do_sample=True, max_new_tokens=15, temperature=s.temperature, top_k=s.top_k,
                         top_p=s.top_p, min_p=s.min_p, repetition_penalty=s.repetition_penalty)
    assert mine.new_ids == theirs


def test_every_strategy_of_the_decoding_page_and_the_stepper_run_on_our_gpt(twins):
    hf, ours = twins
    cfg = gen.CompareConfig(max_new_tokens=8, num_beams=3, temperature=0.8, top_k=7, top_p=0.6, seed=3)
    for name, run in gen.strategies(cfg).items():
        assert run(ours, PROMPTS[1], None).new_ids == run(hf, PROMPTS[1], None).new_ids, name
    stepper = gen.Stepper(ours)
    ids = PROMPTS[2]
    for upto in (3, 5, 8, 7, 4):  # grow, then undo (the cache is cropped), then jump back
        torch.testing.assert_close(stepper(ids[:upto]), hf(torch.tensor([ids[:upto]])).logits[0, -1], rtol=0, atol=1e-5)
    assert gen.context_window(ours) == 32


# ----------------------------------------------------------------------------- bad input


def test_bad_shapes_and_inputs_are_explained():
    with pytest.raises(LabError, match="multiple of the number of heads"):
        GPT(GPTConfig(n_embd=100, n_head=3))
    with pytest.raises(LabError, match="dropout"):
        GPT(GPTConfig(dropout=1.0))
    model = GPT(GPTConfig(vocab_size=VOCAB, context=8, n_layer=1, n_head=2, n_embd=8))
    with pytest.raises(LabError, match="at most 8"):
        model(batch(1, 9))
    with pytest.raises(LabError, match="outside this GPT's vocabulary"):
        model(torch.tensor([[VOCAB]]))
    with pytest.raises(LabError, match="context window"):
        gen.greedy(model, [1, 2, 3, 4, 5], 5)
    with pytest.raises(LabError, match="ablation"):
        GPT(GPTConfig(vocab_size=VOCAB, context=8, n_layer=1, n_head=2, n_embd=8, residual=False)).to_hf()
    with pytest.raises(LabError, match="activation_function"):
        GPT.from_hf(hf_gpt2(activation_function="relu"))


@pytest.mark.parametrize("switch", ["position", "residual", "layer_norm"])
def test_each_ablation_really_changes_the_model(switch):
    base = GPTConfig(vocab_size=VOCAB, context=16, n_layer=2, n_head=2, n_embd=16)
    full = GPT(base, torch.Generator().manual_seed(0)).eval()
    ablated = GPT(GPTConfig(**base.to_dict() | {switch: False}), torch.Generator().manual_seed(0)).eval()
    ids = batch(2, 10)
    with torch.no_grad():
        assert not torch.allclose(full(ids).logits, ablated(ids).logits, atol=1e-4)
        cache_out = ablated(ids[:, :6], use_cache=True)  # the cache still works with the part switched off
        step = ablated(ids[:, 6:], past_key_values=cache_out.past_key_values).logits
        torch.testing.assert_close(step, ablated(ids).logits[:, 6:], rtol=0, atol=1e-5)
    names = {n for n, _ in ablated.named_parameters()}
    assert ("transformer.wpe.weight" in names) == (switch != "position")
    assert any("ln_1" in n for n in names) == (switch != "layer_norm")
    if switch == "position":  # one layer without positions: the last token's prediction ignores the order before it
        one = GPT(GPTConfig(**base.to_dict() | {"position": False, "n_layer": 1}), torch.Generator().manual_seed(0)).eval()
        with torch.no_grad():
            a, b = (one(torch.tensor([ids])).logits[0, -1] for ids in ([1, 2, 3, 4], [3, 1, 2, 4]))
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
            # from two layers on, order leaks in through the causal mask: earlier tokens saw different prefixes
            a, b = (ablated(torch.tensor([ids])).logits[0, -1] for ids in ([1, 2, 3, 4], [3, 1, 2, 4]))
            assert not torch.allclose(a, b, atol=1e-4)


@pytest.mark.slow
def test_real_gpt2_when_online():
    from core.infra.network import hub_reachable

    if not hub_reachable().ok:
        pytest.skip("the Hub is out of reach: the tiny random GPT-2 tests above stand in for it")
    hf = GPT2LMHeadModel.from_pretrained("gpt2").eval()
    ours = GPT.from_hf(hf).eval()
    ids = torch.tensor([[464, 3139, 286, 4881, 318]])  # "The capital of France is"
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, hf(ids).logits, rtol=0, atol=1e-4)
