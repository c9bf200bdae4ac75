"""`make bench`: concurrent simulated relatives against Vägvisaren and a baseline bot.

Starts the real servers (Rasa + action server + SQLite) on loopback ports, lets N relatives
(default 20) hold multi-turn conversations over the REST channel at the same time, and
measures per-message latency (p50/p95/p99), throughput, errors and the peak memory of the
Rasa and action servers. The same harness then runs against a baseline: the minimal bot
`rasa init` creates (trained once, cached under models/bench-baseline). It also times a
fresh training of Vägvisaren's model. Results: printed, and results/bench.json.

The hostile phase (issue 17) runs the same relatives again on the same servers while an
attacker sends messages of the maximum length in the worst shapes for redaction and NLU
(e-mail-like, digit and address-like runs, emoji, control characters; and one over the
limit) as fast as one client can, each from a new conversation and with the limits for
anonymous traffic off, as if from many addresses (the worst case). Reported: the
relatives' p95 with and without the attacker, the slowest request, and the longest time
either server's event loop was held (bot/loop_monitor.py).

Usage: python -m tools.bench [--relatives N] [--rounds R] [--skip-training] [--skip-hostile]
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

from bot import loop_monitor
from bot.launcher import ServerProcesses, answers, free_port, throwaway_overrides
from bot.settings import PROJECT_ROOT, Settings

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


def hostile_messages(max_chars: int) -> list[str]:
    """Messages of exactly the maximum length in the shapes that cost redaction and NLU
    the most, and one just over the limit (refused before any of it)."""

    def fill(unit: str) -> str:
        return (unit * (max_chars // len(unit) + 1))[:max_chars]

    return [
        fill("anna.svensson.karlsson@"),  # e-mail-like, never closed
        fill("a"),
        fill("12345 "),  # postcode-like
        fill("0701234567"),  # a phone number's digits, without end
        fill("Storgatan 12, 123 45 Stad "),  # address-like
        fill("Fatima Hussein "),  # names
        fill("😀"),
        fill("\u202e\u200b\x00\x07a"),  # bidi overrides, zero widths, control characters
        fill("radera vapen syrien 112 "),  # every risk and privacy word at once
        "a" * (max_chars + 1),
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


async def attacker(session: aiohttp.ClientSession, url: str, stop: asyncio.Event, result):
    """One client sending hostile messages back to back until the relatives are done."""
    shapes = hostile_messages(Settings.from_environment().max_message_chars)
    number = 0
    while not stop.is_set():
        message = shapes[number % len(shapes)]
        number += 1
        started = time.perf_counter()
        try:
            async with session.post(
                url, json={"sender": uuid.uuid4().hex, "message": message}
            ) as r:
                await r.read()
                ok = r.status < 500
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ok = False
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.messages += 1
        result.errors += 0 if ok else 1


async def load(
    base_url: str, relatives: int, rounds: int, result: RunResult, hostile: RunResult | None = None
) -> None:
    url = f"{base_url}/webhooks/rest/webhook"
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=relatives + 1)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        # Warm-up: the first messages load lazily initialised parts of the model.
        await relative(session, url, 1, RunResult("warm-up"))
        stop = asyncio.Event()
        attack = asyncio.create_task(attacker(session, url, stop, hostile)) if hostile else None
        started = time.perf_counter()
        await asyncio.gather(*(relative(session, url, rounds, result) for _ in range(relatives)))
        result.seconds = time.perf_counter() - started
        if attack is not None:
            stop.set()
            await attack
            hostile.seconds = result.seconds


def measure(
    name: str,
    base_url: str,
    pids: dict[str, int],
    relatives: int,
    rounds: int,
    hostile: RunResult | None = None,
) -> RunResult:
    result = RunResult(name)
    with MemorySampler(pids) as sampler:
        asyncio.run(load(base_url, relatives, rounds, result, hostile))
    result.peak_rss_mb = {key: round(value, 1) for key, value in sampler.peak.items()}
    return result


@dataclass
class HostileResult:
    calm: RunResult
    attacked: RunResult
    attacker: RunResult
    longest_stall_ms: dict[str, float | None]

    def summary(self) -> dict:
        calm, attacked = self.calm.summary(), self.attacked.summary()
        ratio = attacked["p95_ms"] / calm["p95_ms"] if calm["p95_ms"] else float("nan")
        slowest = max(self.attacked.latencies_ms + self.attacker.latencies_ms, default=0.0)
        return {
            "relatives_p95_ms_without_attacker": calm["p95_ms"],
            "relatives_p95_ms_with_attacker": attacked["p95_ms"],
            "p95_ratio_with_without": round(ratio, 2),
            "relatives_errors_with_attacker": attacked["errors"],
            "attacker_messages": self.attacker.messages,
            "attacker_5xx_or_failed": self.attacker.errors,
            "slowest_request_ms": round(slowest, 1),
            "longest_event_loop_stall_ms": self.longest_stall_ms,
        }


def rasa_env() -> dict[str, str]:
    return {**os.environ, **Settings.from_environment().rasa_environment()}


def bench_vagvisaren(
    relatives: int, rounds: int, workdir: Path, hostile: bool = True
) -> tuple[RunResult, HostileResult | None]:
    stalls = workdir / "loop-stall"
    overrides = {**throwaway_overrides(workdir), "LOOP_STALL_FILE": str(stalls)}
    with ServerProcesses(overrides, log_dir=workdir / "logs") as servers:
        calm = measure("vagvisaren", servers.rasa_url, servers.pids(), relatives, rounds)
        if not hostile:
            return calm, None
        print("Hostile phase: the same relatives while an attacker floods...", flush=True)
        attacker_result = RunResult("attacker")
        attacked = measure(
            "vagvisaren under attack", servers.rasa_url, servers.pids(), relatives, rounds,
            attacker_result,
        )  # fmt: skip
        time.sleep(1)  # the watchers write twice a second
        longest = {
            name: loop_monitor.read(Path(f"{stalls}.{name}.json")) for name in ("rasa", "actions")
        }
        return calm, HostileResult(calm, attacked, attacker_result, longest)


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


def report_hostile(hostile: HostileResult) -> dict:
    summary = hostile.summary()
    print("\nHostile phase (attacker: maximum-length messages of the worst shapes, back to back)")
    print(f"relatives' p95 without / with the attacker: "
          f"{summary['relatives_p95_ms_without_attacker']:.0f} / "
          f"{summary['relatives_p95_ms_with_attacker']:.0f} ms")  # fmt: skip
    print(f"p95 ratio with / without attacker: {summary['p95_ratio_with_without']:.2f} "
          "(target <= 1.5)")  # fmt: skip
    print(f"slowest request: {summary['slowest_request_ms']:.0f} ms (target < 5000 ms)")
    stalls = ", ".join(
        f"{name} {value:.0f} ms" if value is not None else f"{name} not measured"
        for name, value in summary["longest_event_loop_stall_ms"].items()
    )
    print(f"longest event-loop stall: {stalls}")
    print(f"attacker: {summary['attacker_messages']} messages, "
          f"{summary['attacker_5xx_or_failed']} answered 5xx or failed; relatives' errors "
          f"with the attacker: {summary['relatives_errors_with_attacker']}")  # fmt: skip
    return summary


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
    parser.add_argument("--skip-hostile", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="vagvisaren-bench-") as tmp:
        workdir = Path(tmp)
        print(f"{args.relatives} relatives x {args.rounds} conversations x "
              f"{len(CONVERSATION)} messages, against each bot...", flush=True)  # fmt: skip
        ours, hostile = bench_vagvisaren(
            args.relatives, args.rounds, workdir, hostile=not args.skip_hostile
        )
        results = [ours, bench_baseline(args.relatives, args.rounds, workdir)]
        training = None if args.skip_training else time_training(workdir)
        summary = report(results, training)
        if hostile is not None:
            summary["hostile"] = report_hostile(hostile)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2))
    print(f"Written to {RESULTS}")
    # The baseline is `rasa init`'s English bot: it gives some Swedish messages no reply at
    # all, which the harness counts as errors. Only Vägvisaren's errors fail the benchmark.
    failed = results[0].errors or (hostile is not None and hostile.attacked.errors)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
