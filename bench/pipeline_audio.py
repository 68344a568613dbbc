"""The parent's helpers of bench/pipeline.py: the test calls, the measured child processes, and
the figures and report. The bench's children never import this module (they may run another
checkout's code, whose ``bench`` package lacks it).

Calls of any length, built reproducibly from the evaluation corpus: the stereo calls of one
company (``var/corpus/*.json`` labels: ``company``, ``layout``), sorted by name, agent on the
left (an agent-right call's channels are swapped), at 8 kHz, concatenated (looped as needed) and
cut to the exact length: that is the **stereo** call; **mono** is its mix-down (the mean of the
two channels, as ``pipelines.batch.prepare_layout`` mixes).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

logger = logging.getLogger("bench.pipeline")

RATE = 8000  # telephone audio, as the corpus is
MIN_COMPANY_S = 60.0  # a company with less stereo audio falls back to every company's calls
STEREO_LAYOUTS = ("stereo-agent-left", "stereo-agent-right")
WARMUP_MIN = 0.5  # the warm children's first pass: the calls of this length


@dataclass(frozen=True, slots=True)
class SourceCall:
    """One corpus call used as material: its audio file and whether the agent is on the right."""

    path: Path
    agent_right: bool


def company_calls(corpus: Path, company: str) -> tuple[list[SourceCall], str]:
    """The sorted stereo calls of ``company``, and the company whose policy applies; every
    company's stereo calls (and ``""``) when it has fewer than ``MIN_COMPANY_S`` seconds."""
    every: list[tuple[str, SourceCall]] = []
    for label_path in sorted(corpus.glob("*.json")):
        label = json.loads(label_path.read_text(encoding="utf-8"))
        audio = label_path.with_suffix(".wav")
        if label.get("layout") in STEREO_LAYOUTS and audio.is_file():
            source = SourceCall(audio, label["layout"] == "stereo-agent-right")
            every.append((str(label.get("company") or ""), source))
    chosen = [call for owner, call in every if owner == company]
    if sum(sf.info(str(c.path)).duration for c in chosen) >= MIN_COMPANY_S:
        return chosen, company
    logger.warning(
        "%s has too little stereo audio in %s: using every company's calls", company, corpus
    )
    if not every:
        raise FileNotFoundError(f"no stereo corpus calls in {corpus} (run `make corpus`)")
    return [call for _, call in every], ""


def read_stereo(call: SourceCall, rate: int = RATE) -> np.ndarray:
    """A corpus call as float32 frames × 2 (agent, customer) at ``rate``."""
    samples, source_rate = sf.read(str(call.path), dtype="float32", always_2d=True)
    if samples.shape[1] != 2:
        raise ValueError(f"{call.path} has {samples.shape[1]} channels, not 2")
    if call.agent_right:
        samples = samples[:, ::-1]
    if source_rate != rate:
        samples = soxr.resample(samples, source_rate, rate)
    return np.ascontiguousarray(samples, dtype=np.float32)


def concatenate(parts: list[np.ndarray], frames: int) -> np.ndarray:
    """``parts`` one after another, looped until there are ``frames``, cut to exactly that."""
    if frames <= 0 or not parts or not any(len(p) for p in parts):
        raise ValueError("need a positive length and some audio")
    out: list[np.ndarray] = []
    have = 0
    while have < frames:
        for part in parts:
            out.append(part[: frames - have])
            have += len(out[-1])
            if have >= frames:
                break
    return np.concatenate(out)


def mixdown(stereo: np.ndarray) -> np.ndarray:
    """The mono mix-down: the mean of the channels."""
    return np.asarray(stereo.mean(axis=1), dtype=np.float32)


def audio_name(company: str, minutes: float, layout: str) -> str:
    return f"{company or 'corpus'}-{minutes:g}min-{layout}.wav"


def build_calls(
    sources: list[SourceCall], company: str, minutes: list[float], out: Path, rate: int = RATE
) -> dict[tuple[float, str], Path]:
    """The stereo and mono call of each length in ``out`` ({(minutes, layout): path}); a file
    already there with the right number of frames is reused."""
    out.mkdir(parents=True, exist_ok=True)
    parts: list[np.ndarray] | None = None
    files: dict[tuple[float, str], Path] = {}
    for length in minutes:
        frames = round(length * 60 * rate)
        stereo_path = out / audio_name(company, length, "stereo")
        mono_path = out / audio_name(company, length, "mono")
        if not all(_has_frames(p, frames, rate) for p in (stereo_path, mono_path)):
            if parts is None:
                parts = [read_stereo(call, rate) for call in sources]
            stereo = concatenate(parts, frames)
            sf.write(str(stereo_path), stereo, rate, subtype="PCM_16")
            sf.write(str(mono_path), mixdown(stereo), rate, subtype="PCM_16")
            logger.info("built %s and %s", stereo_path.name, mono_path.name)
        files[(length, "stereo")], files[(length, "mono")] = stereo_path, mono_path
    return files


def _has_frames(path: Path, frames: int, rate: int) -> bool:
    if not path.is_file():
        return False
    info = sf.info(str(path))
    return bool(info.frames == frames and info.samplerate == rate)


# --- child processes


def run_measured(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> dict[str, Any]:
    """Run a new process; its wall seconds and own peak RSS (``os.wait4``), stdout, exit code."""
    with tempfile.TemporaryFile("w+") as out, log.open("a", encoding="utf-8") as err:
        err.write(f"$ {' '.join(command)}\n")
        err.flush()
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return {
            "wall_s": wall,
            "peak_mib": usage.ru_maxrss / 1024,
            "exit": proc.returncode,
            "stdout": out.read()[-2000:],
        }


class WarmChild:
    """A warm child: ``run()`` times one pass of its file, ``finish()`` gives its peak RSS."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log, self.label = log, " ".join(command[2:4])
        with log.open("a", encoding="utf-8") as err:
            err.write(f"$ {' '.join(command)}\n")
        self.err = log.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
        )
        self.ready: dict[str, Any] = {}

    def wait_ready(self) -> None:
        """Wait for the model load and the warm-up pass; their seconds are in ``ready``."""
        self.ready = self.read()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                body = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(body, dict):
                return body
        raise RuntimeError(f"{self.label} ended; see {self.log}")

    def run(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self.read()

    def finish(self) -> dict[str, Any]:
        """Ask the child to end; its load and warm-up seconds and its own peak RSS."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        final = self.read()
        self.proc.wait()
        self.err.close()
        return {**self.ready, "peak_mib": final["peak_mib"]}

    def close(self) -> None:
        """End the child now if it still runs (after an error)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


# --- figures and report


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values given (``None`` ones left out), ``None`` when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(ours: float | None, bare: float | None) -> float | None:
    return ours / bare if ours is not None and bare else None


def parties(record_path: Path) -> dict[str, Any]:
    """Segments per role and the languages of a ``callqa analyze --json`` record."""
    if not record_path.is_file():
        return {}
    record = json.loads(record_path.read_text(encoding="utf-8"))
    roles: dict[str, int] = {}
    for segment in record.get("segments") or []:
        role = str(segment.get("role") or "unknown")
        roles[role] = roles.get(role, 0) + 1
    return {"roles": roles, "languages": record.get("languages")}


def stage_medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median seconds per progress step, then per analytics stage (``analytics/NAME``), over
    the warm pipeline's runs (a step missing from a run took 0 s in it)."""
    per_run = [
        {**r.get("stages", {}), **{f"analytics/{k}": v for k, v in r.get("analytics", {}).items()}}
        for r in runs
    ]
    names = list(dict.fromkeys(name for run in per_run for name in run))
    return {name: statistics.median(run.get(name, 0.0) for run in per_run) for name in names}


def row_figures(row: dict[str, Any]) -> dict[str, Any]:
    """Medians and ratios (pipeline / bare) of one call's runs, and its warm real-time factor."""
    figures: dict[str, Any] = {}
    for side, key in (("bare", "bare"), ("pipeline", "ours")):
        cold = [r for r in row["cold"].get(side, []) if r.get("exit") == 0]
        warm = row["warm"].get(side) or {}
        figures[f"cold_{key}_s"] = median(r["wall_s"] for r in cold)
        figures[f"cold_{key}_mib"] = median(r["peak_mib"] for r in cold)
        figures[f"warm_{key}_s"] = median(r["wall_s"] for r in warm.get("runs", []))
        figures[f"warm_{key}_mib"] = warm.get("peak_mib")
        figures[f"load_{key}_s"], figures[f"first_{key}_s"] = (
            warm.get("load_s"),
            warm.get("warmup_s"),
        )
    for what in ("cold_{}_s", "warm_{}_s", "cold_{}_mib", "warm_{}_mib"):
        ours, bare = figures[what.format("ours")], figures[what.format("bare")]
        figures[what.format("ratio")] = ratio(ours, bare)
    figures["rtf"] = ratio(row["audio_s"], figures["warm_ours_s"])
    pipeline = row["warm"].get("pipeline") or {}
    figures["stages"] = stage_medians(pipeline.get("runs", []))
    figures["first_stages"] = stage_medians([pipeline.get("warmup") or {}])
    return figures


KEY = ["length", "layout"]
WARM_HEAD = ["bare warm s", "ours warm s", "ratio"]
LOADS = ["bare load s", "bare first s", "ours load s", "ours first s"]


def _cell(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(cells) + " |" for cells in rows),
    ]


def render(summary: dict[str, Any]) -> str:
    """The report: times, peak memory, the warm pipeline's stages, the parties it found."""
    rows = summary["rows"]
    times, memory, stages, found = [], [], [], []
    for row in rows:
        f, key = row["figures"], [f"{row['minutes']:g} min", row["layout"]]
        times.append(
            [*key, f"{row['audio_s']:.0f}", str(row["repeats"])]
            + [_cell(f[k]) for k in ("cold_bare_s", "cold_ours_s")]
            + [_cell(f["cold_ratio_s"], ".2f")]
            + [_cell(f[k]) for k in ("warm_bare_s", "warm_ours_s")]
            + [_cell(f["warm_ratio_s"], ".2f"), _cell(f["rtf"], ".2f")]
        )
        memory.append(
            [*key]
            + [_cell(f[k], ".0f") for k in ("cold_bare_mib", "cold_ours_mib")]
            + [_cell(f["cold_ratio_mib"], ".2f")]
            + [_cell(f[k], ".0f") for k in ("warm_bare_mib", "warm_ours_mib")]
            + [_cell(f["warm_ratio_mib"], ".2f")]
            + [_cell(f[k]) for k in ("load_bare_s", "first_bare_s", "load_ours_s", "first_ours_s")]
        )
        total, first = f["warm_ours_s"], f["first_stages"]
        for name in dict.fromkeys([*f["stages"], *first]):
            seconds = f["stages"].get(name)
            share = f"{100 * seconds / total:.0f}%" if total and seconds is not None else "-"
            stages.append([*key, name, _cell(seconds, ".2f"), share, _cell(first.get(name), ".2f")])
        party = row.get("parties") or {}
        found.append([*key, json.dumps(party.get("roles")), json.dumps(party.get("languages"))])
        if row["warm"].get("error"):
            found[-1].append(f"warm runs failed: {row['warm']['error']}")
    lines = [
        f"# The batch pipeline against bare faster-whisper: {summary['name']}",
        "",
        f"Checkout {summary['root']}; company {summary['company']} ({len(summary['sources'])} "
        f"corpus calls); whisper {summary['model_dir']}, int8, cpu_threads "
        f"{summary['cpu_threads']}, {summary['cpu_count']} cores; "
        f"translate {summary['translate']}.",
        "Cold: a new process per run. Warm: loaded once, after a warm-up pass. Medians; ratio is "
        "pipeline / bare; RTF is audio seconds per wall second of the warm pipeline.",
        "",
        *_table(
            [*KEY, "audio s", "runs", "bare cold s", "ours cold s", "ratio", *WARM_HEAD, "RTF"],
            times,
        ),
        "",
        "Peak RSS (MiB); the warm children's load and first (warm-up) pass seconds:",
        "",
        *_table(
            [*KEY, "bare cold", "ours cold", "ratio", "bare warm", "ours warm", "ratio", *LOADS],
            memory,
        ),
        "",
        "Warm pipeline stages (median s, share of its wall time; analytics/* are within "
        f"analytics), and of its first pass (the {WARMUP_MIN:g}-minute call, lazy loads):",
        "",
        *_table([*KEY, "stage", "s", "share", "first pass s"], stages),
        "",
        "Cold pipeline record: segments per role, languages:",
        "",
        *_table([*KEY, "roles", "languages"], found),
    ]
    return "\n".join(lines)
