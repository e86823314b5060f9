"""App-level timings: cold start, each page's first render and rerun, and the server's peak memory.

    ./lab bench        (or: .venv/bin/python benchmarks/bench_app.py)

- cold start: from `streamlit run` being launched to the Home page fully rendered in Chromium
  (imports, first script run, browser render);
- first render: opening each page in a fresh browser session on the warm server, until its
  script stops running (includes loading any model the page needs for the first time);
- rerun: AppTest re-running the page's script with unchanged widgets (what a click costs on the
  server), median of 3;
- peak memory: the server process's high-water mark (VmHWM) after every page was visited;
- the machine: CPU count, torch's thread count (the server starts with the same default), the
  load average before and after (the timings are wall-clock, so a busy machine inflates them),
  and the Python, Streamlit, torch and transformers versions.
Writes benchmarks/results/app.json.
"""

import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import streamlit  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.timing import timed  # noqa: E402
from tests.e2e.browser import error_boxes, launch, page_url, streamlit_server, wait_idle  # noqa: E402
from ui.curriculum import all_pages  # noqa: E402

QUIET_S = 0.5  # wait_idle waits this long after the script stops; not part of the render


def proc_status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def browser_timings() -> dict:
    out = {"pages": {}}
    start = time.perf_counter()
    with streamlit_server() as (url, proc), sync_playwright() as p:
        browser = launch(p)
        for i, page_def in enumerate(all_pages()):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(page_url(url, page_def.path))
            wait_idle(page, quiet_s=QUIET_S)
            now = time.perf_counter()
            if i == 0:
                out["cold_start_s"] = round(now - start - QUIET_S, 2)
            out["pages"][page_def.path] = {"first_render_s": round(now - t0 - QUIET_S, 2), "errors": len(error_boxes(page))}
            context.close()
        out["server_peak_rss_mb"] = round(proc_status_mb(proc.pid, "VmHWM"))
        out["server_rss_after_all_pages_mb"] = round(proc_status_mb(proc.pid, "VmRSS"))
        browser.close()
    return out


def rerun_timings() -> dict:
    out = {}
    for page_def in all_pages():
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
        at.switch_page(page_def.path).run()
        out[page_def.path] = round(timed(at.run, repeats=3, warmup=0).wall_s, 3)
    return out


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "streamlit": streamlit.__version__, "torch": torch.__version__, "transformers": transformers.__version__}


def main() -> None:
    load_before = os.getloadavg()[0]
    result = {"machine": machine(), **browser_timings()}
    for path, secs in rerun_timings().items():
        result["pages"][path]["rerun_s"] = secs
    result["machine"]["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    out = ROOT / "benchmarks" / "results" / "app.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    m = result["machine"]
    print(f"{m['cpu_count']} CPUs, torch {m['torch']} with {m['torch_threads']} threads, Python {m['python']}, "
          f"Streamlit {m['streamlit']}; load average {m['load_average_1min'][0]} → {m['load_average_1min'][1]}")
    print(f"cold start to first page: {result['cold_start_s']} s; server peak RSS {result['server_peak_rss_mb']} MB")
    print(f"{'page':40} {'first render s':>15} {'rerun s':>8}")
    for path, row in result["pages"].items():
        print(f"{path:40} {row['first_render_s']:>15} {row['rerun_s']:>8}")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
