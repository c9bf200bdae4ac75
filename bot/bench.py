"""`make bench`: concurrent simulated relatives against Vägvisaren and a baseline bot.

Starts the real servers (Rasa + action server + SQLite) on loopback ports, lets N relatives
(default 20) hold multi-turn conversations over the REST channel at the same time, and
measures per-message latency (p50/p95/p99), throughput, errors and the peak memory of the
Rasa and action servers. The same harness then runs against a baseline: the minimal bot
`rasa init` creates (trained once, cached under models/bench-baseline). It also times a
fresh training of Vägvisaren's model. Results: printed, and results/bench.json.

Usage: python -m bot.bench [--relatives N] [--rounds R] [--skip-training]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from bot.launcher import ServerProcesses, answers, free_port, throwaway_overrides
from bot.settings import PROJECT_ROOT, settings

BASELINE_DIR = PROJECT_ROOT / "models/bench-baseline"
RESULTS = PROJECT_ROOT / "results/bench.json"

# One relative's conversation: the story, then questions, as relatives write them.
CONVERSATION = [
    "hej",
    "min son är 16 och har börjat umgås med nazister, jag vet inte vad jag ska göra",
    "vad händer om soc kopplas in",
    "kan de ta honom ifrån oss",
    "hur gör jag en orosanmälan och får han veta att det var jag?",
    "vilka nummer kan jag ringa",
    "tack för hjälpen",
]


@dataclass
class RunResult:
    name: str
    messages: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]

    def summary(self) -> dict:
        return {
            "name": self.name,
            "messages": self.messages,
            "errors": self.errors,
            "throughput_msg_per_s": round(self.messages / self.seconds, 2) if self.seconds else 0,
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "peak_rss_mb": self.peak_rss_mb,
        }


class MemorySampler:
    """Samples the resident memory of the given processes until stopped; keeps the peak."""

    def __init__(self, pids: dict[str, int], interval: float = 0.2):
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = dict.fromkeys(pids, 0.0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, process in self.processes.items():
                try:
                    rss = process.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak[name], rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


async def relative(
    session: aiohttp.ClientSession, url: str, rounds: int, result: RunResult
) -> None:
    for _ in range(rounds):
        sender = uuid.uuid4().hex
        for message in CONVERSATION:
            started = time.perf_counter()
            try:
                async with session.post(url, json={"sender": sender, "message": message}) as reply:
                    body = await reply.json()
                    ok = reply.status == 200 and isinstance(body, list) and body
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                ok = False
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.messages += 1
            result.errors += 0 if ok else 1


async def load(base_url: str, relatives: int, rounds: int, result: RunResult) -> None:
    url = f"{base_url}/webhooks/rest/webhook"
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=relatives)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        # Warm-up: the first messages load lazily initialised parts of the model.
        await relative(session, url, 1, RunResult("warm-up"))
        started = time.perf_counter()
        await asyncio.gather(*(relative(session, url, rounds, result) for _ in range(relatives)))
        result.seconds = time.perf_counter() - started


def measure(
    name: str, base_url: str, pids: dict[str, int], relatives: int, rounds: int
) -> RunResult:
    result = RunResult(name)
    with MemorySampler(pids) as sampler:
        asyncio.run(load(base_url, relatives, rounds, result))
    result.peak_rss_mb = {key: round(value, 1) for key, value in sampler.peak.items()}
    return result


def rasa_env() -> dict[str, str]:
    return {**os.environ, **settings.rasa_environment()}


def bench_vagvisaren(relatives: int, rounds: int, workdir: Path) -> RunResult:
    overrides = throwaway_overrides(workdir)
    with ServerProcesses(overrides, log_dir=workdir / "logs") as servers:
        return measure("vagvisaren", servers.rasa_url, servers.pids(), relatives, rounds)


def ensure_baseline() -> Path:
    """The bot `rasa init` creates, trained once."""
    model = BASELINE_DIR / "models/baseline.tar.gz"
    if not model.exists():
        BASELINE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(BASELINE_DIR)],
            cwd=BASELINE_DIR, env=rasa_env(), check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        newest = max((BASELINE_DIR / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        newest.rename(model)
    return model


def bench_baseline(relatives: int, rounds: int, workdir: Path) -> RunResult:
    model = ensure_baseline()
    port = free_port()
    command = [sys.executable, "-m", "rasa", "run", "--port", str(port), "-i", "127.0.0.1",
               "--model", str(model)]  # fmt: skip
    log = open(workdir / "baseline.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, cwd=BASELINE_DIR, env=rasa_env(), stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 240
        while not answers(f"http://127.0.0.1:{port}/"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"baseline server did not start; see {workdir}/baseline.log")
            time.sleep(0.5)
        return measure("baseline (rasa init)", f"http://127.0.0.1:{port}", {"rasa": process.pid},
                       relatives, rounds)  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def time_training(workdir: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--out", str(workdir / "train"),
         "--fixed-model-name", "bench"],
        # A cache of its own, so nothing trained before is reused: a really fresh training.
        cwd=PROJECT_ROOT, env={**rasa_env(), "RASA_CACHE_DIRECTORY": str(workdir / "cache")},
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def report(results: list[RunResult], training_seconds: float | None) -> dict:
    ours, baseline = (result.summary() for result in results)
    ratio = ours["p95_ms"] / baseline["p95_ms"] if baseline["p95_ms"] else float("nan")
    print(f"\n{'':24s}{'msgs':>7s}{'errors':>8s}{'msg/s':>8s}{'p50 ms':>9s}{'p95 ms':>9s}"
          f"{'p99 ms':>9s}  peak RSS MB")  # fmt: skip
    for row in (ours, baseline):
        print(f"{row['name']:24s}{row['messages']:7d}{row['errors']:8d}"
              f"{row['throughput_msg_per_s']:8.1f}{row['p50_ms']:9.1f}{row['p95_ms']:9.1f}"
              f"{row['p99_ms']:9.1f}  {row['peak_rss_mb']}")  # fmt: skip
    print(f"\np95 ratio Vägvisaren / baseline: {ratio:.2f} (target <= 1.5)")
    if training_seconds is not None:
        print(f"Training time (fresh, {os.cpu_count()} cores): {training_seconds:.0f} s "
              "(target <= 600 s)")  # fmt: skip
    rasa_mb = ours["peak_rss_mb"].get("rasa", 0)
    print(f"Rasa server peak memory: {rasa_mb:.0f} MB (target <= 1536 MB)")
    return {"vagvisaren": ours, "baseline": baseline, "p95_ratio": round(ratio, 2),
            "training_seconds": training_seconds, "cpu_count": os.cpu_count()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relatives", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="conversations per relative")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="vagvisaren-bench-") as tmp:
        workdir = Path(tmp)
        print(f"{args.relatives} relatives x {args.rounds} conversations x "
              f"{len(CONVERSATION)} messages, against each bot...", flush=True)  # fmt: skip
        results = [
            bench_vagvisaren(args.relatives, args.rounds, workdir),
            bench_baseline(args.relatives, args.rounds, workdir),
        ]
        training = None if args.skip_training else time_training(workdir)
        summary = report(results, training)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2))
    print(f"Written to {RESULTS}")
    # The baseline is `rasa init`'s English bot: it gives some Swedish messages no reply at
    # all, which the harness counts as errors. Only Vägvisaren's errors fail the benchmark.
    return 0 if results[0].errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
