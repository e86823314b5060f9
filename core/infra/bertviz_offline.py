"""BertViz's head view and model view as self-contained HTML that draws with no network.

BertViz's HTML loads require.js from cdnjs, and its JavaScript asks require.js for d3 5 and jQuery
2 from cdnjs too, so with no network the views stay blank. We swap that for the same libraries
from maintained packages already installed with the lab:

- d3 v5: `mpld3` ships `mpld3/js/d3.v5.min.js`;
- jQuery (3.x, which BertViz's few `$(...)` calls work with): the `xstatic-jquery` package;
- require.js: not needed — BertViz only calls `require.config(...)` and
  `requirejs(['jquery', 'd3'], callback)`, so a one-line stand-in that hands the two globals to
  the callback is enough.

>>> html = head_view_html([np.full((1, 1, 2, 2), 0.5)], ["a", "b"])
>>> "cdnjs" in html, '<script src="http' in html, REQUIRE_STANDIN in html
(False, False, True)
"""

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from core.errors import Unavailable
from core.infra.models import package_dir

_CDN_SCRIPT = re.compile(r'<script src="https://cdnjs[^"]*require[^"]*"></script>')
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\s*\}\);", re.DOTALL)
REQUIRE_STANDIN = ("window.requirejs = window.require = function (deps, cb) { var m = {jquery: window.jQuery, d3: window.d3}; "
                   "cb.apply(null, deps.map(function (d) { return m[d]; })); }; window.require.config = function () {};")


@lru_cache(maxsize=1)
def libraries() -> dict[str, str]:
    """The JavaScript text of d3 v5 and jQuery, read from their Python packages."""
    mpld3 = package_dir("mpld3")
    d3 = mpld3 / "js" / "d3.v5.min.js" if mpld3 else None
    try:  # xstatic-jquery's own pointer to its data folder
        import xstatic.pkg.jquery as xj
        jquery = Path(xj.BASE_DIR) / "jquery.min.js"
    except ImportError:
        jquery = None
    missing = [name for name, path in (("mpld3 (d3 v5)", d3), ("xstatic-jquery (jQuery)", jquery)) if not path or not path.exists()]
    if missing:
        raise Unavailable(f"BertViz needs JavaScript from these packages to draw offline: {', '.join(missing)}")
    return {"d3": d3.read_text(encoding="utf-8"), "jquery": jquery.read_text(encoding="utf-8")}


def inline(html: str) -> str:
    """Replace BertViz's CDN require.js (and its CDN paths) with inline d3, jQuery and the stand-in."""
    libs = libraries()
    # </script inside the libraries would end our <script> early; escape it the standard way
    scripts = "".join("<script>" + js.replace("</script", "<\\/script") + "</script>\n"
                      for js in (libs["d3"], libs["jquery"], REQUIRE_STANDIN))
    html, n = _CDN_SCRIPT.subn(lambda _: scripts, html)
    if n != 1:
        raise ValueError("BertViz's HTML changed: no require.js <script> to replace")
    return _REQUIRE_CONFIG.sub("", html)


MAX_BERTVIZ_TOKENS = 64  # beyond this the views draw tens of thousands of SVG lines per layer and crawl


def _tensors(weights, n: int, decimals: int = 3) -> list[torch.Tensor]:
    """BertViz wants one (1, heads, L, L) tensor per layer; it writes them into the page as JSON.

    Cut to the first n tokens, and rounded to 3 decimals in float64 so the JSON says 0.012, not
    0.012299999594688416: five times less HTML to parse, no visible change in a line's opacity.
    """
    return [torch.as_tensor(np.round(np.asarray(w, dtype=np.float64)[..., :n, :n], decimals)).reshape(1, -1, n, n)
            for w in weights]


def head_view_html(weights, tokens: list[str], layer: int = 0, max_tokens: int = MAX_BERTVIZ_TOKENS) -> str:
    """BertViz's head view (lines from each token to the ones it attends to), ready for an iframe."""
    from bertviz import head_view

    n = min(len(tokens), max_tokens)
    return inline(head_view(_tensors(weights, n), tokens[:n], layer=layer, html_action="return").data)


# BertViz draws the model view's SVG at a fixed size (970 px wide): in a narrower frame the last
# heads were cut off. Giving the SVG a viewBox and a fluid width scales the whole drawing (and its
# real layout height, which Streamlit sizes the frame by) to the frame; it is redrawn on a change
# of BertViz's filter, so the observer fits each new SVG too.
FIT_WIDTH = """(function () {
  function fit() {
    document.querySelectorAll("#vis > svg").forEach(function (svg) {
      if (svg.hasAttribute("viewBox")) return;
      var w = svg.getAttribute("width"), h = svg.getAttribute("height");
      svg.setAttribute("viewBox", "0 0 " + w + " " + h);
      svg.style.width = "100%"; svg.style.maxWidth = w + "px"; svg.style.height = "auto";
    });
  }
  fit();
  new MutationObserver(fit).observe(document.body, {childList: true, subtree: true});
})();"""


def model_view_html(weights, tokens: list[str], max_tokens: int = MAX_BERTVIZ_TOKENS) -> str:
    """BertViz's model view (a thumbnail per layer and head), scaled to its frame's width, ready for an iframe."""
    from bertviz import model_view

    n = min(len(tokens), max_tokens)
    html = inline(model_view(_tensors(weights, n), tokens[:n], display_mode="light", html_action="return").data)
    return html + "<script>" + FIT_WIDTH + "</script>\n"
