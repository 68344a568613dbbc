"""What the contact center learns, measured through ``callqa serve`` on the evaluation corpus.

A real ``callqa serve`` (one job worker, embedded SQLite in a temp dir) gets the corpus calls
(``make corpus``: ``var/corpus/*.json`` and the driver set's ``var/corpus/drivers/*.json``, each
call's audio beside its label) uploaded over HTTP as a telephony platform would send them: the
company's policy, the layout, and metadata with the agent, the caller's number (``caller``), the
accent group and the channel. Two customers call twice (``REPEATS``: the second call of each
pair comes from the same number written another way). When every job is done the bench reads, as a
QA analyst would:

- each served record's summary against the corpus reference (ROUGE-L of the English summary
  and of the reason, outcome accuracy; bench/accuracy_metrics.py ``score_summary``), per split;
- ``GET /v1/analytics/drivers``: drivers found, calls placed in one, and purity (the share of
  placed calls whose reference is their driver's most common one: a driver-set call's reference
  is its ground-truth ``driver``, a main-corpus call's its expected topic); and the same over
  the driver-set calls alone (``driver_set``: the main corpus has about one call per reason, so
  only the driver set, several customers per reason, shows whether drivers form);
- the repeat contacts: the planned pairs found in ``metrics.repeat_contact``, and any other;
- ``GET /v1/analytics/fcr?group_by=driver``, ``/fairness?group_by=accent_group|language`` and
  ``/alerts`` as served (printed; the corpus spans minutes, so no volume alert is expected).

    .venv/bin/python bench/insights.py [--root CHECKOUT] [--name NAME] [--only ID ...]

Output: var/insights/NAME/{summary.json,report.md,server.log}. ``--root`` serves another
checkout (PYTHONPATH=root); a route it lacks is reported as absent.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Collection
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.accuracy_metrics import Counts, score_summary  # noqa: E402
from bench.live_server import Server, store_policies  # noqa: E402

logger = logging.getLogger("bench.insights")
CORPUS = ROOT / "var" / "corpus"
DRIVER_SET = CORPUS / "drivers"  # the driver set (samples/corpus_drivers.py)
POLICIES = "samples/corpus/policies/{company}.yaml"
# (first call, second call): the same customer, the second time from the number written otherwise
REPEATS = (
    ("harbor-late-table", "harbor-oakhurst-careshield"),
    ("alder-lost-card-long", "alder-french-fraud"),
)
SPLITS = ("tuning", "held-out", "real", "drivers")


def caller_of(call_id: str, index: int) -> str:
    """A made-up caller number per call; a repeat's second call writes the first's otherwise."""
    for number, (first, second) in enumerate(REPEATS):
        if call_id == first:
            return f"+44 7700 90{number:04d}"
        if call_id == second:
            return f"07700 90{number:04d}"
    return f"+1 202 555 {index:04d}"


def labels(only: list[str] | None) -> list[dict[str, Any]]:
    """The corpus labels, then the driver set's; each gets ``_audio``, the path of its call's
    audio (beside the label). The repeats' first calls come first, the driver set last, so the
    main corpus's calls keep their order (and their made-up caller numbers)."""
    found: list[dict[str, Any]] = []
    for path in [*sorted(CORPUS.glob("*.json")), *sorted(DRIVER_SET.glob("*.json"))]:
        label = json.loads(path.read_text(encoding="utf-8"))
        if "turns" in label and (not only or label["id"] in only):
            found.append(label | {"_audio": str(path.parent / f"{label['id']}.wav")})
    first = {a for a, _ in REPEATS}
    return sorted(
        found,
        key=lambda label: (label["id"] not in first, "driver" in label, label["id"]),
    )


def reference_of(label: dict[str, Any]) -> str:
    """What a call's driver should gather it with: its ground-truth driver (the driver set),
    else its expected topic (the main corpus); ``?`` when it has neither."""
    expected = label.get("expected") or {}
    return str(label.get("driver") or expected.get("topic") or label.get("topic") or "?")


def upload(
    client: httpx.Client, label: dict[str, Any], index: int, policies: dict[str, str]
) -> tuple[str, str]:
    company = label.get("company") or ""
    fields = {
        "metadata": json.dumps(
            {
                "agent": f"{company or 'sample'}-agent",
                "caller": caller_of(label["id"], index),
                "accent_group": label.get("accent_group") or "unknown",
                "channel": "phone",
            }
        ),
        "layout": label.get("layout") or "stereo-agent-left",
    }
    policy = policies.get(POLICIES.format(company=company))
    if policy:
        fields["policy_id"] = policy
    with Path(label.get("_audio") or CORPUS / f"{label['id']}.wav").open("rb") as audio:
        answer = client.post(
            "/v1/calls", files={"file": (f"{label['id']}.wav", audio)}, data=fields
        )
    answer.raise_for_status()
    body = answer.json()
    return str(body["call_id"]), str(body["job_id"])


def wait_jobs(client: httpx.Client, jobs: dict[str, str], timeout_s: float = 5400) -> None:
    pending = dict(jobs)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for call_id, job in list(pending.items()):
            status = client.get(f"/v1/jobs/{job}").json()["status"]
            if status == "failed":
                raise RuntimeError(f"job {job} of {call_id} failed")
            if status == "done":
                del pending[call_id]
        time.sleep(2)
    if pending:
        raise RuntimeError(f"jobs did not finish: {sorted(pending)}")


def served(client: httpx.Client, path: str) -> dict[str, Any] | None:
    answer = client.get(path)
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    return dict(answer.json())


def driver_figures(
    report: dict[str, Any] | None,
    topic_of: dict[str, str],
    driver_of: dict[str, str | None],
    driver_set: Collection[str] = (),
) -> dict[str, Any]:
    """Drivers found, calls placed, purity against the references (``topic_of``: served call id
    -> ``reference_of`` its label); ``driver_set``: the served ids of the driver-set calls, whose
    figures are also given alone."""
    if report is None:
        return {"drivers": None}
    members: dict[str, list[str]] = defaultdict(list)
    for call_id, driver in driver_of.items():
        if driver is not None:
            members[driver].append(call_id)
    placed = sum(d["calls"] for d in report["drivers"])
    majority = 0
    for ids in members.values():
        topics = Counter(topic_of.get(i, "?") for i in ids)
        majority += topics.most_common(1)[0][1] if topics else 0
    shown = sum(len(ids) for ids in members.values())
    return {
        "drivers": len(report["drivers"]),
        "calls": report["calls"],
        "placed": placed,
        "unplaced": report["unplaced"],
        "without_reason": report["without_reason"],
        "purity": round(majority / shown, 3) if shown else None,
        "driver_set": driver_set_figures(topic_of, driver_of, set(driver_set)),
        "list": [
            {
                "id": d["id"],
                "label": d["label"],
                "terms": d["terms"],
                "calls": d["calls"],
                "topics": dict(Counter(topic_of.get(i, "?") for i in members[d["id"]])),
                "reasons": [e["reason"] for e in d["examples"]],
            }
            for d in report["drivers"]
        ],
    }


def driver_set_figures(
    topic_of: dict[str, str], driver_of: dict[str, str | None], driver_set: set[str]
) -> dict[str, Any]:
    """The driver-set calls alone: how many, how many placed in a driver, in how many drivers,
    and purity (the share of the placed ones whose ground-truth driver is the most common among
    the driver-set calls of their served driver); ``expected_drivers``: their ground truths."""
    members: dict[str, list[str]] = defaultdict(list)
    for call_id in driver_set:
        driver = driver_of.get(call_id)
        if driver is not None:
            members[driver].append(call_id)
    placed = sum(len(ids) for ids in members.values())
    majority = sum(
        Counter(topic_of.get(i, "?") for i in ids).most_common(1)[0][1] for ids in members.values()
    )
    return {
        "calls": len(driver_set),
        "placed": placed,
        "drivers_found": len(members),
        "expected_drivers": len({topic_of.get(i, "?") for i in driver_set}),
        "purity": round(majority / placed, 3) if placed else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--name", default="latest")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
    out = ROOT / "var" / "insights" / args.name
    out.mkdir(parents=True, exist_ok=True)
    calls = labels(args.only)
    server = Server(args.root.resolve(), out, workers=1)
    try:
        admin = server.ready()
        key = httpx.post(
            f"{server.http}/v1/keys",
            headers={"Authorization": f"Bearer {admin}"},
            json={"name": "insights-bench", "roles": ["ingest", "qa_analyst", "auditor"]},
            timeout=30,
        )
        key.raise_for_status()
        headers = {"Authorization": f"Bearer {key.json()['key']}"}
        policies = store_policies(
            server,
            key.json()["key"],
            {POLICIES.format(company=c["company"]) for c in calls if c.get("company")},
        )
        with httpx.Client(base_url=server.http, headers=headers, timeout=120) as client:
            ids: dict[str, str] = {}
            jobs: dict[str, str] = {}
            began = time.monotonic()
            for index, label in enumerate(calls):
                call_id, job = upload(client, label, index, policies)
                ids[label["id"]], jobs[call_id] = call_id, job
            wait_jobs(client, jobs)
            logger.info("%d calls analysed in %.0f s", len(calls), time.monotonic() - began)
            result = measure(client, calls, ids)
    finally:
        server.stop()
    result["revision"] = args.root.name
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report = render(result)
    (out / "report.md").write_text(report + "\n", encoding="utf-8")
    logger.info("%s", report)
    return 0


def measure(
    client: httpx.Client, calls: list[dict[str, Any]], ids: dict[str, str]
) -> dict[str, Any]:
    per_split: dict[str, Counts] = defaultdict(Counts)
    details: list[dict[str, Any]] = []
    repeats: dict[str, Any] = {}
    for label in calls:
        record = client.get(f"/v1/calls/{ids[label['id']]}").json()
        detail: dict[str, Any] = {"id": label["id"], "split": label["split"]}
        score_summary(per_split[label["split"]], detail, label, record)
        repeats[label["id"]] = (record.get("metrics") or {}).get("repeat_contact")
        details.append(detail)
    name_of = {call_id: name for name, call_id in ids.items()}
    expected = {second: first for first, second in REPEATS if first in ids and second in ids}
    found = {
        name: name_of.get(r["previous_call_id"], r["previous_call_id"])
        for name, r in repeats.items()
        if r
    }
    topic_of = {ids[c["id"]]: reference_of(c) for c in calls}
    driver_set = {ids[c["id"]] for c in calls if c.get("driver")}
    listed = client.get("/v1/calls?limit=1000").json()["items"]
    driver_of = {c["id"]: c.get("driver_id") for c in listed if c["id"] in topic_of}
    summaries = {
        split: {
            "calls": int(c.values.get("summary_calls", 0)),
            "rouge_l": c.ratio("rouge_l_sum", "summary_calls"),
            "reason_rouge_l": c.ratio("reason_rouge_l_sum", "summary_calls"),
            "outcome": c.ratio("outcome_right", "summary_calls"),
        }
        for split, c in per_split.items()
    }
    return {
        "summaries": summaries,
        "calls": details,
        "drivers": driver_figures(
            served(client, "/v1/analytics/drivers"), topic_of, driver_of, driver_set
        ),
        "repeats": {
            "expected": expected,
            "found": found,
            "right": sum(1 for k, v in expected.items() if found.get(k) == v),
            "false": sorted(k for k in found if expected.get(k) != found[k]),
        },
        "fcr": served(client, "/v1/analytics/fcr?group_by=driver"),
        "fairness_accent": served(
            client, "/v1/analytics/fairness?group_by=accent_group&min_calls=3"
        ),
        "fairness_language": served(client, "/v1/analytics/fairness?group_by=language&min_calls=3"),
        "alerts": served(client, "/v1/analytics/alerts"),
    }


def render(result: dict[str, Any]) -> str:
    lines = [
        "# Insights through callqa serve",
        "",
        "| split | calls | summary ROUGE-L | reason ROUGE-L | outcome |",
        "|---|---|---|---|---|",
    ]
    for split in SPLITS:
        s = result["summaries"].get(split)
        if s:
            cells = [
                f"{s[k]:.3f}" if s[k] is not None else "-"
                for k in ("rouge_l", "reason_rouge_l", "outcome")
            ]
            lines.append(f"| {split} | {s['calls']} | " + " | ".join(cells) + " |")
    drivers = result["drivers"]
    shown = {k: v for k, v in drivers.items() if k not in ("list", "driver_set")}
    lines += ["", f"Drivers: {json.dumps(shown)}"]
    if drivers.get("driver_set"):
        lines.append(f"Driver set: {json.dumps(drivers['driver_set'])}")
    for d in drivers.get("list") or []:
        lines.append(
            f"- {d['id']} {d['label']!r} ({d['calls']} calls) terms {d['terms']}"
            f" topics {d['topics']}"
        )
    rep = result["repeats"]
    lines += [
        "",
        f"Repeat contacts: {rep['right']} of {len(rep['expected'])} found, false: {rep['false']}",
    ]
    fcr = result["fcr"]
    if fcr:
        lines.append(f"FCR overall: {json.dumps(fcr['overall'])}")
    for name in ("fairness_accent", "fairness_language"):
        report = result[name]
        if report:
            for g in report["groups"]:
                flags = [f["figure"] for f in g["flags"]]
                lines.append(
                    f"{name} {g['key']}: calls {g['calls']} asr {g['asr_confidence']}"
                    f" pass {g['pass_rate']} escalation {g['escalation_rate']} flags {flags}"
                )
    alerts = result["alerts"]
    lines.append(f"Alerts: {len(alerts['alerts']) if alerts else 'absent'}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
