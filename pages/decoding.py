import time

import pandas as pd
import streamlit as st

from core.infra.data import csv_safe
from core.llm import generation
from core.llm.generation import CompareConfig, Sampling
from core.llm.prompting import prompt_token_ids, token_pieces
from ui import beam_tree, model_picker, state
from ui.page import friendly_errors, header, show_code, text_box, text_table
from ui.tokens import chips, visible
from ui.vega import bars, chart, draw, field, layers

MAX_PROMPT_TOKENS = 512  # this page's own cap: longer prompts keep their last 512 tokens, so a step stays fast
MAX_NEW_TOKENS = 60  # the strategies' longest run: the kept prompt leaves room for it in the context window
TOP_N = 20  # bars in the step view
AUTOPLAY_TICK_S = 0.8  # a token every 0.8 s: slow enough to watch the bars change
SURVIVES, FILTERED, MODEL = "survives the filters", "filtered out", "the model's own p (T = 1)"


def next_token_chart(table: pd.DataFrame, n_tokens: int) -> dict:
    """The step view: the model's own probabilities as grey bars behind, the shaped ones in front (blue: the set the
    sampler draws from), the sampler's odds as red ticks, and the running total of the model's probabilities."""
    y = field("label:N", sort=list(table.label), title=None, axis={"labelOverlap": False, "labelLimit": 220, "labelFlush": False})
    colours = field("status:N", scale={"domain": [MODEL, SURVIVES, FILTERED], "range": ["#c8c8c8", "#4c78a8", "#9ecae9"]},
                    legend={"orient": "bottom", "title": None})
    odds = field("p_sample:Q", format=".2%", title="the sampler's odds")
    tips = ["token:N", "id:Q", field("p_model:Q", title="model (T = 1)", format=".2%"),
            field("p_shaped:Q", title="after penalty + T", format=".2%"), odds, field("cum_model:Q", title="running total", format=".1%")]
    ghost = chart(table.assign(status=MODEL), {"type": "bar", "opacity": 0.7}, x="p_model:Q", y=y, color=colours, tooltip=tips)
    return layers(
        ghost,
        bars(table, field("p_shaped:Q", title="probability", axis={"format": "%"}, scale={"domain": [0, 1]}), y, colours,
             tooltip=tips) | {"mark": {"type": "bar", "height": {"band": 0.5}}},
        chart(table[table.kept], {"type": "tick", "color": "#e4572e", "thickness": 3, "size": 14}, x="p_sample:Q", y=y, tooltip=[odds]),
        chart(table, {"type": "line", "point": True, "color": "black", "strokeDash": [4, 3], "strokeWidth": 1},
              x="cum_model:Q", y=y, tooltip=tips),
        title=f"Next token after {n_tokens} tokens", height={"step": 26})

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
        state.remember("decoding.autoplay", False)

    stepper = state.recall("decoding.stepper")
    if stepper is None or stepper.model is not lm.model:  # this user's KV cache: a click costs one token's forward pass
        stepper = generation.Stepper(lm.model)
        state.remember("decoding.stepper", stepper)
    if state.recall("decoding.autoplay.stop"):  # autoplay reached its end on the last tick
        state.remember("decoding.autoplay.stop", False)
        state.remember("decoding.autoplay", False)
    autoplay = st.toggle(f"▶ Autoplay: the sampler writes a token every {AUTOPLAY_TICK_S:g} s (up to {MAX_NEW_TOKENS} tokens)",
                         key="decoding.autoplay")

    @st.fragment(run_every=AUTOPLAY_TICK_S if autoplay else None)
    def one_step() -> None:  # a fragment: a button or a tick redraws this step view only, not the whole page
        if autoplay:
            chosen = state.recall("decoding.chosen")
            if len(chosen) >= MAX_NEW_TOKENS or (chosen and chosen[-1] == lm.tokenizer.eos_token_id):
                state.remember("decoding.autoplay.stop", True)
                st.rerun(scope="app")  # the whole page again, so the toggle goes off and the ticking stops
            add_sampled(1)
        chosen: list[int] = state.recall("decoding.chosen")
        text_ids = ids + chosen
        started = time.perf_counter()
        view = generation.next_tokens(stepper(text_ids), text_ids, s, TOP_N)
        step_s = time.perf_counter() - started
        table = view.table.assign(token=[visible(p) for p in token_pieces(lm.tokenizer, view.table.id.tolist())])
        table["label"] = [f"{r} · {t}" for r, t in zip(table["rank"], table.token)]  # unique, in rank order
        table["status"] = table.kept.map({True: SURVIVES, False: FILTERED})
        left, right = st.columns([3, 2])
        with left:
            draw(next_token_chart(table, len(text_ids)))
            m = st.columns(2)
            m[0].metric("Model's uncertainty H(p)", f"{view.entropy_model:.2f} bits",
                        help="Entropy of the model's own next-token distribution (T = 1, the whole vocabulary)")
            m[1].metric("Left to the sampler", f"{view.entropy_sample:.2f} bits",
                        help="Entropy of what the sampler draws from, after penalty, temperature and filters: 0 = no choice")
            st.caption(f"Grey: the model's own probabilities (T = 1), kept at every temperature; blue: after penalty and "
                       f"temperature, the set the sampler draws from; red tick: its renormalised odds; dashed line: the "
                       f"running total of the model's own probabilities down the list (top-p at T = 1 keeps the tokens "
                       f"until it passes p). {view.n_kept:,} of {view.vocab:,} tokens survive, holding {view.kept_mass:.1%} "
                       f"of the model's own probability. This step took {step_s * 1000:.0f} ms.")
        with right:
            st.markdown("**The text so far** (your picks outlined)")
            st.markdown(chips(token_pieces(lm.tokenizer, text_ids), highlight_from=len(ids)), unsafe_allow_html=True)
            by_id = table.set_index("id")
            st.selectbox("Pick the next token yourself", table.id.tolist(), key="decoding.pick",
                         format_func=lambda i: by_id.loc[i, "label"] + ("" if by_id.loc[i, "kept"] else "  (filtered)"))
            b = st.columns(2) + st.columns(2)
            b[0].button("Add it", width="stretch", on_click=add_picked)
            b[1].button("🎲 Sample", width="stretch", on_click=add_sampled, args=(1,),
                        help="let the sampler draw from the blue set (seeded: same seed, same draw)")
            b[2].button("Undo", width="stretch", disabled=not chosen, on_click=state.remember, args=("decoding.chosen", chosen[:-1]))
            b[3].button("Clear", width="stretch", disabled=not chosen, on_click=state.remember, args=("decoding.chosen", []))
            g = st.columns([1, 2], vertical_alignment="bottom")
            n = int(g[0].number_input("N", 1, MAX_NEW_TOKENS, 10, key="decoding.n"))
            g[1].button(f"Generate {n} tokens", width="stretch", on_click=add_sampled, args=(n,),
                        help="N draws of the sampler in a row, the same as N clicks on 🎲 Sample")
            st.caption("Picking a filtered token is allowed: you are the decoder now. Temperature 0 or top-p 0 leave one "
                       "survivor: greedy decoding. top-k 1 and min-p 1 keep the likeliest token and any tied with it.")

    def add_picked() -> None:
        state.remember("decoding.chosen", state.recall("decoding.chosen") + [int(state.recall("decoding.pick"))])

    def add_sampled(n: int) -> None:
        chosen = state.recall("decoding.chosen")
        new = generation.sample_on(stepper, ids + chosen, n, s, seed, len(chosen), lm.tokenizer.eos_token_id)
        state.remember("decoding.chosen", chosen + new)

    one_step()

    def race_results(cfg: CompareConfig, results: dict) -> None:
        rows = [{"strategy": name, "continuation": lm.tokenizer.decode(r.new_ids), "tokens": len(r.new_ids),
                 "total log-prob": r.total_logprob, "perplexity": r.perplexity, "tokens/s": r.tokens_per_s}
                for name, r in results.items()]
        text_table(csv_safe(pd.DataFrame(rows)), {"total log-prob": ".2f", "perplexity": ".2f", "tokens/s": ".1f"})
        st.caption("Total log-prob = Σ log p(token | before) under the model itself (natural log; closer to 0 = likelier); "
                   "perplexity = exp(−mean). Greedy and beam search chase likely text and often loop; samplers trade "
                   "likelihood for variety. The three samplers share one seed, so they draw the same random numbers and "
                   "part ways only where their filters change the odds. tokens/s: each strategy timed on its own, one after "
                   "the other, on this shared machine.")
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
        race = st.form_submit_button("Run the five strategies", type="primary")
    if race:  # the race runs on its button only: a new prompt above costs one step, not five decodings
        progress = st.progress(0.0, text="Starting…")
        results, runs = {}, generation.strategies(cfg)
        for i, name in enumerate(runs):  # one cached call per strategy, so the bar moves
            progress.progress(i / len(runs), text=f"Decoding: {name}…")
            results[name] = state.cached_with_model(generation.run_strategy, heavy=True)(lm, tuple(ids), cfg, name)
        progress.empty()
        state.remember("decoding.race", (context, cfg, results))
    raced = state.recall("decoding.race")
    if not raced or raced[0] != context:
        st.info("Press **Run the five strategies** to decode this prompt with greedy, beam search and three samplers.", icon="🏁")
    else:
        race_results(*raced[1:])

show_code(generation.filter_logits, generation.penalise_repetition, generation.sample, generation.sampled_token, generation.beam_search,
          label="The code: filters, sampling and beam search from scratch (tested against transformers)")
