"""Many learners on one server: eight browser sessions doing the heaviest things at once, and the server's memory.

    .venv/bin/python benchmarks/bench_concurrency.py            (8 sessions, 3 rounds)
    .venv/bin/python benchmarks/bench_concurrency.py --sessions 2 --rounds 1     (a smoke test)

One `streamlit run` server, driven by real headless-Chromium sessions (tests/e2e/browser.py), each in its own
thread with its own browser, as separate learners are:

1. first visit: one session opens the four heavy pages once (their models load); the server's resident size
   (RSS) then is the reference an idle server should come back to;
2. `--sessions` sessions (default 8), spread over the four heaviest actions of the lab, start each round
   together (a barrier) and do their action `--rounds` times (default 3), each time new work, never a cached answer:
   - a LoRA fine-tune of MiniLM (pages/lora_finetune.py, the page's settings, `--rows` training rows),
   - the five decoding strategies with SmolLM2 (pages/decoding.py, a new seed each round),
   - the 72-head ablation scan (pages/attention_heads.py, a new sentence each round),
   - the prompt accuracy check with SmolLM2 (pages/prompting.py, 10 reviews × 4 prompts);
3. idle: every browser closed, the server left alone for `--idle-s` seconds (default 180), read at 5, 30, 60, 90, 120
   and 150 s and at the end: Streamlit keeps a closed tab's session 120 s (`server.disconnectedSessionTTL`) for a
   reconnect, and the lab's trimmer (ui/state.py, every 10 s) forgets what it kept only after that.

A thread samples the server's RSS from /proc every 0.2 s throughout (its "MB" are MiB: /proc's kB ÷ 1,024; the server's
own log below counts 10⁶ bytes). Targets (a Community Cloud app has about
2.7 GB): peak < 2.5 GB; idle within 300 MB of the first visit. The heavy-work gate (core/infra/admission.py,
LLM_LAB_HEAVY_SLOTS, default 2) is what keeps the peak down: the others wait in its queue, told so.
The machine may be shared: the JSON records the load average, and every action's wall time includes its wait.
The server writes what its allocator holds every 10 s (LLM_LAB_MEMORY_LOG: resident size, malloc's bytes in use and
free, the cached results' bytes, the sessions whose results it keeps), summarised in the JSON.
Writes benchmarks/results/concurrency.json and the server's log benchmarks/results/concurrency-memory.jsonl.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.browser import error_boxes, launch, page_url, streamlit_server, wait_idle  # noqa: E402

PEAK_TARGET_MB = 2500
IDLE_TARGET_MB = 300  # above the first visit
ACTION_TIMEOUT_S = 900  # one action, its wait for a slot included
HEADS_TEXT = "The cat sat on the mat because it was tired, and the dog, who had chased it all morning, finally went to sleep."


def status_mb(pid: int, field: str = "VmRSS") -> float:
    """A size from /proc/PID/status in MB: VmRSS (resident), RssAnon (of it: the process's own memory), RssFile (mapped files)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int) -> float:
    return status_mb(pid, "VmRSS")


def malloc_heaps(pid: int) -> int:
    """How many 64 MB heaps glibc's extra malloc arenas have reserved (each arena one or more; the main arena, on
    brk, not counted): an aligned read-write mapping followed by its reserved remainder, 64 MB together."""
    spans = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) == 5:  # anonymous: no path
            start, end = (int(x, 16) for x in fields[0].split("-"))
            spans.append((start, end, fields[1]))
    size = 64 << 20
    return sum(1 for (s, e, perm), nxt in zip(spans, spans[1:] + [(0, 0, "")])
               if s % size == 0 and perm == "rw-p" and (e - s == size or (nxt[0] == e and nxt[2] == "---p" and nxt[1] - s == size)))


class Sampler:
    """The server's RSS every `every_s` seconds, in a thread; `peak(since)` the most since a moment."""

    def __init__(self, pid: int, every_s: float = 0.2):
        self.pid, self.every_s, self.samples = pid, every_s, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), rss_mb(self.pid)))
            self._stop.wait(self.every_s)

    def peak(self, since: float) -> float:
        return max(mb for t, mb in self.samples if t >= since)

    def now(self) -> float:
        return rss_mb(self.pid)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def done(page, timeout_s: float = ACTION_TIMEOUT_S, quiet_s: float = 2) -> None:
    """Wait until the page's script has stopped running for `quiet_s` in a row. Only the server's work counts here, not the
    browser's drawing (tests/e2e/browser.wait_idle also waits for every chart to be drawn, which eight browsers on two
    loaded cores may not finish: a first run of this benchmark hung there, with the server idle)."""
    app = page.locator('[data-testid="stApp"]')
    deadline, quiet_since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        if app.get_attribute("data-test-script-state") != "notRunning":
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the script still runs after {timeout_s:.0f} s")


def started(page, timeout_s: float = 20) -> None:
    """Wait until the script runs after a click (a loaded machine may take seconds to start it); fine if it already ended."""
    try:
        page.wait_for_function("document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') "
                               "=== 'running'", timeout=timeout_s * 1000)
    except Exception:  # noqa: BLE001 (a Playwright timeout: the run was over before we looked)
        pass


def submit(page, button: str) -> None:
    page.get_by_role("button", name=button).click()
    started(page)


def finetune(rows: int):
    def act(page, session: int, round_: int) -> None:
        if round_ == 0:
            page.get_by_role("spinbutton", name="Training rows (at most)").fill(str(rows))
            page.keyboard.press("Tab")  # commits the number without submitting the form
        submit(page, "Fine-tune with LoRA")
    return act


def decoding(page, session: int, round_: int) -> None:
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Run the five strategies"))
    form.get_by_role("spinbutton", name="Seed").fill(str(1000 + 10 * session + round_))  # a new seed: new work, not a cached answer
    page.keyboard.press("Tab")
    submit(page, "Run the five strategies")


def heads_scan(page, session: int, round_: int) -> None:
    box = page.get_by_role("textbox", name="Your sentence")
    box.fill(f"{HEADS_TEXT} Learner {session}, round {round_}.")  # a new sentence: a new scan, not a cached one
    box.press("Control+Enter")
    started(page)
    if round_ == 0:
        done(page)
        page.get_by_role("tab", name="Switch heads off").click()
        page.get_by_text("Scan all 72 heads", exact=False).click()  # stays on: later sentences are scanned at once
        started(page)


def prompt_accuracy(page, session: int, round_: int) -> None:
    if round_ == 0:  # the fewest reviews the form allows (10 × 4 prompts): the memory is one forward pass's, the time is not
        page.get_by_role("slider", name="Reviews from the lab's held-out sentiment set").focus()
        page.keyboard.press("Home")
    submit(page, "Measure the accuracy of each prompt")


def actions(rows: int) -> dict:
    return {"lora fine-tune": ("pages/lora_finetune.py", finetune(rows)), "five decoding strategies": ("pages/decoding.py", decoding),
            "72-head scan": ("pages/attention_heads.py", heads_scan), "prompt accuracy": ("pages/prompting.py", prompt_accuracy)}


def first_visit(url: str) -> dict:
    """One learner opens each heavy page once: the models load, nothing heavy is asked for yet."""
    seconds = {}
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(ACTION_TIMEOUT_S * 1000)
        for path in dict.fromkeys(path for path, _ in actions(8).values()):
            t0 = time.perf_counter()
            page.goto(page_url(url, path))
            wait_idle(page, timeout_s=ACTION_TIMEOUT_S)
            seconds[path] = round(time.perf_counter() - t0, 1)
        browser.close()
    return seconds


class Rounds:
    """Every learner starts a round together; none starts one after the time budget is spent (all stop alike)."""

    def __init__(self, learners: int, budget_s: float):
        self.deadline, self.over = time.monotonic() + budget_s, False
        self.barrier = threading.Barrier(learners, action=self._check)

    def _check(self) -> None:  # run once per round, by the last learner to arrive
        self.over = time.monotonic() > self.deadline

    def start(self) -> bool:
        self.barrier.wait(ACTION_TIMEOUT_S)
        return not self.over


def learner(url: str, session: int, name: str, path: str, act, rounds: int, together: Rounds, out: list) -> None:
    """One learner in its own browser: open the page, then `rounds` times (all learners starting each round together) the action."""
    record = {"session": session, "action": name, "seconds": [], "errors": []}
    out.append(record)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(ACTION_TIMEOUT_S * 1000)  # eight browsers starting at once on a loaded machine: not 30 s
            page.goto(page_url(url, path))
            page.wait_for_selector('[data-testid="stMain"] h1')
            done(page)
            for round_ in range(rounds):
                if not together.start():
                    record["errors"].append(f"time budget spent: {rounds - round_} round(s) not run")
                    break
                t0 = time.perf_counter()
                act(page, session, round_)
                done(page)
                record["seconds"].append(round(time.perf_counter() - t0, 1))
                record["errors"] += error_boxes(page)
                print(f"session {session} ({name}) round {round_ + 1}: {record['seconds'][-1]} s", flush=True)
            browser.close()
    except Exception as e:  # noqa: BLE001 (recorded and reported: one learner failing must not hide the others' figures)
        record["errors"].append(f"{type(e).__name__}: {str(e)[:300]}")
        together.barrier.abort()


def summarise(log: Path, t0_wall: float) -> dict:
    """The server's own log (core.infra.memory.Trimmer): its largest figures during the rounds, and its last line."""
    try:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    except OSError:
        return {}
    if not lines:
        return {}
    during = [r for r in lines if r["time"] >= t0_wall] or lines
    keys = [k for k in lines[-1] if k.endswith("_mb") or k == "sessions_kept"]
    return {"ticks": len(lines), "gave_back_mb_total": round(sum(r.get("gave_back_mb", 0) for r in lines)),
            "most_after_first_visit": {k: max(r.get(k, 0) for r in during) for k in keys}, "last": lines[-1]}


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout`: stop the server and the browsers on the way out
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=64, help="training rows of each fine-tune (the page's box; it holds up to 2,000): "
                    "the memory of a step depends on the batch (32) and the length (64 tokens), not on the rows")
    ap.add_argument("--budget-s", type=float, default=3600, help="no round starts after this many seconds (a shared machine)")
    ap.add_argument("--idle-s", type=float, default=180, help="seconds idle before the last reading: Streamlit keeps a closed "
                    "tab's session 120 s for a reconnect, so what the learners kept is freed only after that")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    result = {"sessions": args.sessions, "rounds": args.rounds, "finetune_rows": args.rows,
              "heavy_slots": os.environ.get("LLM_LAB_HEAVY_SLOTS", "2 (default)"), "cpu_count": os.cpu_count()}
    plan = list(actions(args.rows).items())
    memory_log = ROOT / "benchmarks" / "results" / "concurrency-memory.jsonl"
    memory_log.parent.mkdir(parents=True, exist_ok=True)
    memory_log.unlink(missing_ok=True)
    os.environ["LLM_LAB_MEMORY_LOG"] = str(memory_log)  # the server inherits it (tests/e2e/browser.streamlit_server)
    with streamlit_server(timeout_s=120) as (url, proc):
        sampler = Sampler(proc.pid)
        result["rss_started_mb"] = round(sampler.now())
        result["first_visit_s"] = first_visit(url)
        time.sleep(15)  # the trimmer's ticks (10 s) apply to this reading as to the idle ones
        result["rss_first_visit_mb"] = round(sampler.now())
        result["rss_anon_first_visit_mb"] = round(status_mb(proc.pid, "RssAnon"))
        print(f"server started at {result['rss_started_mb']} MB; after the first visit of the heavy pages "
              f"{result['rss_first_visit_mb']} MB", flush=True)

        records: list = []
        together = Rounds(args.sessions, args.budget_s)
        t0, t0_wall = time.monotonic(), time.time()
        threads = []
        for s in range(args.sessions):
            name, (path, act) = plan[s % len(plan)]  # the four actions in turn: two learners each with 8 sessions
            threads.append(threading.Thread(target=learner, args=(url, s, name, path, act, args.rounds, together, records), daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result["concurrent_s"] = round(time.monotonic() - t0, 1)
        result["rss_peak_mb"] = round(sampler.peak(t0))
        result["malloc_arena_heaps"] = malloc_heaps(proc.pid)
        result["rss_after_work_mb"] = round(sampler.now())
        idle, idle_anon = {}, {}
        t_idle = time.monotonic()
        for wait in sorted({5, 30, 60, 90, 120, 150, args.idle_s}):
            if wait > args.idle_s:
                continue
            time.sleep(max(0.0, t_idle + wait - time.monotonic()))
            idle[f"{wait:g}s"] = round(sampler.now())
            idle_anon[f"{wait:g}s"] = round(status_mb(proc.pid, "RssAnon"))
            print(f"idle {wait:g} s: {idle[f'{wait:g}s']} MB", flush=True)
        result["rss_idle_mb"] = idle
        result["rss_anon_idle_mb"] = idle_anon
        result["rss_idle_final_mb"] = idle[f"{args.idle_s:g}s"]
        sampler.stop()
        result["rss_series_mb"] = [[round(t - t0, 1), round(mb)] for t, mb in sampler.samples[::5]]
    result["learners"] = sorted(records, key=lambda r: r["session"])
    result["server_memory_log"] = summarise(memory_log, t0_wall)
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result["peak_ok"] = result["rss_peak_mb"] < PEAK_TARGET_MB
    result["idle_ok"] = result["rss_idle_final_mb"] - result["rss_first_visit_mb"] < IDLE_TARGET_MB
    out = ROOT / "benchmarks" / "results" / "concurrency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))

    for r in result["learners"]:
        print(f"session {r['session']} {r['action']:26} seconds per round {r['seconds']}  errors {len(r['errors'])}")
    print(f"{args.sessions} sessions × {args.rounds} rounds in {result['concurrent_s']} s (load average "
          f"{result['load_average_1min'][0]} → {result['load_average_1min'][1]} on {os.cpu_count()} CPUs)")
    print(f"server RSS: first visit {result['rss_first_visit_mb']} MB, peak {result['rss_peak_mb']} MB "
          f"(target < {PEAK_TARGET_MB}: {'ok' if result['peak_ok'] else 'MISSED'}), idle {result['rss_idle_mb']}, after {args.idle_s:g} s "
          f"{result['rss_idle_final_mb']} MB (target within {IDLE_TARGET_MB} MB of the first visit: "
          f"{'ok' if result['idle_ok'] else 'MISSED'})")
    print(f"wrote {out.relative_to(ROOT)}")
    failed = any(r["errors"] or len(r["seconds"]) < args.rounds for r in result["learners"])
    sys.exit(1 if failed or not (result["peak_ok"] and result["idle_ok"]) else 0)


if __name__ == "__main__":
    main()
