"""The pages' drawing helpers that hold logic: ui/tokens.py (whitespace and split bytes made
visible) and ui/beam_tree.py (beam search's tree as Graphviz DOT). No Streamlit runs here."""

import dataclasses
import math
import re

import pytest
import torch
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers import models as tok_models
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from core.llm import generation as g
from core.llm.prompting import token_pieces
from ui import beam_tree
from ui.tokens import chips, heat, heat_chips, visible

# what the page's caption promises: kept beams blue, finished texts green, dropped candidates grey
COLOURS = {"kept": "#cfe2ff", "finished": "#c7efcf", "dropped": "#f0f0f0"}
RED = "#d62728"


# ----------------------------------------------------------------------------- tokens


@pytest.fixture(scope="module")
def bytes_only():
    """A byte-level BPE that learned merges of plain ASCII only: any emoji or accent stays split into bytes."""
    tok = Tokenizer(tok_models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["the cat sat on the mat"] * 20,
                            trainers.BpeTrainer(vocab_size=270, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok)


def test_whitespace_is_made_visible():
    assert visible(" the\n\tcat") == "␣the↵⇥cat"
    assert visible("") == "∅" and visible("cat") == "cat"


def test_split_bytes_show_as_hex_and_chips_escape_them(bytes_only):
    ids = bytes_only("a 🦜é", add_special_tokens=False).input_ids
    pieces = token_pieces(bytes_only, ids)
    # 🦜 is F0 9F A6 9C in UTF-8 and é is C3 A9: no merge joins them, so each byte is its own token
    assert pieces == ["a", " ", "<0xF0>", "<0x9F>", "<0xA6>", "<0x9C>", "<0xC3>", "<0xA9>"]
    html = chips(pieces, ids)
    assert html.count("<span title=") == len(ids) and "&lt;0xF0&gt;" in html and "<0xF0>" not in html
    assert "␣" in html and all(f">{i}</span>" in html for i in ids)  # the space visible, every id underneath


def test_chips_outline_the_picked_tokens_and_escape_html():
    html = chips(["<b>", " a", " b"], highlight_from=1)
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert html.count("outline:2px") == 2


def test_heat_colours_by_value_and_marks_missing_ones():
    assert heat(0.0, 10.0) == "rgba(214, 39, 40, 0.08)" and heat(10.0, 10.0) == heat(25.0, 10.0) == "rgba(214, 39, 40, 0.93)"
    assert heat(float("nan"), 10.0) == "#e0e0e0"
    html = heat_chips(["a", " b"], [float("nan"), 5.0], max_value=10.0)
    assert "no context to predict it" in html and "5.00 bits" in html and "rgba(214, 39, 40, 0.51)" in html  # 0.08 + 0.85 / 2


# ----------------------------------------------------------------------------- the beam-search tree


@pytest.fixture(scope="module")
def search():
    """A real beam search on a tiny random GPT-2, with an EOS it emits, so all three statuses occur."""
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=61, n_positions=48, n_embd=32, n_layer=2, n_head=2)).eval()
    prompt = [5, 9, 13, 2]
    eos = g.greedy(model, prompt, 10).new_ids[5]
    return g.beam_search(model, prompt, 10, num_beams=3, eos_token_id=eos)


def parse(dot: str) -> tuple[dict[int, str], list[tuple[str, str, bool]]]:
    """{node id: fill colour} and [(parent, child, drawn red)] from the DOT source."""
    fills = {int(n): fill for n, fill in re.findall(r'^n(\d+) \[label=.*?, fillcolor="(#\w+)"', dot, re.M)}
    edges = [(a, b, RED in rest) for a, b, rest in re.findall(r"^(\w+) -> (n\d+)(.*);$", dot, re.M)]
    return fills, edges


def test_beam_tree_colours_every_candidate_by_its_status(search):
    assert {n.status for n in search.nodes} == set(COLOURS)  # the fixture exercises every colour
    fills, edges = parse(beam_tree.dot(search, {}, "prompt", max_depth=99))
    assert fills == {n.id: COLOURS[n.status] for n in search.nodes}
    assert sorted(int(b[1:]) for _, b, _ in edges) == sorted(fills)  # one edge into every node
    assert all(a == ("root" if search.nodes[int(b[1:])].parent == -1 else f"n{search.nodes[int(b[1:])].parent}")
               for a, b, _ in edges)


def test_beam_tree_draws_the_winning_path_in_red(search):
    _, edges = parse(beam_tree.dot(search, {}, "prompt", max_depth=99))
    red = [(a, b) for a, b, is_red in edges if is_red]
    assert len(red) == len(search.new_ids)
    chain = ["root"] + [f"n{i}" for i in search.best_path]  # root -> first token -> ... -> last token
    assert red == list(zip(chain, chain[1:]))
    assert [search.nodes[int(b[1:])].token for _, b in red] == search.new_ids
    _, shallow = parse(beam_tree.dot(search, {}, "prompt", max_depth=2))
    assert sum(is_red for *_, is_red in shallow) == 2 and len(shallow) == sum(n.depth <= 2 for n in search.nodes)


def test_beam_tree_labels_are_quoted_and_dead_beams_left_out(search):
    first = search.nodes[0]
    dead = g.BeamNode(len(search.nodes), -1, 7, 1, g.DEAD, -math.inf, "dropped")
    result = dataclasses.replace(search, nodes=search.nodes + [dead])
    dot = beam_tree.dot(result, {first.token: 'say "hi"\\'}, 'the "end"', max_depth=99)
    assert f'n{first.id} [label="say␣\\"hi\\"\\\\\\n{first.score:.2f}"' in dot  # quotes and backslash escaped, ␣ shown
    assert 'root [label="the \\"end\\""' in dot
    assert f"n{dead.id}" not in dot  # a beam that can never be chosen is not drawn
