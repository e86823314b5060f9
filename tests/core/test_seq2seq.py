"""The number-translation task, the schedule, the smoothed loss, the RNN's attention, decoding through
core/llm/generation.py, and what training refuses or stops on."""

import math

import pytest
import torch
import torch.nn.functional as F

from core.errors import LabError
from core.llm import generation
from core.transformers import seq2seq_train as s2s
from core.transformers.rnn_seq2seq import RNNConfig, RNNSeq2Seq
from core.transformers.translation_task import BOS, EOS, PAD, TaskConfig, check_source, make_task, number_to_words

# ----------------------------------------------------------------------------- the task: every answer checked independently

HAND = {  # written out by hand, not by the rule
    0: "zero", 5: "five", 10: "ten", 11: "eleven", 13: "thirteen", 19: "nineteen", 20: "twenty", 21: "twenty one", 40: "forty",
    99: "ninety nine", 100: "one hundred", 101: "one hundred one", 110: "one hundred ten", 115: "one hundred fifteen",
    342: "three hundred forty two", 900: "nine hundred", 1000: "one thousand", 1001: "one thousand one",
    2019: "two thousand nineteen", 10_000: "ten thousand", 12_345: "twelve thousand three hundred forty five",
    100_000: "one hundred thousand", 342_005: "three hundred forty two thousand five", 999_999:
    "nine hundred ninety nine thousand nine hundred ninety nine", 1_000_000: "one million", 7_000_070: "seven million seventy",
    20_300_400: "twenty million three hundred thousand four hundred", 999_999_999: "nine hundred ninety nine million nine hundred "
    "ninety nine thousand nine hundred ninety nine",
}
SMALL = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                                    "sixteen seventeen eighteen nineteen".split())}
SMALL |= {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i >= 2}


def parse(words: str) -> int:
    """An independent reader of English numbers: accumulate, multiply on 'hundred', close a group on a scale word."""
    total, current = 0, 0
    for w in words.split():
        if w in SMALL:
            current += SMALL[w]
        elif w == "hundred":
            current *= 100
        elif w in ("thousand", "million"):
            total += current * (1000 if w == "thousand" else 1_000_000)
            current = 0
        else:
            raise ValueError(w)
    return total + current


def test_the_rule_matches_the_hand_table_and_the_reader():
    assert {n: number_to_words(n) for n in HAND} == HAND
    assert all(parse(w) == n for n, w in HAND.items())


@pytest.mark.parametrize("direction", ["words → digits", "digits → words"])
def test_every_pair_of_a_task_is_right_and_the_sets_are_apart(direction):
    task = make_task(TaskConfig(direction=direction, max_digits=7, train_max_chars=40 if direction == "words → digits" else 5, pool=3000))
    words_side = "source" if direction == "words → digits" else "target"
    for p in task.train + task.test + task.longer:
        words, digits = getattr(p, words_side), (p.target if words_side == "source" else p.source)
        assert parse(words) == int(digits) == p.number and digits == str(p.number)
        assert " ".join(words.split()) == words  # single spaces, nothing at either end
    cap = task.config.train_max_chars
    assert max(len(p.source) for p in task.train + task.test) <= cap < min(len(p.source) for p in task.longer)
    assert not {p.number for p in task.train} & ({p.number for p in task.test} | {p.number for p in task.longer})
    assert task.max_source >= max(len(p.source) for p in task.train + task.test + task.longer)
    assert task.max_target >= max(len(p.target) for p in task.train + task.test + task.longer)


def test_longest_source_is_the_longest_there_is():
    from core.transformers.translation_task import longest_pair

    for d in (1, 2, 3, 4):  # brute force over every number
        assert longest_pair(d, "words → digits")[0] == max(len(number_to_words(n)) for n in range(10**d))


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("Forty two", "'F'"), ("forty-two", "'-'"), ("forty two 🙂", "'🙂'"), ("forty\x00two", "'\\x00'"),
    ("שלום", "outside"), ("<b>two</b>", "'<'"), ("one " * 5000, "20,000 characters"),
])
def test_bad_input_is_refused_with_a_message_naming_it(text, message):
    task = make_task(TaskConfig(max_digits=3, train_max_chars=27, pool=200))
    with pytest.raises(LabError, match=None) as e:
        check_source(text, task.vocab, task.max_source)
    assert message in str(e.value)


def test_a_task_too_short_to_train_on_is_refused():
    with pytest.raises(LabError, match="too few"):
        make_task(TaskConfig(max_digits=3, train_max_chars=3))


# ----------------------------------------------------------------------------- schedule and loss


def test_schedule_is_the_papers_formula():
    d, warmup = 512, 4000
    paper = lambda step: d**-0.5 * min(step**-0.5, step * warmup**-1.5)  # eq. (3), written out
    tc = s2s.TrainConfig(peak_lr=(d * warmup) ** -0.5, warmup=warmup)  # the paper's factor 1
    for step in (1, 2, 100, 3999, 4000, 4001, 10_000, 100_000):
        assert s2s.noam_lr(step, d, warmup) == pytest.approx(paper(step), rel=1e-12)
        assert s2s.learning_rate(step, tc, d) == pytest.approx(paper(step), rel=1e-12)
    assert s2s.noam_lr(4000, 512, 4000) == pytest.approx(6.9877e-4, rel=1e-4)  # the paper's peak, by hand


def test_without_warmup_the_peak_comes_first_then_the_same_decay():
    tc = s2s.TrainConfig(peak_lr=2e-3, warmup=50, warmup_on=False)
    with_warmup = s2s.TrainConfig(peak_lr=2e-3, warmup=50)
    assert [s2s.learning_rate(s, tc) for s in (1, 25, 50)] == pytest.approx([2e-3] * 3)
    assert s2s.learning_rate(1, with_warmup) == pytest.approx(2e-3 / 50)
    for step in (50, 51, 200, 800):
        assert s2s.learning_rate(step, tc) == pytest.approx(s2s.learning_rate(step, with_warmup))
    assert s2s.learning_rate(200, tc) == pytest.approx(2e-3 * math.sqrt(50 / 200))


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_smoothed_loss_equals_torch_cross_entropy(eps):
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(40, 13, generator=g) * 3).requires_grad_()
    targets = torch.randint(1, 13, (40,), generator=g)
    targets[::7] = PAD  # padded positions are not scored
    ours = s2s.smoothed_cross_entropy(logits, targets, eps)
    theirs = F.cross_entropy(logits, targets, ignore_index=PAD, label_smoothing=eps)
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-6)
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_theirs,) = torch.autograd.grad(theirs, logits)
    assert torch.allclose(g_ours, g_theirs, atol=1e-7)


# ----------------------------------------------------------------------------- additive attention, written out


def test_additive_attention_is_bahdanaus_formula():
    model = RNNSeq2Seq(RNNConfig(vocab_size=9, hidden=5, embd=3, attention=True, attention_width=4), torch.Generator().manual_seed(0))
    src = torch.tensor([[4, 5, 6, 7], [4, 5, 0, 0]])
    memory = model.encode(src)
    s = torch.randn(2, 5, generator=torch.Generator().manual_seed(1))
    context, alpha = model.attend(s, memory, model.w_h(memory.states))
    for b in range(2):
        n = int((src[b] != PAD).sum())
        e = torch.stack([model.v.weight[0] @ torch.tanh(model.w_s.weight @ s[b] + model.w_h.weight @ memory.states[b, j] + model.w_h.bias)
                         for j in range(n)])
        a = torch.exp(e) / torch.exp(e).sum()
        assert torch.allclose(alpha[b, :n], a, atol=1e-6) and torch.all(alpha[b, n:] == 0)
        assert torch.allclose(context[b], (a[:, None] * memory.states[b, :n]).sum(0), atol=1e-6)


def test_packed_encoder_ignores_padding():
    """A padded source gives the same annotations and summary as the same source alone."""
    model = RNNSeq2Seq(RNNConfig(vocab_size=9, hidden=5, embd=3), torch.Generator().manual_seed(0))
    alone, padded = model.encode(torch.tensor([[4, 5, 6]])), model.encode(torch.tensor([[4, 5, 6, 0, 0], [4, 4, 4, 4, 4]]))
    assert torch.allclose(alone.summary[0], padded.summary[0], atol=1e-6)
    assert torch.allclose(alone.states[0], padded.states[0, :3], atol=1e-6)


# ----------------------------------------------------------------------------- decoding through generation.py


@pytest.fixture(scope="module")
def task():
    return make_task(TaskConfig(max_digits=3, train_max_chars=27, pool=300))


def models(task):
    g = torch.Generator().manual_seed(3)
    return {name: s2s.build_model(s2s.TrainConfig(model=name, n_embd=16, hidden=12, n_head=2), task, g).eval() for name in s2s.MODELS}


def greedy_without_cache(model, source_ids, steps):
    """Greedy written out: re-read the whole output at every step (no cache), take the argmax."""
    out = [BOS]
    for _ in range(steps):
        token = model(torch.tensor([source_ids]), torch.tensor([out]))[0, -1].argmax().item()
        out.append(token)
        if token == EOS:
            break
    return out[1:]


def test_greedy_and_beam_through_the_decoding_code(task):
    for name, model in models(task).items():
        for text in ("forty two", "nine hundred ninety nine", "one"):
            ids = check_source(text, task.vocab, task.max_source)
            gen = generation.greedy(s2s.Translator(model, ids), [BOS], model.config.max_target - 1, eos_token_id=EOS)
            assert gen.new_ids == greedy_without_cache(model, ids, model.config.max_target - 1), name
            one_beam = generation.beam_search(s2s.Translator(model, ids), [BOS], model.config.max_target - 1, num_beams=1, eos_token_id=EOS)
            assert one_beam.new_ids == gen.new_ids, name
            wide = s2s.translate(model, task.vocab, text, "beam", num_beams=4)
            # the beam's reported log-probability is the model's own, read back with teacher forcing
            logp = model(torch.tensor([ids]), torch.tensor([[BOS] + wide.ids[:-1]]))[0].log_softmax(-1)
            assert wide.logprob == pytest.approx(logp.gather(1, torch.tensor(wide.ids)[:, None]).sum().item(), abs=1e-4), name


def test_exact_match_by_one_pass_is_greedy_decoding(task):
    """Targets set to what greedy writes are all 'exact'; one character changed, none is."""
    from core.transformers.translation_task import Pair

    for name, model in models(task).items():
        pairs, wrong = [], []
        for p in task.test[:12]:
            out = s2s.translate(model, task.vocab, p.source)
            if not out.ids or out.ids[-1] != EOS or len(out.output) != len(out.ids) - 1:
                continue  # an output without an end token (or with specials) is no target
            pairs.append(Pair(p.number, p.source, out.output))
            flipped = task.vocab.decode([task.vocab.encode(c)[0] for c in out.output[:-1]]) + ("1" if out.output[-1:] != "1" else "2")
            wrong.append(Pair(p.number, p.source, flipped))
        if pairs:
            assert s2s.score(model, pairs, task.vocab).exact.all(), name
            assert not s2s.score(model, wrong, task.vocab).exact.any(), name


def test_alignment_rows_are_distributions_over_the_real_source(task):
    for name, model in models(task).items():
        out = s2s.translate(model, task.vocab, "seven hundred")
        if name == "fixed context":
            assert out.alignment == []
            continue
        for w in out.alignment:
            assert w.shape[-2:] == (len(out.ids), len("seven hundred"))
            assert w.sum(-1) == pytest.approx(1.0, abs=1e-5)


# ----------------------------------------------------------------------------- training


def test_training_lowers_the_loss_and_a_huge_learning_rate_stops_with_a_reason(task):
    tc = s2s.TrainConfig(model="transformer", steps=12, batch_size=16, n_embd=16, n_head=2, n_layer=1, warmup=4, eval_every=6,
                         eval_pairs=16)
    run = s2s.fit(tc, task)
    assert run.stop_reason is None and not run.history.stopped and run.steps == 12
    assert run.history.metrics["loss"][-1] < run.history.metrics["loss"][0]
    wild = s2s.fit(s2s.TrainConfig(model="additive attention", steps=60, batch_size=16, hidden=12, peak_lr=50.0, warmup=1, grad_clip=0,
                                   eval_every=60), task)
    assert wild.stop_reason is not None and wild.history.stopped and wild.steps < 60
    assert "learning rate" in wild.stop_reason


def test_the_same_config_trains_the_same_model_bit_for_bit(task):
    """Every weight comes from the run's own generator (the GRU cell's too): two runs give identical losses."""
    for name in s2s.MODELS:
        tc = s2s.TrainConfig(model=name, steps=4, batch_size=8, hidden=8, n_embd=16, n_head=2, n_layer=1, eval_every=100)
        assert s2s.fit(tc, task).history.metrics["loss"] == s2s.fit(tc, task).history.metrics["loss"], name


def test_a_time_budget_ends_the_run_without_calling_it_stopped(task):
    tc = s2s.TrainConfig(model="fixed context", steps=100_00, seconds=0.3, batch_size=8, hidden=8, eval_every=10_000)
    run = s2s.fit(tc, task)
    assert run.steps < 10_000 and not run.history.stopped and run.stop_reason is None


@pytest.mark.parametrize("change, message", [(dict(model="lstm"), "one of"), (dict(steps=0), "steps"),
                                             (dict(peak_lr=float("nan")), "positive"),
                                             (dict(label_smoothing=1.0), "smoothing"), (dict(seconds=-1), "time budget")])
def test_bad_training_settings_are_refused(task, change, message):
    with pytest.raises(LabError, match=message):
        s2s.fit(s2s.TrainConfig(**change), task)
