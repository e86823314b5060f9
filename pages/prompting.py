import pandas as pd
import streamlit as st

from core.infra import data
from core.llm import prompting
from core.llm.prompting import FewShotTask
from ui import model_picker, state
from ui.page import friendly_errors, header, literal, show_code, text_box
from ui.tokens import heat_chips, visible
from ui.vega import bars, chart, draw, field, layers, rule

LENS_ROW_PX = 18  # pixels per layer in the logit lens (SmolLM2 has 31 rows with the embeddings)
MAX_TEXT_TOKENS = 512  # perplexity: score at most this many tokens, so the page stays interactive

header(
    "💬 Prompting, the logit lens, perplexity",
    "The same model answers differently depending on how you ask. Put worked examples in the prompt "
    "(**few-shot**) or wrap the question in the chat format an instruct model was tuned on, and watch "
    "the probability of each answer move, with no training at all. Then look **inside**: the "
    "**logit lens** reads every layer's hidden state through the final norm and the output layer, "
    "showing where the prediction forms. Last, score any text: the model's **surprise** at each token, "
    "and its perplexity.",
)

lm = model_picker.pick("causal-lm", key="prompting.model")


# ---------------------------------------------------------------------- few-shot
st.subheader("1 · Zero-, one-, few-shot, and the chat template")
train = data.sentiment("train")
task = FewShotTask(examples=tuple(zip(train.text[:4], train.label[:4])))
query = text_box("A review to classify", "The plot dragged, but the acting was superb and I'd watch it again.", limit=1000)
with friendly_errors():
    if not query.strip():
        st.info("Type a review to see how each prompt classifies it.")
    else:
        templates, probs = state.cached_with_model(prompting.compare_prompts)(lm, task, query)
        chat_note = "" if prompting.CHAT in templates else " (this model has no chat template: it was not instruction-tuned)"
        colours = field("label:N", title=None, sort=[*task.labels, prompting.OTHER], legend={"orient": "bottom"},
                        scale={"domain": [*task.labels, prompting.OTHER], "range": ["#54a24b", "#e45756", "#d8d8d8"]})
        prompt_axis = field("prompt:N", sort=list(templates), title=None, axis={"labelOverlap": False, "labelLimit": 200})
        raw = prompting.with_the_rest(probs)
        a, b = st.columns(2)
        draw(bars(raw, field("probability:Q", title="the model's own probability", axis={"format": "%"}, scale={"domain": [0, 1]},
                             stack=True), prompt_axis, colours, "What the model says next: the answers, and everything else",
                  height={"step": 40}, order="order:Q",
                  tooltip=["prompt:N", "label:N", field("probability:Q", format=".2%", title="p(continuation | prompt)")]), a)
        draw(bars(probs, field("share:Q", title="share of the two answers' probability", axis={"format": "%"}, scale={"domain": [0, 1]}),
                  prompt_axis, colours, "Renormalised over the two answers", height={"step": 40},
                  tooltip=["prompt:N", "label:N", field("probability:Q", format=".2%", title="p(answer | prompt)"),
                           field("share:Q", format=".1%", title="share of the two")]), b)
        table = probs.pivot(index="prompt", columns="label", values="probability").loc[list(templates)]
        shares = probs.pivot(index="prompt", columns="label", values="share").loc[list(templates)]
        st.caption("Left: the model's raw probability of each answer word (grey: what goes to every other continuation). "
                   "Right: the same two numbers renormalised to sum to 1, the usual way to read a classifier out of an LM: "
                   + "; ".join(f"{name}: " + ", ".join(f"{lab} {table.loc[name, lab]:.1%}" for lab in task.labels)
                               + f" raw → {shares.loc[name, task.labels[0]]:.0%} {task.labels[0]}"
                               for name in table.index) + chat_note + ".")
        tabs = st.tabs(list(templates))
        for tab, prompt in zip(tabs, templates.values()):
            tab.code(prompt, language=None)

        with st.form("accuracy"):
            n_rows = st.slider("Reviews from the lab's held-out sentiment set", 10, 128, 24, step=2)
            run = st.form_submit_button("Measure the accuracy of each prompt")
        if run:
            test = data.sentiment("test").sample(n_rows, random_state=0)
            rows = list(zip(test.text, test.label))
            scores = {}
            bar = st.progress(0.0, text="Scoring…")
            styles = prompting.prompt_styles(task, lm.tokenizer)
            with state.heavy("Measuring the accuracy"):
                for i, (name, make) in enumerate(styles.items()):
                    scores[name] = prompting.few_shot_accuracy(
                        lm.model, lm.tokenizer, task, rows, make, chat=name == prompting.CHAT,
                        on_step=lambda j, m, i=i, name=name: bar.progress((i + j / len(rows)) / len(styles),
                                                                          text=f"{name}: {j}/{len(rows)}"))
            bar.empty()
            state.remember("prompting.accuracy", (lm.key, n_rows, scores))
        measured = state.recall("prompting.accuracy")
        if measured and measured[0] == lm.key:
            scores = measured[2]
            accuracy = pd.DataFrame({"prompt": list(scores), "accuracy": list(scores.values())})
            axis = field("prompt:N", sort=None, title=None, axis={"labelOverlap": False, "labelLimit": 200})
            draw(layers(bars(accuracy, field("accuracy:Q", axis={"format": "%"}, scale={"domain": [0, 1]}), axis),
                        chart(accuracy, {"type": "text", "align": "left", "dx": 4}, x="accuracy:Q", y=axis,
                              text=field("accuracy:Q", format=".0%")),
                        rule(x=0.5, strokeDash=[4, 4], color="gray"),
                        title=f"Accuracy on {measured[1]} held-out reviews (dashed: guessing, 50%)", height={"step": 40}))

# ---------------------------------------------------------------------- logit lens
st.subheader("2 · The logit lens: what each layer would say next")
st.latex(r"\text{lens}_\ell = \operatorname{softmax}\big(W_U \,\operatorname{norm}(h_\ell)\big),\quad \ell = 0 \ldots L")
lens_prompt = text_box("Prompt for the lens", "The Eiffel Tower is in the city of")
with friendly_errors():
    ids = prompting.prompt_token_ids(lm.tokenizer, lens_prompt)
    if not ids:
        st.info("Type a prompt to look inside the model.")
    else:
        positions = min(8, len(ids))
        lens = state.cached_with_model(prompting.logit_lens, 16)(lm, ids[-MAX_TEXT_TOKENS:], 5, positions)
        top1 = lens[lens["rank"] == 1].copy()
        top1["column"] = [f"{p} {visible(t)}" for p, t in zip(top1.position, top1.input)]
        top1["shown"] = top1.token.map(visible)
        columns = list(dict.fromkeys(top1.column))
        layers = sorted(top1.layer.unique(), reverse=True)
        draw({"data": top1, "height": LENS_ROW_PX * len(layers), "encoding": {  # a fixed height per layer: every layer labelled
            "x": field("column:N", sort=columns, title="input position (the lens predicts the token after it)", axis={"labelAngle": -30}),
            "y": field("layer:O", sort=layers, title="layer (0 = embeddings)", axis={"labelOverlap": False}),
            "tooltip": ["layer:O", "input:N", field("shown:N", title="top prediction"), field("probability:Q", format=".1%")]},
            "layer": [chart(None, "rect", color=field("probability:Q", scale={"scheme": "blues", "domain": [0, 1]}, title="p(top)")),
                      chart(None, {"type": "text", "fontSize": 10}, text="shown:N",
                            color={"condition": {"test": "datum.probability > 0.5", "value": "white"}, "value": "black"})]})
        st.caption("Each cell: the token that layer's hidden state would predict next, coloured by its probability. "
                   "Low layers echo the input (SmolLM2 and GPT-2 share the input and output embedding, so layer 0 "
                   "mostly predicts the input token itself); the answer usually settles only in the last few layers.")
        last = lens[lens.position == lens.position.max()]
        wide = last.assign(cell=[f"{visible(t)} ({p:.0%})" for t, p in zip(last.token, last.probability)]) \
            .pivot(index="layer", columns="rank", values="cell").sort_index(ascending=False)
        wide.columns = [f"#{c}" for c in wide.columns]
        st.caption(f"Top 5 next tokens each layer would predict after the last token “{literal(visible(top1.input.iloc[-1]))}”:")
        st.dataframe(wide, width="stretch", height=min(400, 36 + 35 * len(wide)))

# ---------------------------------------------------------------------- perplexity
st.subheader("3 · How surprised is the model? Perplexity of any text")
st.latex(r"\text{surprisal}(t_i) = -\log_2 p(t_i \mid t_{<i})\ \text{bits},\qquad "
         r"\mathrm{PPL} = 2^{\frac{1}{n-1}\sum_{i=2}^{n} \text{surprisal}(t_i)}")
text = text_box("Text to score", "Water boils at 100 degrees Celsius at sea level. Water boils at 100 degrees "
                "Celsius at sea level. The purple elephant negotiated a mortgage with the moon.", limit=20_000, area=True, height=100)
with friendly_errors():
    result = state.cached_with_model(prompting.surprisal, 16)(lm, text, MAX_TEXT_TOKENS)
    if result.truncated:
        st.info(f"Scored the first {len(result.table):,} tokens; {result.truncated:,} more were left out to keep the page fast.", icon="✂️")
    bits = result.table.surprisal_bits
    a, b, c = st.columns(3)
    a.metric("Perplexity", f"{result.perplexity:,.1f}")
    b.metric("Mean surprisal (bits/token)", f"{bits.mean():.2f}")
    c.metric("Tokens scored", f"{bits.notna().sum():,}")
    st.markdown(heat_chips(result.table.token.tolist(), bits.tolist(), max_value=16), unsafe_allow_html=True)
    st.caption("Redder = more surprising (hover for the bits; 16+ bits is the darkest). The first token is grey: "
               "nothing comes before it to predict it. A repeated sentence costs almost nothing the second time: "
               "the model copies from its context (induction heads).")

show_code(prompting.logit_lens, prompting.layer_logits, prompting.answer_logprobs, prompting.surprisal,
          label="The code: logit lens, answer probabilities, surprisal")
