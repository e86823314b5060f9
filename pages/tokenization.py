import streamlit as st

from core.infra import data
from core.lm import bpe, bpe_demo
from ui import live, state, vega
from ui.page import friendly_errors, header, literal, show_code
from ui.tokens import chips, merge_chips, visible

CORPORA = {"Python's reference manual": "python-docs", "Synthetic Markov text": "markov", "Text you type": "typed",
           "A file you upload": "upload", "Tiny Shakespeare (online)": "tiny-shakespeare"}
PATTERNS = {"GPT-4's (cl100k)": "gpt4", "GPT-2's": "gpt2", "None: the whole text is one sequence": None}
TYPED_DEFAULT = ("The cat sat on the mat. The cat ate the rat. Then the cat sat on the hat, and the rat ran at the cat. "
                 "That is that.")
SHOWN_TOKENS = 400  # chips drawn per tokenizer; the counts always cover the whole text
TRAIN_KEY = "bpe.train"
DEFAULT = bpe.BPEConfig(vocab_size=512, pattern="gpt4", special_tokens=("<|endoftext|>",))  # what a first visit shows

header(
    "🧱 Tokenization: byte-pair encoding",
    "A language model reads **tokens**, not characters. GPT-2, GPT-4, Llama and SmolLM2 cut text with **byte-pair "
    "encoding** (BPE): start from the 256 possible bytes of UTF-8, so any text at all can be written; then, again and "
    "again, find the pair of neighbouring tokens that occurs most often in a training text and make it one new token "
    "(a *merge*). After a few thousand merges, frequent words are one token and rare ones several pieces. Train one here, "
    "watch every merge change the text, and compare it with the tokenizers of real models.",
)
st.latex(r"(a, b) = \arg\max_{(x, y)} \operatorname{count}(x\,y) \qquad \text{vocab}[\text{new}] = \text{vocab}[a] + \text{vocab}[b]"
         r"\qquad \text{compression} = \frac{\text{bytes}}{\text{tokens}}")

# ----------------------------------------------------------------------------- 1 · train
st.subheader("1 · Train a tokenizer")
corpus = st.radio("Training text", list(CORPORA), horizontal=True, key="bpe.corpus")
source = CORPORA[corpus]
with st.form("bpe.form"):
    c1, c2, c3 = st.columns([2, 2, 3])
    vocab_size = c1.slider("Vocabulary size", 256, 4096, DEFAULT.vocab_size, step=16, key="bpe.vocab",
                           help="256 single bytes + the merges + the special tokens. 256 means no merges at all.")
    pattern_name = c2.selectbox("Split first with", list(PATTERNS), list(PATTERNS.values()).index(DEFAULT.pattern), key="bpe.pattern",
                                help="A regex cuts the text into words, numbers, punctuation and spaces first; merges never cross "
                                     "those cuts. With none, a merge may swallow the space between two words.")
    specials_typed = c3.text_input("Special tokens (separated by spaces)", " ".join(DEFAULT.special_tokens), key="bpe.specials",
                                   help="Strings kept whole, never merged, each with its own id (e.g. a document separator).")
    typed = st.text_area("Your training text", TYPED_DEFAULT, height=120, max_chars=200_000, key="bpe.typed") if source == "typed" else ""
    submitted = st.form_submit_button("Train", type="primary")
upload = st.file_uploader("A UTF-8 text file to train on", type=["txt", "md", "py", "csv", "json"], key="bpe.upload") \
    if source == "upload" else None

result = live.last(TRAIN_KEY)
with friendly_errors():
    if result is None and state.recall(f"{TRAIN_KEY}.history") is None and not submitted:
        # the first visit shows the defaults trained once per server (the same for everyone: the manual, 512, GPT-4's split)
        manual = state.text("python-docs")
        result = state.cached(bpe.fit)(DEFAULT, manual)
        state.remember(TRAIN_KEY, result)
        state.remember("bpe.sample", bpe_demo.training_sample(manual))
        state.remember("bpe.source", f"Python's reference manual: {len(manual):,} characters")
    if source == "upload" and upload is None:
        st.info("Upload a text file, then press Train.", icon="📄")
    elif submitted:
        if source == "typed":
            text = typed
        elif source == "upload":
            text = data.text_from_upload(upload.getvalue(), upload.name)
        else:
            text = state.text(source)
        config = bpe.BPEConfig(vocab_size, PATTERNS[pattern_name], bpe_demo.parse_special_tokens(specials_typed))
        bpe.check_training(text, config.vocab_size, config.special_tokens)  # refuse bad input before the progress bar starts
        state.remember("bpe.sample", bpe_demo.training_sample(text))
        state.remember("bpe.source", f"{corpus}: {len(text):,} characters")
        state.remember("bpe.run", state.recall("bpe.run", 0) + 1)
        result = live.train(TRAIN_KEY, lambda on_step: bpe.fit(config, text, on_step), total_steps=max(config.n_merges, 1),
                            metrics=("bytes_per_token",))

if result is not None:
    tok, steps, h = result.tokenizer, result.steps, result.history
    m = st.columns(5)
    m[0].metric("Merges learned", f"{len(steps):,}")
    m[1].metric("Vocabulary", f"{tok.vocab_size:,}", help=f"256 bytes + {len(steps):,} merges + {len(tok.special_tokens)} special tokens")
    m[2].metric("Bytes per token", f"{result.bytes_per_token:.2f}",
                help="On the training text: its UTF-8 bytes divided by its tokens after the last merge (1.00 with no merges).")
    m[3].metric("Trained on", f"{result.corpus_bytes / 1e3:,.1f} kB", help=state.recall("bpe.source", ""))
    m[4].metric("Merges per second", f"{h.last('steps_per_s'):,.0f}" if h.steps else "–")
    if result.cut:
        st.info(f"The text is long, so the tokenizer trained on its first {result.corpus_chars:,} characters.", icon="✂️")
    if result.ran_out:
        st.warning(result.ran_out_message(), icon="⚠️")

    # ------------------------------------------------------------------------- 2 · step through the merges
    st.subheader("2 · Step through the merges")
    if not steps:
        st.info("No merges (the vocabulary holds only the 256 bytes and the special tokens): every byte is its own token.", icon="ℹ️")
    else:
        table = bpe_demo.merge_table(result)
        at = f"bpe.step.{state.recall('bpe.run', 0)}"  # a new slider for each training run: its range changes
        if state.recall(at) is None:
            state.remember(at, min(10, len(steps)))
        b1, b2, b3 = st.columns([1, 10, 1])
        b1.button("◀", key="bpe.prev", help="One merge back", on_click=lambda: state.remember(at, max(0, state.recall(at) - 1)))
        b3.button("▶", key="bpe.next", help="One merge on", on_click=lambda: state.remember(at, min(len(steps), state.recall(at) + 1)))
        k = b2.slider("After merge", 0, len(steps), key=at)
        view = bpe_demo.sample_after(result, state.recall("bpe.sample", ""), k)
        newest = ""
        if k:
            row = table.iloc[k - 1]
            st.markdown(f"**Merge {k:,}** of {len(steps):,}: this pair occurred **{row['count']:,}** times in the training text "
                        f"and becomes token **{row['id']}**.")
            st.markdown(merge_chips(row["left"], row["right"], row["token"], int(row["id"])), unsafe_allow_html=True)
            newest = f"; the newest token, {literal(visible(row['token']))}, appears {len(view.new_positions)} times (outlined in red)"
        st.markdown(chips(view.pieces, view.ids, highlight=view.new_positions), unsafe_allow_html=True)
        st.caption(f"The start of the training text after {k:,} merge{'s' * (k != 1)}: {view.n_bytes:,} bytes in {len(view.ids):,} tokens "
                   f"({view.bytes_per_token:.2f} bytes per token){newest}. ␣ is a space, ↵ a new line.")

        curve = bpe_demo.compression_curve(result)
        tip = [vega.field("step:Q", title="merge"), vega.field("vocab_size:Q", title="vocabulary"),
               vega.field("bytes_per_token:Q", title="bytes per token", format=".3f")]
        vega.draw({
            "title": "A bigger vocabulary, fewer tokens: compression of the training text", "height": 260,
            "layer": [
                {"data": vega.values(curve), "mark": {"type": "line"}, "encoding": {
                    "x": vega.field("vocab_size:Q", title="vocabulary size (256 bytes + merges)"),
                    "y": vega.field("bytes_per_token:Q", title="bytes per token", scale={"zero": False}), "tooltip": tip}},
                {"data": vega.values(curve[curve.step == k]), "mark": {"type": "point", "filled": True, "size": 100, "color": "#e4572e"},
                 "encoding": {"x": vega.field("vocab_size:Q"), "y": vega.field("bytes_per_token:Q"), "tooltip": tip}},
            ]})
        st.caption(bpe_demo.compression_caption(result, k))
        shown = table.assign(left=table.left.map(visible), right=table.right.map(visible), token=table.token.map(visible))
        st.dataframe(data.csv_safe(shown.iloc[max(0, k - 6): k + 5]), hide_index=True, width="stretch",
                     column_config={"bytes_per_token": st.column_config.NumberColumn("bytes per token", format="%.3f"),
                                    "vocab_size": st.column_config.NumberColumn("vocabulary")})
        with st.expander(f"All {len(steps):,} merges"):
            st.dataframe(data.csv_safe(shown), hide_index=True, width="stretch")

# ----------------------------------------------------------------------------- 3 · save and load
st.subheader("3 · Save and load")
left, right = st.columns(2)
if result is not None:
    left.download_button("Download your tokenizer (JSON)", result.tokenizer.to_json(), file_name="bpe-tokenizer.json",
                         mime="application/json",
                         help="BPETokenizer.load(path) reads it back; the GPT and language-model pages can train on its tokens.")
saved = right.file_uploader("Load a tokenizer JSON", type=["json"], key="bpe.load")
state.remember("bpe.loaded", None)
with friendly_errors():
    if saved is not None:
        loaded = bpe.BPETokenizer.from_json(data.text_from_upload(saved.getvalue(), saved.name))
        state.remember("bpe.loaded", loaded)
        right.success(f"Loaded {literal(saved.name)}: {loaded.vocab_size:,} ids, {len(loaded.merges):,} merges. "
                      "Section 4 uses it as yours.", icon="📂")

# ----------------------------------------------------------------------------- 4 · compare
st.subheader("4 · Your tokenizer beside real ones")
preset = st.selectbox("Text to encode", ["Your own text", *bpe_demo.PRESETS], index=1, key="bpe.preset")
text = st.text_area("Text", bpe_demo.PRESETS.get(preset, "Type anything here."), height=140, max_chars=20_000, key=f"bpe.text.{preset}")
mine = state.recall("bpe.loaded") or (result.tokenizer if result is not None else None)
cuts, notes = [], []
if mine is not None:
    cuts.append(bpe_demo.cut(mine, text, "yours (loaded)" if state.recall("bpe.loaded") else "yours"))
for real, title in bpe_demo.REAL_TOKENIZERS.items():
    if real == "gpt2" and not state.hub_reachability().ok:
        notes.append(f"GPT-2's tokenizer comes from the Hugging Face Hub, which is out of reach here: {state.hub_reachability().reason}.")
        continue
    with friendly_errors():
        ours_real, reference = state.shared(bpe_demo.load_real)(real)
        cuts.append(bpe_demo.cut(ours_real or reference, text, title))
        if ours_real is not None:
            same = bpe_demo.same_ids(ours_real, reference, text)
            notes.append(f"{title}: cut by the lab's own BPE code with the model's vocabulary, merges and split regex, giving "
                         + ("exactly the ids of its Hugging Face tokenizer." if same else "DIFFERENT ids from its Hugging Face tokenizer."))
if not text:
    st.info("Type some text to encode.", icon="⌨️")
elif cuts:
    st.dataframe(bpe_demo.comparison(cuts), hide_index=True, width="stretch")
    st.caption(bpe_demo.comparison_caption(cuts))
    for c in cuts:
        st.markdown(f"**{c.name}**: {c.n_tokens:,} tokens, {c.bytes_per_token:.2f} bytes per token"
                    + (f" (the first {SHOWN_TOKENS} shown)" if c.n_tokens > SHOWN_TOKENS else ""))
        st.markdown(chips(c.pieces[:SHOWN_TOKENS], c.ids[:SHOWN_TOKENS]), unsafe_allow_html=True)
    st.caption("Each token's id sits under it. WordPiece lower-cases, strips accents, marks a word's continuation with ## "
               "and writes [UNK] for what its vocabulary cannot spell; byte-level BPE can spell anything, byte by byte if it must "
               "(<0xE2> is one byte of a character split across tokens).")
for note in notes:
    st.caption(note)

show_code(bpe.BPETrainer, bpe.BPETokenizer.apply_merges, bpe.train_naive)
