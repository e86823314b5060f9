"""core.llm.prompting against references: tokenizers' byte alphabet and decode, transformers' own loss,
hidden states and logits, and unbatched scoring."""

import math

import pytest
import torch
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers import models as tok_models
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from core.errors import LabError
from core.infra import models
from core.llm import prompting as p

TEXT = "Héllo wörld! 😀 Tabs\tand\nnew lines, naïve café. " * 3


@pytest.fixture(scope="module")
def byte_bpe():
    """A small GPT-2-style byte-level BPE tokenizer trained here (no download)."""
    tok = Tokenizer(tok_models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([TEXT, "the cat sat on the mat"] * 20,
                            trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok)


@pytest.fixture(scope="module")
def wordpiece():
    return AutoTokenizer.from_pretrained(models.minilm_path())


@pytest.fixture(scope="module")
def tiny_gpt2(wordpiece):
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=len(wordpiece), n_positions=64, n_embd=16, n_layer=3, n_head=2)).eval()


@pytest.fixture(scope="module")
def tiny_llama():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=True)
    return LlamaForCausalLM(config).eval()


def test_byte_decoder_is_gpt2s_byte_alphabet():
    assert set(p.BYTE_DECODER) == set(pre_tokenizers.ByteLevel.alphabet())
    assert sorted(p.BYTE_DECODER.values()) == list(range(256))


def test_token_bytes_rebuild_the_text_exactly(byte_bpe):
    text = TEXT + "🦜 ünseen"  # the parrot never occurred in training: its 4 bytes stay separate tokens
    ids = byte_bpe(text).input_ids
    assert b"".join(p.token_bytes(byte_bpe, i) for i in ids) == text.encode("utf-8")
    pieces = p.token_pieces(byte_bpe, ids)
    assert any(piece.startswith("<0x") for piece in pieces), "the emoji should be split into bytes"
    # where no character is split, each piece is exactly what the tokenizer decodes it to
    for i, piece in zip(ids, pieces):
        if not piece.startswith("<0x"):
            assert piece == byte_bpe.decode([i])


def test_token_pieces_fall_back_to_decode_for_wordpiece(wordpiece):
    ids = p.prompt_token_ids(wordpiece, "Tokenization works")
    assert p.token_pieces(wordpiece, ids) == [wordpiece.decode([i]) for i in ids]


def test_surprisal_matches_transformers_loss(tiny_gpt2, wordpiece):
    text = "the model reads the text and predicts each next word"
    result = p.surprisal(tiny_gpt2, wordpiece, text)
    ids = torch.tensor([p.prompt_token_ids(wordpiece, text)])
    with torch.no_grad():
        loss = tiny_gpt2(ids, labels=ids).loss.item()  # mean cross-entropy in nats over tokens 2..n
    assert result.perplexity == pytest.approx(math.exp(loss), rel=1e-5)
    assert math.isnan(result.table.surprisal_bits[0]) and result.truncated == 0
    assert p.surprisal(tiny_gpt2, wordpiece, text, max_tokens=4).truncated == len(ids[0]) - 4


@pytest.mark.parametrize("bad", ["", "   ", "a"])
def test_surprisal_explains_texts_too_short_to_score(tiny_gpt2, wordpiece, bad):
    with pytest.raises(LabError):
        p.surprisal(tiny_gpt2, wordpiece, bad)


def test_logit_lens_equals_transformers_hidden_states_on_gpt2(tiny_gpt2):
    ids = [101, 2023, 2003, 1037, 3231, 102]
    lens = p.layer_logits(tiny_gpt2, ids)
    with torch.no_grad():
        out = tiny_gpt2(torch.tensor([ids]), output_hidden_states=True)
    # GPT-2's hidden_states: embeddings, then each block's output (the last one already through ln_f)
    expected = [tiny_gpt2.lm_head(tiny_gpt2.transformer.ln_f(h[0])) for h in out.hidden_states[:-1]] + [out.logits[0]]
    assert lens.shape == (len(tiny_gpt2.transformer.h) + 1, len(ids), tiny_gpt2.config.vocab_size)
    torch.testing.assert_close(lens, torch.stack(expected), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(p.layer_logits(tiny_gpt2, ids, positions=2), lens[:, -2:])


def test_logit_lens_on_a_llama_shaped_model(tiny_llama):
    ids = [5, 17, 99, 3, 250]
    lens = p.layer_logits(tiny_llama, ids)
    with torch.no_grad():
        logits = tiny_llama(torch.tensor([ids])).logits[0]
        embedded = tiny_llama.lm_head(tiny_llama.model.norm(tiny_llama.model.embed_tokens(torch.tensor(ids))))
    torch.testing.assert_close(lens[-1], logits, rtol=1e-5, atol=1e-5)  # the last layer is the model's output
    torch.testing.assert_close(lens[0], embedded, rtol=1e-5, atol=1e-5)  # layer 0 is the embeddings
    assert not torch.allclose(lens[1], lens[2])


def test_logit_lens_table(tiny_llama, byte_bpe):
    table = p.logit_lens(tiny_llama, byte_bpe, [5, 17, 99, 3, 250], top_n=3, positions=2)
    assert len(table) == 4 * 2 * 3 and set(table.position) == {3, 4}
    assert (table.groupby(["layer", "position"]).probability.apply(lambda s: s.is_monotonic_decreasing)).all()


def test_answer_logprobs_equal_unbatched_scoring(tiny_gpt2, wordpiece):
    prompt = "review : great fun . sentiment :"
    answers = [" positive", " very negative indeed"]  # different lengths: the batch is padded
    batched = p.answer_logprobs(tiny_gpt2, wordpiece, prompt, answers)
    for answer, value in zip(answers, batched):
        n, a = len(p.prompt_token_ids(wordpiece, prompt)), p.prompt_token_ids(wordpiece, answer)
        alone = p.token_logprobs(tiny_gpt2, p.prompt_token_ids(wordpiece, prompt) + a)[n - 1:].sum().item()
        assert value == pytest.approx(alone, abs=1e-5)
    shares = p.answer_probabilities(tiny_gpt2, wordpiece, prompt, answers).share
    assert shares.sum() == pytest.approx(1.0)


def test_prompts_and_their_errors(byte_bpe):
    task = p.FewShotTask(examples=(("good", "positive"), ("bad", "negative")))
    two = p.few_shot_prompt(task, "  fine  ", 2)
    assert two.count("Sentiment:") == 3 and two.endswith("Review: fine\nSentiment:")
    with pytest.raises(LabError):
        p.few_shot_prompt(task, "x", 3)
    with pytest.raises(LabError, match="chat template"):
        p.chat_prompt(byte_bpe, task, "x")
    byte_bpe.chat_template = ("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
                              "{% if add_generation_prompt %}<assistant>{% endif %}")
    chat = p.chat_prompt(byte_bpe, task, "fine")
    assert chat.startswith("<user>") and chat.endswith("<assistant>") and "Review: fine" in chat


def test_accuracy_counts_and_reports(tiny_gpt2, wordpiece):
    task = p.FewShotTask()
    rows = [("good film", "positive"), ("bad film", "negative"), ("fine film", "positive"), ("dull film", "negative")]
    make = lambda t: p.few_shot_prompt(task, t, 0)  # noqa: E731
    # by hand: the label whose answer the model finds likelier, row by row
    hits = []
    for text, label in rows:
        pos, neg = p.answer_logprobs(tiny_gpt2, wordpiece, make(text), [" positive", " negative"])
        hits.append(("positive" if pos >= neg else "negative") == label)  # a tie goes to the first label
    assert 0 < sum(hits) < len(rows)  # this random model gets some right and some wrong: the count matters
    seen = []
    acc = p.few_shot_accuracy(tiny_gpt2, wordpiece, task, rows, make, on_step=lambda i, m: seen.append((i, m["accuracy"])))
    assert acc == sum(hits) / len(rows)
    assert seen == [(i, sum(hits[:i]) / i) for i in range(1, len(rows) + 1)]  # the running accuracy, after each row
    stopped = p.few_shot_accuracy(tiny_gpt2, wordpiece, task, rows, make, on_step=lambda i, m: i < 2)  # Stop after the second row
    assert stopped == sum(hits[:2]) / 2
