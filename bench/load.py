"""Load check of the HTTP API: many clients asking at once, against one client asking alone.

Starts the real server (`python -m qa.cli serve`) on a free port of 127.0.0.1 over an index of the
sample corpus, or uses `--url`. Then, in one run on the same machine:
1. baseline: one client asks sequentially for `--baseline-seconds`;
2. load: `--clients` clients ask at once for `--seconds`, each its own rotation of questions.
Every reply must be a 200 whose `question` is the one that client sent (its own answer, not a
neighbour's). Reports errors, p50/p95 latency, requests/s, and load over baseline as ratios, which
mean more than the absolute figures on a shared machine.

    python bench/load.py                      # 20 clients for 60 s, after a 15 s baseline
    python bench/load.py --url http://127.0.0.1:7860 --clients 20 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How many people have left Chechnya to join the fighting in Syria?",
    "How old were the attackers in the Chechnya attacks?",
    "How many gunmen were killed in Grozny?",
    "Where did Russian special forces wipe out an ISIS-linked cell?",
    "What did the special forces find in the raid near Nalchik?",
    "Who refused to confirm Kadyrov's remarks?",
    "Where was Ramzan Kadyrov during the attacks?",
    "What does the video of the Grozny attackers show?",
    "What is the boiling point of liquid nitrogen?",  # an abstention is an answer too
    "Did Kadyrov say Chechen agents infiltrated Islamic State?",
]


@dataclass
class Phase:
    name: str
    clients: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, latency_ms: float, error: str | None) -> None:
        with self.lock:
            if error:
                self.errors.append(error)
            else:
                self.latencies_ms.append(latency_ms)

    def summary(self) -> dict:
        ordered = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) if ordered else 0.0

        total = len(ordered) + len(self.errors)
        return {
            "phase": self.name, "clients": self.clients, "seconds": round(self.seconds, 1),
            "requests": total, "errors": len(self.errors),
            "p50_ms": round(statistics.median(ordered), 1) if ordered else 0.0,
            "p95_ms": pct(0.95), "max_ms": round(ordered[-1], 1) if ordered else 0.0,
            "requests_per_s": round(total / self.seconds, 2) if self.seconds else 0.0,
            "error_samples": sorted(set(self.errors))[:5],
        }


def client_loop(url: str, phase: Phase, offset: int, stop_at: float) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        i = offset
        while time.monotonic() < stop_at:
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            began = time.perf_counter()
            error = None
            try:
                response = client.post("/api/ask", json={"question": question})
                if response.status_code != 200:
                    error = f"HTTP {response.status_code}: {response.text[:200]}"
                elif response.json().get("question") != question:
                    error = "reply to another question"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            phase.record((time.perf_counter() - began) * 1000, error)


def run_phase(url: str, name: str, clients: int, seconds: float) -> Phase:
    phase = Phase(name, clients)
    began = time.monotonic()
    stop_at = began + seconds
    threads = [threading.Thread(target=client_loop, args=(url, phase, n * 3, stop_at)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - began  # includes the requests still running at the deadline
    return phase


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", QA_INDEX_DIR=str(index_dir), QA_CORPUS_DIR=str(ROOT / "docs_corpus"))
    process = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped: {process.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise SystemExit("the server did not become healthy within 300 s")


def report(baseline: dict, load: dict) -> str:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "n/a"

    rows = [
        "| phase | clients | requests | errors | p50 ms | p95 ms | max ms | requests/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in (baseline, load):
        rows.append(f"| {s['phase']} | {s['clients']} | {s['requests']} | {s['errors']} | {s['p50_ms']} | "
                    f"{s['p95_ms']} | {s['max_ms']} | {s['requests_per_s']} |")
    rows.append("")
    rows.append(f"load / baseline: throughput {ratio(load['requests_per_s'], baseline['requests_per_s'])}, "
                f"p50 latency {ratio(load['p50_ms'], baseline['p50_ms'])}, "
                f"p95 latency {ratio(load['p95_ms'], baseline['p95_ms'])}")
    for s in (baseline, load):
        for sample in s["error_samples"]:
            rows.append(f"error in {s['phase']}: {sample}")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description="Load check of POST /api/ask.")
    parser.add_argument("--url", help="a running server; default: start one over the sample corpus")
    parser.add_argument("--index-dir", type=Path, help="index for the started server (default: a fresh temp dir)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline-seconds", type=float, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    process = None
    with tempfile.TemporaryDirectory(prefix="qa-load-") as scratch:
        url = args.url
        if url is None:
            port = free_port()
            print("starting the server (builds the index on first use) ...", file=sys.stderr, flush=True)
            process = start_server(args.index_dir or Path(scratch) / "index", port)
            url = f"http://127.0.0.1:{port}"
        try:
            run_phase(url, "warm-up", 1, 3)  # first requests load lazily built parts; not counted
            print(f"baseline: 1 client for {args.baseline_seconds:g} s ...", file=sys.stderr, flush=True)
            baseline = run_phase(url, "baseline", 1, args.baseline_seconds).summary()
            print(f"load: {args.clients} clients for {args.seconds:g} s ...", file=sys.stderr, flush=True)
            load = run_phase(url, "load", args.clients, args.seconds).summary()
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    print(json.dumps({"baseline": baseline, "load": load}, indent=2) if args.json else report(baseline, load))
    return 1 if baseline["errors"] or load["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
