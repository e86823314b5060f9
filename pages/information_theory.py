import numpy as np
import pandas as pd
import streamlit as st

from core.foundations import information as info
from core.foundations import information_demo, prefix_codes
from core.infra import models
from core.infra.data import csv_safe
from ui import model_picker, state
from ui.page import friendly_errors, header, literal, or_stop, quantity, show_code, text_box, try_this
from ui.vega import bars, chart, draw, field, lines

MAX_EDITABLE = 200  # larger distributions (typed or pasted) are shown, not edited cell by cell
MAX_BARS = 60  # a chart of thousands of bars says nothing; show the most likely outcomes
MAX_TREE = 40  # Huffman trees drawn up to this many leaves

header(
    "📏 Entropy, cross-entropy and KL divergence",
    "An outcome of probability *p* carries a **surprisal** of −log *p*: a sure thing tells you nothing, a "
    "one-in-a-million event tells you a lot. **Entropy** is the average surprisal. **Cross-entropy** is the "
    "average surprisal when the world follows *p* but you *believe* *q*, and **KL divergence** is what that wrong "
    "belief costs. With logs in base 2 all of these are **bits**: lengths of the best possible code. "
    "Shape the distributions below and watch every number move.",
)


# ----------------------------------------------------------------------------- 1. one distribution

st.header("1 · Shape a distribution p")
letters = information_demo.preset("English letters")[1]
try_this("Start from **fair coin**: exactly 1 bit. Then **biased coin**, and slide P(heads) towards 1: the entropy falls to 0.",
         "Start from **uniform** and double the outcomes: each doubling adds exactly one bit (log₂ n).",
         f"Start from **English letters**: {info.entropy(letters):.2f} bits, below the {np.log2(len(letters)):.2f} bits of 26 equally "
         "likely letters: the unequal letter frequencies are what a good code exploits (section 3).")
c1, c2 = st.columns([1, 2])
with c1:
    kind = st.selectbox("Start from", (*information_demo.PRESETS, "typed by you"), index=3)
    n, bias = 8, 0.5
    if kind in ("uniform", "peaked"):
        n = st.slider("Outcomes", 1, 4096 if kind == "uniform" else 64, 8)
    if kind in ("biased coin", "loaded die", "peaked"):
        label = {"biased coin": "P(heads)", "loaded die": "P(six)", "peaked": "P(most likely outcome)"}[kind]
        bias = st.slider(label, 0.0, 1.0, 0.8 if kind == "biased coin" else 0.5, step=0.01)
    if kind == "typed by you":
        typed = text_box("Weights, separated by commas or spaces (they need not sum to 1)", "5, 3, 1, 1", limit=20_000, area=True)
    if kind == "next token of a language model":
        prompt = text_box("Prompt", "The capital of France is")
        top_k = st.slider("Top tokens shown (the rest go into “(other)”)", 2, 50, 10)

base: tuple[list[str], np.ndarray] | None = None
with friendly_errors():
    if kind == "typed by you":
        weights = info.parse_numbers(typed, "weights")
        info.check_distribution(weights, "p")  # refuse NaN or negative weights as typed: in the table NaN would read as blank
        base = ([f"x{i + 1}" for i in range(len(weights))], weights)
    elif kind == "next token of a language model":
        with st.spinner("Loading a causal LM (SmolLM2's very first load converts it, ~30 s)…"):
            lm = model_picker.load_any("causal-lm")  # SmolLM2, else GPT-2 from the Hub
        entry = models.REGISTRY[lm.key]
        c1.caption(f"{entry.title}, {entry.params} parameters, {'offline' if entry.offline else 'from the Hub'}. "
                   "Try a prompt with one obvious continuation, then an open one.")
        base = state.cached(information_demo.next_token_distribution)(lm, prompt, top_k)
    else:
        base = information_demo.preset(kind, n, bias)

if base is None:
    st.stop()
labels, weights = base
with c2:
    if len(labels) <= MAX_EDITABLE:
        st.caption("Edit any probability (or add and delete rows; a blank cell counts as 0); the page normalises what you type.")
        edited = st.data_editor(pd.DataFrame({"outcome": labels, "probability": weights}), num_rows="dynamic",
                                key=f"p.{kind}.{n}.{bias}.{hash(tuple(labels))}.{hash(weights.tobytes())}", hide_index=True,
                                column_config={"probability": st.column_config.NumberColumn(format="%.4f")}, width="stretch")
        labels = [str(o) if o is not None and str(o).strip() else f"x{i + 1}" for i, o in enumerate(edited.outcome)]
        weights = edited.probability.tolist()  # cells, read below: blank means 0
    else:
        st.caption(f"{len(labels):,} outcomes: too many to edit one by one; the table below shows the first {MAX_BARS}.")

p, total = or_stop(info.check_distribution, info.cell_weights(weights), "p")
if abs(total - 1) > 1e-6:
    st.info(f"The entries sum to {total:.4g}, not 1, so every one was divided by {total:.4g} to make a distribution.", icon="➗")

h_bits, h_nats = info.entropy(p, 2), info.entropy(p, np.e)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Entropy H(p)", quantity(h_bits))
m2.metric("… in nats (log base e)", quantity(h_nats, "nats"))
m3.metric("Maximum, log₂ n", quantity(np.log2(len(p))), help="Reached only by the uniform distribution over these n outcomes")
m4.metric("Perplexity 2^H", f"{2 ** h_bits:,.2f}", help="As uncertain as a fair choice among this many outcomes")
st.latex(r"H(p) = -\sum_x p(x)\,\log_2 p(x) \;\text{bits} \qquad 1\text{ nat} = \log_2 e \approx 1.4427\text{ bits}")
if kind == "next token of a language model":
    st.caption("“(other)” lumps together the ~49,000 tokens outside the top few; merging outcomes can only lower entropy, "
               "so the model's full next-token entropy is a little higher than shown (raise the top-k and watch it creep up). "
               "Training a language model means lowering the surprisal −log p of the token that actually comes next.")

surprise = info.surprisal(p)
table = pd.DataFrame({"outcome": labels, "p": p, "surprisal −log₂ p": surprise, "p · (−log₂ p)": info.entropy_terms(p)})
shown = table.nlargest(MAX_BARS, "p").sort_index() if len(table) > MAX_BARS else table
left, right = st.columns(2)
outcome = field("outcome:N", sort=None, title=None)
draw(bars(shown, outcome, "p:Q", title="Probability p(x)", height=230, tooltip=["outcome:N", field("p:Q", format=".4f")]), left)
finite = shown.assign(surprisal=np.minimum(shown["surprisal −log₂ p"], 64))  # −log 0 = ∞ drawn as a tall bar
draw(chart(finite, {"type": "bar", "color": "#d62728"}, "Surprisal −log₂ p(x) in bits (rare = surprising)", 230, x=outcome,
           y="surprisal:Q", tooltip=["outcome:N", field("surprisal:Q", format=".4f")]), right)
st.caption("Entropy is the average of the red bars, each weighted by its blue bar: likely outcomes are cheap, "
           "rare ones expensive but seldom paid for. Outcomes with p = 0 add nothing (p·log p → 0).")
by_hand = info.entropy_by_hand(p)  # None past five distinct probabilities
if by_hand is not None:
    st.markdown("**By hand** (equal probabilities grouped):")
    st.latex(by_hand)
with st.expander("Every outcome's numbers"):
    st.dataframe(csv_safe(table), hide_index=True, width="stretch")

# ----------------------------------------------------------------------------- 2. two distributions

st.header("2 · A second distribution q: cross-entropy, KL and Jensen–Shannon")
st.markdown("Now suppose the data comes from **p** but a model believes **q**. Every outcome *x* then costs "
            "−log q(x) instead of −log p(x). Start q from p in some way, then edit it.")
try_this("Let q start as **missing p's least likely outcome**: KL(p ‖ q) becomes infinite while Jensen–Shannon stays finite.",
         "Let q start as **uniform**: the two KL directions differ, because KL is not a distance.",
         "Edit one of q's cells towards p's value and watch both KLs shrink; they reach 0 only when q = p.")
c1, c2 = st.columns([1, 2])
how = c1.selectbox("q starts as", information_demo.COMPARISONS, index=1)
q_start = information_demo.compare_with(p, how)
q_weights = q_start
with c2:
    if len(p) <= MAX_EDITABLE:
        q_frame = st.data_editor(pd.DataFrame({"outcome": labels, "q": q_start}), hide_index=True, width="stretch",
                                 key=f"q.{how}.{hash(p.tobytes())}", disabled=["outcome"],
                                 column_config={"q": st.column_config.NumberColumn(format="%.4f")})
        q_weights = q_frame.q.tolist()
q, q_total = or_stop(info.check_distribution, info.cell_weights(q_weights), "q")
if abs(q_total - 1) > 1e-6:
    st.info(f"q's entries sum to {q_total:.4g}; divided by it.", icon="➗")

div = info.divergences(p, q)
a, b, c = st.columns(3)
with a:
    st.markdown("**Data from p, model q**")
    st.metric("Cross-entropy H(p, q)", quantity(div.cross_pq))
    st.metric("KL(p ‖ q) = H(p, q) − H(p)", quantity(div.kl_pq))
with b:
    st.markdown("**Data from q, model p**")
    st.metric("Cross-entropy H(q, p)", quantity(div.cross_qp))
    st.metric("KL(q ‖ p) = H(q, p) − H(q)", quantity(div.kl_qp))
with c:
    st.markdown("**Symmetric**")
    st.metric("Jensen–Shannon JS(p, q)", quantity(div.js), help="Average KL of p and q to their mixture m = (p+q)/2; at most 1 bit")
    st.metric("√JS (a true distance; scipy's jensenshannon)", f"{div.js_distance:.4f}")
st.latex(r"H(p,q) = -\sum_x p(x)\log_2 q(x) \qquad D_{KL}(p\,\|\,q) = \sum_x p(x)\log_2\frac{p(x)}{q(x)} = H(p,q) - H(p) \ge 0")
st.latex(r"JS(p, q) = \tfrac12 D_{KL}(p\,\|\,m) + \tfrac12 D_{KL}(q\,\|\,m), \quad m = \tfrac12 (p + q)")

if np.isfinite(div.kl_pq) and np.isfinite(div.kl_qp):
    st.caption(f"The two directions differ by {div.asymmetry:.4f} bits: KL is not a distance. It punishes a model that "
               "is confident where the data is not (small q where p is large) far more than the reverse.")
for name_a, name_b, pa, pb, kl in (("p", "q", p, q, div.kl_pq), ("q", "p", q, p, div.kl_qp)):
    if np.isinf(kl):
        missing = [labels[i] for i in info.unsupported(pa, pb)]
        st.info(f"**KL({name_a} ‖ {name_b}) is infinite, and that is the right answer.** {name_b} gives probability 0 to "
                f"{literal(', '.join(map(repr, missing[:5])))}{' …' if len(missing) > 5 else ''}, which {name_a} can produce. "
                f"A model that calls something impossible is infinitely surprised (−log 0 = ∞) the first time it "
                f"happens, and no finite number of bits can encode it under {name_b}'s code. This is why language models "
                "never give a token exactly zero probability (softmax can't), and why n-gram models need smoothing. "
                "Jensen–Shannon stays finite: the mixture m gives mass wherever p or q does.", icon="♾️")

if np.isfinite(div.kl_pq) and np.isfinite(div.kl_qp):
    parts = pd.DataFrame({"direction": ["data p, model q"] * 2 + ["data q, model p"] * 2,
                          "part": ["entropy of the data", "KL: cost of the wrong model"] * 2,
                          "bits": [div.entropy_p, div.kl_pq, div.entropy_q, div.kl_qp], "order": [0, 1, 0, 1]})
    parts_colours = {"domain": ["entropy of the data", "KL: cost of the wrong model"], "range": ["#9ecae1", "#d62728"]}
    draw(bars(parts, field("bits:Q", stack="zero", title="bits"), field("direction:N", title=None),
              field("part:N", scale=parts_colours, title=None, legend={"orient": "bottom", "labelLimit": 400}),
              "Cross-entropy = entropy + KL, in both directions", {"step": 32},
              order="order:Q", tooltip=["direction:N", "part:N", field("bits:Q", format=".4f")]))

path = pd.DataFrame(info.blend_path(p, q)).melt("t", var_name="divergence", value_name="bits")
path = path[np.isfinite(path.bits)]  # KL(p ‖ q) at t = 0 may be ∞
with st.expander("More: slide q over to p, and p and q side by side"):
    draw(lines(path, field("t:Q", title="t (0: q as edited, 1: q = p)"), field("bits:Q", title="bits"), field("divergence:N", title=None),
               "Slide q over to p: q_t = (1 − t)·q + t·p", 230, point=True,
               tooltip=[field("t:Q", format=".3f"), "divergence:N", field("bits:Q", format=".4f")]))
    st.caption("Both KLs reach 0 only when q = p, along different curves. If q gives an outcome of p zero mass, KL(p ‖ q_t) "
               "shoots up as t → 0: any sliver of probability keeps it finite, which is what smoothing buys.")
    both = pd.DataFrame({"outcome": labels, "p": p, "q": q})
    both = both.nlargest(MAX_BARS, "p").sort_index() if len(both) > MAX_BARS else both
    long = both.melt("outcome", var_name="distribution", value_name="probability")
    draw(bars(long, outcome, "probability:Q", field("distribution:N", scale={"range": ["#1f77b4", "#ff7f0e"]}), "p and q side by side",
              230, xOffset="distribution:N", tooltip=["outcome:N", "distribution:N", field("probability:Q", format=".4f")]))

# ----------------------------------------------------------------------------- 3. codes

st.header("3 · Bits you can count: a Huffman code")
st.markdown("Entropy is not just a formula: it is the length of the shortest code. **Huffman's algorithm** builds the "
            "best prefix code for p by merging the two least likely outcomes again and again. Its average length "
            "always lies in [H(p), H(p) + 1). Build the code for the wrong distribution q and every symbol from p "
            "costs more: about KL(p ‖ q) extra bits (exactly KL with ideal code lengths −log₂ q).")
die, halves = (prefix_codes.code_costs(d, d) for d in (information_demo.preset("fair die")[1], np.array([0.5, 0.25, 0.125, 0.125])))
try_this(f"Start p from **fair die**: Huffman's code needs {die.huffman_p:.3f} bits, {die.huffman_overhead:.3f} above "
         f"H = {die.entropy:.3f}: six outcomes can't all get whole-bit codewords of ideal length.",
         f"Type the weights **4, 2, 1, 1** (powers of ½): the code meets the entropy exactly, {halves.huffman_p:g} bits = H.",
         "Let q start as **reversed**: the Huffman code for q pays extra bits on data from p, about KL(p ‖ q).")
costs = prefix_codes.code_costs(p, q)
code_p, code_q = costs.code_p, costs.code_q
a, b, c, d, e = st.columns(5)
a.metric("H(p)", quantity(costs.entropy))
b.metric("Huffman code for p", quantity(costs.huffman_p), delta=f"{costs.huffman_overhead:+.4f} above H(p)", delta_color="off")
c.metric("Huffman code for q", quantity(costs.huffman_q),
         delta=None if np.isinf(costs.huffman_q) else f"{costs.huffman_extra:+.4f} extra bits", delta_color="inverse")
d.metric("KL(p ‖ q)", quantity(costs.kl), help="The extra cost of q's code with ideal (fractional) code lengths")
e.metric("Shannon code for q", quantity(costs.shannon), delta=None if np.isinf(costs.shannon) else f"{costs.shannon_extra:+.4f} above H(p)",
         delta_color="off", help="Lengths ⌈−log₂ q⌉: its bits above H(p) always lie in [KL, KL + 1)")
st.caption("Every code encodes data drawn from p. With ideal (fractional) code lengths −log₂ q(x), it would cost exactly "
           "H(p, q) = H(p) + KL(p ‖ q) bits; "
           "Shannon's code rounds each up to whole bits, so it pays between KL and KL + 1 above H(p), always; Huffman's code for q "
           "is the best for q, usually near that on p but with no such guarantee. An outcome q thinks impossible gets no codeword "
           "at all, so q's codes cannot send it: that is the infinite KL again.")
no_code = "(none)"  # an outcome its distribution calls impossible gets no codeword
codes = pd.DataFrame({"outcome": labels, "p": p, "−log₂ p": surprise, "code for p": [c if c is not None else no_code for c in code_p.codes],
                      "length": code_p.lengths(), "q": q, "code for q": [c if c is not None else no_code for c in code_q.codes],
                      "Shannon length ⌈−log₂ q⌉": costs.shannon_q})
with st.expander("Every outcome's codewords"):
    st.dataframe(codes.head(MAX_EDITABLE), hide_index=True, width="stretch",
                 column_config={"p": st.column_config.NumberColumn(format="%.4f"), "q": st.column_config.NumberColumn(format="%.4f"),
                                "−log₂ p": st.column_config.NumberColumn(format="%.3f")})
leaves = int((p > 0).sum())
if leaves <= MAX_TREE:
    across = prefix_codes.tree_direction(code_p) == "LR"  # a wide tree runs left to right, so its text keeps its size
    middle = st.columns([1, 2, 1])[1] if leaves <= 8 else st.container()  # a small tree drawn full width is all circles
    natural = across or leaves > 12  # drawn at its own size: scaled to the page, a wide tree's text shrinks, a deep one balloons
    middle.graphviz_chart(prefix_codes.huffman_dot(code_p, p, labels), width="content" if natural else "stretch")
    st.caption(f"The code tree for p: a codeword is the path from the root (0 = {'up' if across else 'left'}, "
               f"1 = {'down' if across else 'right'}); circles hold the probability below them. Each leaf reads "
               f"outcome, p, codeword. Likely outcomes sit near the root, so they get short codewords.")
else:
    st.caption(f"The tree has {leaves:,} leaves; it is drawn for up to {MAX_TREE}.")

show_code(info.entropy, info.cross_entropy, info.kl_divergence, info.js_divergence, prefix_codes.huffman_code, prefix_codes.shannon_lengths)
