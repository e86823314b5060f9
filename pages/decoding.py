import time

import pandas as pd
import streamlit as st

from core.llm import generation
from core.llm.generation import CompareConfig, Sampling
from core.llm.prompting import prompt_token_ids, token_pieces
from ui import beam_tree, model_picker, state
from ui.page import friendly_errors, header, show_code, text_box
from ui.tokens import chips, visible
from ui.vega import bars, chart, draw, field, layers

MAX_PROMPT_TOKENS = 512  # this page's own cap: longer prompts keep their last 512 tokens, so a step stays fast
MAX_NEW_TOKENS = 60  # the strategies' longest run: the kept prompt leaves room for it in the context window
TOP_N = 20  # bars in the step view

header(
    "🎲 Prompt a GPT: decoding",
    "A GPT reads your prompt and returns one probability for **every** token of its vocabulary. "
    "Which one gets written is not the model's decision but the **decoder's**: always the likeliest "
    "(greedy), the best few partial texts kept in parallel (beam search), or a random draw from a "
    "reshaped, truncated distribution (temperature, top-k, top-p, min-p). Step through it by hand, "
    "then race the strategies on the same prompt. Everything runs here, offline, on a real 135 M model.",
)

lm = model_picker.pick("causal-lm", key="decoding.model")
prompt = text_box("Prompt", "The best thing about learning a new language is", limit=20_000, area=True, height=80)


with friendly_errors():
    typed = prompt_token_ids(lm.tokenizer, prompt)
    ids = generation.fit_prompt(lm.model, typed, MAX_PROMPT_TOKENS, room=MAX_NEW_TOKENS)  # a long prompt keeps its end
    generation.check_prompt(lm.model, len(ids))  # so only an empty one stops here, with a message
    if len(ids) < len(typed):
        window = generation.context_window(lm.model)
        over = f", more than the {window:,} this model can read at once (its context window)" if len(typed) > window else ""
        st.info(f"The prompt has {len(typed):,} tokens{over}; this page keeps the last {len(ids):,}, the end the model "
                f"continues, so each step stays fast" + ("." if over else f" (the context window is {window:,})."), icon="✂️")
    pieces = token_pieces(lm.tokenizer, ids)

    st.subheader("1 · The prompt, as the model sees it")
    st.markdown(chips(pieces, ids), unsafe_allow_html=True)
    st.caption(f"{len(ids)} tokens (ids underneath; ␣ is a space, ↵ a new line, <0x..> a byte of a character split "
               f"across tokens) out of a vocabulary of {len(lm.tokenizer):,}.")

    # ------------------------------------------------------------------ step by step
    st.subheader("2 · One token at a time")
    st.latex(r"p_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}\quad\text{then keep: top-}k\text{ largest};\ "
             r"\text{smallest set with }\textstyle\sum p \ge \text{top-}p;\ p_i \ge \text{min-}p \cdot \max_j p_j")
    c = st.columns(6)
    s = Sampling(
        temperature=c[0].slider("Temperature T", 0.0, 2.0, 1.0, 0.05, help="0 = greedy: all probability on the likeliest token"),
        top_k=int(c[1].number_input("top-k (0 = off)", 0, 1_000_000, 0, help="keep the k likeliest tokens")),
        top_p=c[2].slider("top-p", 0.0, 1.0, 1.0, 0.01, help="keep the fewest tokens whose probabilities add up to p (1 = off)"),
        min_p=c[3].slider("min-p", 0.0, 1.0, 0.0, 0.01, help="drop tokens less likely than min-p × the likeliest (0 = off)"),
        repetition_penalty=c[4].slider("Repetition penalty", 0.5, 3.0, 1.0, 0.05, help="> 1 discourages tokens already in the text"),
    )
    seed = int(c[5].number_input("Seed", 0, 1_000_000, 0))

    context = (lm.key, tuple(ids))
    if state.recall("decoding.context") != context:  # a new prompt or model starts a new text
        state.remember("decoding.context", context)
        state.remember("decoding.chosen", [])
    chosen: list[int] = state.recall("decoding.chosen")
    text_ids = ids + chosen

    stepper = state.recall("decoding.stepper")
    if stepper is None or stepper.model is not lm.model:  # this user's KV cache: a click costs one token's forward pass
        stepper = generation.Stepper(lm.model)
        state.remember("decoding.stepper", stepper)
    started = time.perf_counter()
    view = generation.next_tokens(stepper(text_ids), text_ids, s, TOP_N)
    step_s = time.perf_counter() - started
    table = view.table.assign(token=[visible(p) for p in token_pieces(lm.tokenizer, view.table.id.tolist())])
    table["label"] = [f"{r} · {t}" for r, t in zip(table["rank"], table.token)]  # unique, in rank order
    table["status"] = table.kept.map({True: "survives the filters", False: "filtered out"})

    left, right = st.columns([3, 2])
    with left:
        y = field("label:N", sort=list(table.label), title=None, axis={"labelOverlap": False, "labelLimit": 220})
        odds = field("p_sample:Q", format=".2%", title="the sampler's odds")
        draw(layers(
            bars(table, field("p_shaped:Q", title="probability after penalty and temperature", axis={"format": "%"}), y,
                 field("status:N", scale={"domain": ["survives the filters", "filtered out"], "range": ["#4c78a8", "#d9d9d9"]},
                       legend={"orient": "bottom", "title": None}),
                 tooltip=["token:N", "id:Q", field("p_model:Q", title="model (T = 1)", format=".2%"),
                          field("p_shaped:Q", title="after penalty + T", format=".2%"), odds]),
            chart(table[table.kept], {"type": "tick", "color": "#e4572e", "thickness": 3, "size": 14}, x="p_sample:Q", y=y, tooltip=[odds]),
            title=f"Next token after {len(text_ids)} tokens", height={"step": 26}))
        st.caption("Blue: the set the sampler draws from; red tick: its renormalised odds. "
                   f"{view.n_kept:,} of {view.vocab:,} tokens survive, holding {view.kept_mass:.1%} of the model's own "
                   f"probability. This step took {step_s * 1000:.0f} ms.")
    with right:
        st.markdown("**The text so far** (your picks outlined)")
        st.markdown(chips(token_pieces(lm.tokenizer, text_ids), highlight_from=len(ids)), unsafe_allow_html=True)
        by_id = table.set_index("id")
        pick = st.selectbox("Pick the next token yourself", table.id.tolist(),
                            format_func=lambda i: by_id.loc[i, "label"] + ("" if by_id.loc[i, "kept"] else "  (filtered)"))
        b = st.columns(2) + st.columns(2)
        if b[0].button("Add it", width="stretch"):
            state.remember("decoding.chosen", chosen + [int(pick)])
            st.rerun()
        if b[1].button("🎲 Sample", width="stretch", help="let the sampler draw from the blue set (seeded: same seed, same draw)"):
            token = generation.sampled_token(stepper(text_ids), text_ids, s, seed, step=len(chosen))
            state.remember("decoding.chosen", chosen + [token])
            st.rerun()
        if b[2].button("Undo", width="stretch", disabled=not chosen):
            state.remember("decoding.chosen", chosen[:-1])
            st.rerun()
        if b[3].button("Clear", width="stretch", disabled=not chosen):
            state.remember("decoding.chosen", [])
            st.rerun()
        st.caption("Picking a filtered token is allowed: you are the decoder now. Temperature 0 or top-p 0 leave one "
                   "survivor: greedy decoding. top-k 1 and min-p 1 keep the likeliest token and any tied with it.")

    # ------------------------------------------------------------------ side by side
    st.subheader("3 · Five strategies, one prompt, one seed")
    with st.form("compare"):
        f = st.columns(6)
        cfg = CompareConfig(
            max_new_tokens=f[0].slider("New tokens", 1, MAX_NEW_TOKENS, 16),
            num_beams=f[1].slider("Beam width", 1, 8, 3),
            temperature=f[2].slider("Sampling: T", 0.05, 2.0, 0.8, 0.05),
            top_k=f[3].slider("top-k: k", 1, 200, 40),
            top_p=f[4].slider("top-p: p", 0.05, 1.0, 0.9, 0.05),
            seed=int(f[5].number_input("Seed ", 0, 1_000_000, 1)),  # seed 1: the samplers share a start, then part ways
        )
        st.form_submit_button("Run the five strategies", type="primary")
    progress = st.progress(0.0, text="Starting…")
    results, runs = {}, generation.strategies(cfg)
    for i, name in enumerate(runs):  # one cached call per strategy, so the bar moves
        progress.progress(i / len(runs), text=f"Decoding: {name}…")
        results[name] = state.cached_with_model(generation.run_strategy)(lm, tuple(ids), cfg, name)
    progress.empty()
    rows = [{"strategy": name, "continuation": lm.tokenizer.decode(r.new_ids), "tokens": len(r.new_ids),
             "total log-prob": r.total_logprob, "perplexity": r.perplexity, "tokens/s": r.tokens_per_s}
            for name, r in results.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"total log-prob": st.column_config.NumberColumn(format="%.2f"),
                                "perplexity": st.column_config.NumberColumn(format="%.2f"),
                                "tokens/s": st.column_config.NumberColumn(format="%.1f")})
    st.caption("Total log-prob = Σ log p(token | before) under the model itself (natural log; closer to 0 = likelier); "
               "perplexity = exp(−mean). Greedy and beam search chase likely text and often loop; samplers trade "
               "likelihood for variety. The three samplers share one seed, so they draw the same random numbers and "
               "part ways only where their filters change the odds.")
    st.latex(r"\log p(y_{1..n} \mid x) = \sum_{t=1}^{n} \log p(y_t \mid x, y_{<t}),\qquad "
             r"\mathrm{PPL} = \exp\!\Big(-\tfrac{1}{n}\textstyle\sum_t \log p(y_t \mid x, y_{<t})\Big)")

    beams = next(r for name, r in results.items() if name.startswith("beam"))
    depth = min(8, cfg.max_new_tokens)
    st.markdown(f"**The beam-search tree** (width {cfg.num_beams}, first {depth} steps): each step scores every beam × "
                f"every token, shows the best {2 * cfg.num_beams} continuations (total log-prob under each token), keeps "
                "the best non-finished ones (blue), banks texts that end (green) and drops the rest (grey). "
                "Red: the winning text.")
    tree_tokens = sorted({n.token for n in beams.nodes})
    tree_pieces = dict(zip(tree_tokens, token_pieces(lm.tokenizer, tree_tokens)))
    st.graphviz_chart(beam_tree.dot(beams, tree_pieces, "…" + "".join(pieces[-4:]), max_depth=depth), width="stretch")

show_code(generation.filter_logits, generation.penalise_repetition, generation.sample, generation.sampled_token, generation.beam_search,
          label="The code: filters, sampling and beam search from scratch (tested against transformers)")
