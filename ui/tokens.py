"""Tokens drawn as coloured chips: whitespace made visible, ids underneath, or a colour per value.

    st.markdown(chips(pieces, ids), unsafe_allow_html=True)
    st.markdown(heat_chips(pieces, surprisal_bits, max_value=15), unsafe_allow_html=True)
"""

import html
import math
from collections.abc import Collection

PASTELS = ("#fde2e4", "#e2ece9", "#dfe7fd", "#fff1c1", "#e8dff5", "#d7f2f7", "#fce1c8", "#e4f1d0")
STYLE = ("display:inline-block;margin:2px 1px;padding:1px 4px;border-radius:4px;font-family:monospace;"
         "font-size:0.92em;line-height:1.5;white-space:pre;color:#111")


def visible(piece: str) -> str:
    """Spaces, newlines and tabs as visible marks, so ' the' and 'the' look different."""
    return piece.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


def _chip(text: str, background: str, title: str, below: str = "") -> str:
    sub = f"<br><span style='font-size:0.7em;opacity:0.6'>{html.escape(below)}</span>" if below else ""
    return (f"<span title='{html.escape(title, quote=True)}' style='{STYLE};background:{background};"
            f"text-align:center'>{html.escape(visible(text))}{sub}</span>")


def chips(pieces: list[str], ids: list[int] | None = None, highlight_from: int | None = None, highlight: Collection[int] = ()) -> str:
    """One chip per token in rotating pastels, its id underneath; chips from `highlight_from` on, and those at the
    positions in `highlight`, get a border."""
    out = []
    highlight = set(highlight)
    for i, piece in enumerate(pieces):
        chip = _chip(piece, PASTELS[i % len(PASTELS)], f"token {i}" + (f" · id {ids[i]}" if ids else ""),
                     str(ids[i]) if ids else "")
        if (highlight_from is not None and i >= highlight_from) or i in highlight:
            chip = chip.replace("border-radius:4px", "border-radius:4px;outline:2px solid #e4572e")
        out.append(chip)
    return "<div style='line-height:2.2'>" + "".join(out) + "</div>"


def heat(value: float, max_value: float) -> str:
    """White (0) to deep red (max_value and above); grey for a missing value."""
    if value is None or math.isnan(value):
        return "#e0e0e0"
    t = max(0.0, min(1.0, value / max_value))
    return f"rgba(214, 39, 40, {0.08 + 0.85 * t:.2f})"


def heat_chips(pieces: list[str], values: list[float], max_value: float, unit: str = "bits") -> str:
    """Each token coloured by a value (e.g. its surprisal); hover shows the number."""
    out = [_chip(p, heat(v, max_value), f"{v:.2f} {unit}" if not math.isnan(v) else "no context to predict it")
           for p, v in zip(pieces, values)]
    return "<div style='line-height:2.0'>" + "".join(out) + "</div>"


def merge_chips(left: str, right: str, new: str, new_id: int) -> str:
    """One BPE merge on one line: the two chips of the pair, then the chip of the token they become (outlined)."""
    arrow = "<span style='margin:0 8px;font-size:1.2em'>{}</span>"
    made = _chip(new, PASTELS[2], f"new token · id {new_id}", str(new_id))
    made = made.replace("border-radius:4px", "border-radius:4px;outline:2px solid #e4572e")
    return ("<div style='line-height:2.2'>" + _chip(left, PASTELS[0], "left token") + arrow.format("+")
            + _chip(right, PASTELS[1], "right token") + arrow.format("→") + made + "</div>")
