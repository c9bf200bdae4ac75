"""`make bench`: concurrent simulated relatives against Vägvisaren and a baseline bot.

Starts the real servers (Rasa + action server + SQLite) on loopback ports, lets N relatives
(20, then 50) hold multi-turn conversations over the REST channel at the same time, and
measures per-message latency (p50/p95/p99), throughput, errors and the peak memory of the
Rasa and action servers. The same harness then runs against a baseline: the minimal bot
`rasa init` creates (trained once, cached under models/bench-baseline). It also times a
fresh training of Vägvisaren's model. Every figure is printed beside its target (issue 21),
the ratios to the baseline in lines scripts read ("p95 ratio Vägvisaren / baseline: N",
"throughput ratio Vägvisaren / baseline: N", for 20 relatives). Results: results/bench.json.

The hostile phase (issue 17) runs the same relatives again on the same servers while an
attacker sends messages of the maximum length in the worst shapes for redaction and NLU
(e-mail-like, digit and address-like runs, emoji, control characters; and one over the
limit) as fast as one client can, each from a new conversation and with the limits for
anonymous traffic off, as if from many addresses (the worst case). Reported: the
relatives' p95 with and without the attacker, the slowest request, and the longest time
either server's event loop was held (bot/loop_monitor.py).

Usage: python -m tools.bench [--relatives N [N ...]] [--rounds R] [--skip-training]
                             [--skip-hostile]
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
    levels: list[int], rounds: int, workdir: Path, hostile: bool = True
) -> tuple[dict[int, RunResult], HostileResult | None]:
    """Each level of concurrent relatives on the same servers (peak memory per level: the
    higher level's peak includes the lower's), then the hostile phase at the first level."""
    stalls = workdir / "loop-stall"
    overrides = {**throwaway_overrides(workdir), "LOOP_STALL_FILE": str(stalls)}
    with ServerProcesses(overrides, log_dir=workdir / "logs") as servers:
        calm = {
            relatives: measure("vagvisaren", servers.rasa_url, servers.pids(), relatives, rounds)
            for relatives in levels
        }
        if not hostile:
            return calm, None
        print("Hostile phase: the same relatives while an attacker floods...", flush=True)
        attacker_result = RunResult("attacker")
        attacked = measure(
            "vagvisaren under attack", servers.rasa_url, servers.pids(), levels[0], rounds,
            attacker_result,
        )  # fmt: skip
        time.sleep(1)  # the watchers write twice a second
        longest = {
            name: loop_monitor.read(Path(f"{stalls}.{name}.json")) for name in ("rasa", "actions")
        }
        return calm, HostileResult(calm[levels[0]], attacked, attacker_result, longest)


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


def bench_baseline(levels: list[int], rounds: int, workdir: Path) -> dict[int, RunResult]:
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
        return {
            relatives: measure(
                "baseline (rasa init)",
                f"http://127.0.0.1:{port}",
                {"rasa": process.pid},
                relatives,
                rounds,
            )  # fmt: skip
            for relatives in levels
        }
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


# Issue 21's targets, measured side by side with the baseline in one run.
P95_RATIO_TARGET = 1.0
THROUGHPUT_RATIO_TARGET = 1.5
RASA_RSS_TARGET_MB = 1200
ACTIONS_RSS_TARGET_MB = 400
TRAINING_TARGET_SECONDS = 240
NLU_MACRO_F1_TARGET = 0.90
NLU_REPORT = PROJECT_ROOT / "results/nlu-cross-validation/intent_report.json"


def ratios(ours: dict, baseline: dict) -> tuple[float, float]:
    """(p95 ratio, throughput ratio) of Vägvisaren to the baseline."""
    nan = float("nan")
    p95 = ours["p95_ms"] / baseline["p95_ms"] if baseline["p95_ms"] else nan
    rate = baseline["throughput_msg_per_s"]
    throughput = ours["throughput_msg_per_s"] / rate if rate else nan
    return round(p95, 2), round(throughput, 2)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _table(rows: list[dict]) -> None:
    print(f"\n{'':30s}{'msgs':>7s}{'errors':>8s}{'msg/s':>8s}{'p50 ms':>9s}{'p95 ms':>9s}"
          f"{'p99 ms':>9s}  peak RSS MB")  # fmt: skip
    for row in rows:
        print(f"{row['name']:30s}{row['messages']:7d}{row['errors']:8d}"
              f"{row['throughput_msg_per_s']:8.1f}{row['p50_ms']:9.1f}{row['p95_ms']:9.1f}"
              f"{row['p99_ms']:9.1f}  {row['peak_rss_mb']}")  # fmt: skip


def report_level(relatives: int, ours: dict, baseline: dict, first: bool) -> dict:
    ours = {**ours, "name": f"vagvisaren, {relatives} relatives"}
    baseline = {**baseline, "name": f"baseline, {relatives} relatives"}
    _table([ours, baseline])
    p95, throughput = ratios(ours, baseline)
    # The first level's lines are the ones scripts read; the others name their level.
    label = "" if first else f" at {relatives} relatives,"
    print(f"p95 ratio{label} Vägvisaren / baseline: {p95:.2f} "
          f"(target <= {P95_RATIO_TARGET}: {verdict(p95 <= P95_RATIO_TARGET)})")  # fmt: skip
    print(f"throughput ratio{label} Vägvisaren / baseline: {throughput:.2f} "
          f"(target >= {THROUGHPUT_RATIO_TARGET}: "
          f"{verdict(throughput >= THROUGHPUT_RATIO_TARGET)})")  # fmt: skip
    return {"relatives": relatives, "vagvisaren": ours, "baseline": baseline,
            "p95_ratio": p95, "throughput_ratio": throughput}  # fmt: skip


def last_cross_validation() -> float | None:
    """The macro F1 of the last `make eval-nlu` on this checkout (the bench does not run the
    cross-validation: it takes many times longer than the bench)."""
    try:
        return json.loads(NLU_REPORT.read_text())["macro avg"]["f1-score"]
    except (OSError, ValueError, KeyError):
        return None


def report(
    ours: dict[int, RunResult], baseline: dict[int, RunResult], training_seconds: float | None
) -> dict:
    levels = [
        report_level(relatives, ours[relatives].summary(), baseline[relatives].summary(), i == 0)
        for i, relatives in enumerate(ours)
    ]
    peak = {
        name: max(result.peak_rss_mb.get(name, 0.0) for result in ours.values())
        for name in ("rasa", "actions")
    }
    baseline_peak = max(result.peak_rss_mb.get("rasa", 0.0) for result in baseline.values())
    print(
        f"\nRasa server peak memory: {peak['rasa']:.0f} MB (target <= {RASA_RSS_TARGET_MB} "
        f"MB: {verdict(peak['rasa'] <= RASA_RSS_TARGET_MB)}; baseline {baseline_peak:.0f} MB)"
    )
    print(
        f"Action server peak memory: {peak['actions']:.0f} MB (target <= "
        f"{ACTIONS_RSS_TARGET_MB} MB: {verdict(peak['actions'] <= ACTIONS_RSS_TARGET_MB)})"
    )
    if training_seconds is not None:
        print(f"Training time (fresh, {os.cpu_count()} cores): {training_seconds:.0f} s "
              f"(target <= {TRAINING_TARGET_SECONDS} s: "
              f"{verdict(training_seconds <= TRAINING_TARGET_SECONDS)})")  # fmt: skip
    f1 = last_cross_validation()
    if f1 is None:
        print("NLU cross-validated macro F1: not measured here (make eval-nlu)")
    else:
        print(
            f"NLU cross-validated macro F1 (last make eval-nlu): {f1:.3f} "
            f"(target >= {NLU_MACRO_F1_TARGET}: {verdict(f1 >= NLU_MACRO_F1_TARGET)})"
        )
    first = levels[0]
    return {
        "levels": levels,
        "p95_ratio": first["p95_ratio"],
        "throughput_ratio": first["throughput_ratio"],
        "peak_rss_mb": peak,
        "baseline_peak_rss_mb": baseline_peak,
        "training_seconds": training_seconds,
        "nlu_macro_f1": f1,
        "cpu_count": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relatives", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--rounds", type=int, default=3, help="conversations per relative")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-hostile", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="vagvisaren-bench-") as tmp:
        workdir = Path(tmp)
        levels = " and ".join(str(n) for n in args.relatives)
        print(f"{levels} relatives x {args.rounds} conversations x "
              f"{len(CONVERSATION)} messages, against each bot...", flush=True)  # fmt: skip
        ours, hostile = bench_vagvisaren(
            args.relatives, args.rounds, workdir, hostile=not args.skip_hostile
        )
        baseline = bench_baseline(args.relatives, args.rounds, workdir)
        training = None if args.skip_training else time_training(workdir)
        summary = report(ours, baseline, training)
        if hostile is not None:
            summary["hostile"] = report_hostile(hostile)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2))
    print(f"Written to {RESULTS}")
    # The baseline is `rasa init`'s English bot: it gives some Swedish messages no reply at
    # all, which the harness counts as errors. Only Vägvisaren's errors fail the benchmark.
    failed = any(result.errors for result in ours.values()) or (
        hostile is not None and hostile.attacked.errors
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
