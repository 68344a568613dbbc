"""The ``callqa`` command line. Exit codes: 0 success, 2 bad usage or input, 1 other failure."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import ValidationError

from models.device import limit_malloc_arenas
from pipelines.core.errors import INPUT_ERRORS, CallQAError
from pipelines.core.types import LAYOUTS, Diarization, no_progress

logger = logging.getLogger("callqa")

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
WS_PING_TIMEOUT_S = 300.0


class TqdmHook:
    """Progress hook drawing one tqdm bar per step on stderr (only on a terminal)."""

    def __init__(self, label: str, file: TextIO | None = None) -> None:
        self.label = label
        self.file = file
        self.bar: Any = None
        self.step = ""

    def __call__(
        self,
        step: str,
        artifact: object | None = None,
        *,
        total: int | None = None,
        completed: int | None = None,
    ) -> None:
        from tqdm import tqdm

        if step != self.step:
            self.close()
            self.step = step
            self.bar = tqdm(
                total=total, desc=f"{self.label}: {step}", unit="s", leave=False, file=self.file
            )
        if self.bar is not None and completed is not None:
            self.bar.total = total
            self.bar.n = completed
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callqa", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    commands = parser.add_subparsers(dest="command", required=True)

    analyze = commands.add_parser("analyze", help="analyze recordings into interaction records")
    analyze.add_argument("audio", nargs="+", type=Path, help="call recordings")
    analyze.add_argument(
        "--out",
        type=Path,
        help="record file (one input) or directory; default <stem>.record.json here, or "
        "stdout with --json",
    )
    analyze.add_argument(
        "--json",
        action="store_true",
        help="print the raw record JSON (to stdout, or --out) instead of the readable report",
    )
    analyze.add_argument(
        "--rttm", type=Path, help="also write the diarization as RTTM (file, or directory)"
    )
    analyze.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png|FILE.svg|DIR",
        help="draw each call's timeline: a .png or .svg file for one input; a directory "
        "(several inputs, or an existing one) gets <stem>.png per input (default without "
        "--json: <stem>.timeline.png beside the record)",
    )
    analyze.add_argument("--policy", type=Path, help="compliance policy (YAML or JSON)")
    analyze.add_argument(
        "--vocabulary",
        type=Path,
        help="the company's words: a YAML or JSON list of {term, spoken: [...]} or of strings",
    )
    analyze.add_argument("--layout", choices=LAYOUTS, help="channel layout (default: from audio)")
    analyze.add_argument("--model", help="base, tiny.en, a CTranslate2 directory or a hub id")
    analyze.add_argument("--language", default="auto", help="auto or a language code")
    analyze.add_argument(
        "--translate-to", metavar="CODE", help="also translate segments into this language"
    )
    analyze.add_argument(
        "--input-format",
        help="format of headerless input: mulaw, alaw or pcm_s16le, optionally :RATE",
    )

    commands.add_parser("models", help="list the models available offline")

    serve = commands.add_parser("serve", help="start the API (embedded SQLite and workers)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--workers", type=int, help="in-process job workers (default: CALLQA_SERVICE__WORKERS)"
    )
    worker = commands.add_parser("worker", help="run job workers against the configured queue")
    worker.add_argument("--threads", type=int, default=1, help="jobs run at once")

    from api.cli.records import add_export_parser, add_verify_parser

    add_export_parser(commands)
    add_verify_parser(commands)
    from api.cli.translate import add_translate_parser

    add_translate_parser(commands)
    from api.cli.stream import add_stream_parser

    add_stream_parser(commands)
    from api.cli.rescore import add_rescore_parser

    add_rescore_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()
    args = _parser().parse_args(argv)
    quiet = logging.INFO if args.command in ("serve", "worker") else logging.WARNING
    logging.basicConfig(
        level=quiet - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from api.http.log_filters import UVICORN_LOGGERS
    from pipelines.pii.log_filter import PiiLogFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(PiiLogFilter())  # personal data never reaches a log
    for name in UVICORN_LOGGERS:  # they log past the root's handlers
        logging.getLogger(name).addFilter(PiiLogFilter())
    try:
        if args.command == "analyze":
            return _analyze(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "worker":
            return _worker(args)
        if args.command == "translate":
            from api.cli.translate import run_translate

            return run_translate(args)
        if args.command == "stream":
            from api.cli.stream import run_stream

            return run_stream(args)
        if args.command == "rescore":
            from api.cli.rescore import run_rescore

            return run_rescore(args)
        if args.command in ("export", "verify"):
            from api.cli.records import run_export, run_verify

            return run_export(args) if args.command == "export" else run_verify(args)
        return _models()
    except INPUT_ERRORS as exc:
        print(f"callqa: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CallQAError as exc:
        print(f"callqa: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        print(f"callqa: invalid setting {where}: {first['msg']}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"callqa: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def _analyze(args: argparse.Namespace) -> int:
    from pipelines.batch import CallPipeline
    from pipelines.compliance.policy import load_policy
    from pipelines.compliance.vocabulary import Vocabulary, load_vocabulary, with_vocabulary
    from pipelines.core.errors import ConfigError
    from pipelines.core.settings import get_settings
    from pipelines.record.schema import record_to_dict
    from pipelines.registry import build_pipeline, decode_limits
    from voice.decode import load_call_audio

    inputs: list[Path] = args.audio
    out: Path | None = args.out
    for option, target in (("--out", out), ("--rttm", args.rttm)):
        if target is not None and len(inputs) > 1 and target.exists() and not target.is_dir():
            raise ConfigError(
                f"{option} {target} must be a directory when several inputs are given"
            )
    plot_format = _plot_format(args.plot, several=len(inputs) > 1)
    if args.language != "auto" and not args.language.isalpha():
        raise ConfigError(f"--language {args.language!r} is not a language code")
    if args.translate_to is not None:
        from pipelines.translate.stage import validate_language_code

        validate_language_code(args.translate_to)
    settings = get_settings()
    policy = load_policy(args.policy) if args.policy is not None else None
    words = load_vocabulary(args.vocabulary) if args.vocabulary is not None else Vocabulary()
    if policy is not None:
        policy = with_vocabulary(policy, words)
    extra = {"vocabulary": words.provenance()} if words.terms else None
    pipeline: CallPipeline | None = None  # loaded with the first good input
    status = EXIT_OK
    for path in inputs:
        hook = TqdmHook(path.name) if sys.stderr.isatty() else None
        try:
            call = load_call_audio(
                path, format_hint=args.input_format, limits=decode_limits(settings)
            )
            if pipeline is None:
                pipeline = build_pipeline(
                    settings,
                    model=args.model,
                    language=args.language,
                    policy=policy,
                    translate_to=args.translate_to,
                )
                pipeline.vocabulary = (*words.words, *pipeline.vocabulary)
            record = pipeline.analyze(
                call, layout=args.layout, hook=hook or no_progress, extra_options=extra
            )
        except INPUT_ERRORS as exc:
            print(f"callqa: {path}: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        finally:
            if hook:
                hook.close()
        several = len(inputs) > 1
        _output(record_to_dict(record), path, args, plot_format, several=several)
        if args.rttm is not None and record.diarization is not None:
            _write_rttm(record.diarization, path, args.rttm, several=several)
    return status


def _output(
    body: dict[str, Any],
    source: Path,
    args: argparse.Namespace,
    plot_format: Literal["png", "svg"],
    *,
    several: bool,
) -> None:
    """``--json``: the raw record (stdout, or ``--out``), and ``--plot`` if asked. Otherwise the
    record to ``--out`` (default ``<stem>.record.json`` here), the timeline to ``--plot``
    (default ``<stem>.timeline.png`` beside the record), and the readable report to stdout."""
    out: Path | None = args.out
    text = json.dumps(body, ensure_ascii=False, indent=2)
    if args.json:
        _write(text, source, out, several=several)
        if args.plot is not None:
            _write_plot(body, source, args.plot, plot_format, several=several)
        return
    from api.cli.report import render_report

    record_out = out if out is not None else Path(f"{source.stem}.record.json")
    written = _write(text, source, record_out, several=several and out is not None)
    plot: Path = args.plot or written.with_name(f"{source.stem}.timeline.png")
    picture = _write_plot(body, source, plot, plot_format, several=several)
    files = {"record": str(written), "timeline": str(picture)}
    report = render_report(body, source=str(source), written=files)
    print("\n".join(report), end="\n\n" if several else "\n", flush=True)


def _write(text: str, source: Path, out: Path | None, *, several: bool) -> Path:
    """The record to ``out`` (a file, or ``<stem>.json`` in a directory), or to stdout."""
    if out is None:
        sys.stdout.write(text + "\n")
        return Path("-")
    target = out / f"{source.stem}.json" if several or out.is_dir() else out
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n", encoding="utf-8")
    logger.info("wrote %s", target)
    return target


def _plot_format(plot: Path | None, *, several: bool) -> Literal["png", "svg"]:
    """The picture format ``--plot`` asks for; ConfigError (exit 2) before any audio is read."""
    from pipelines.core.errors import ConfigError

    if plot is None or plot.is_dir():
        return "png"
    suffix = plot.suffix.lower()
    if several and (suffix or plot.exists()):
        raise ConfigError(f"--plot {plot} must be a directory when several inputs are given")
    if not several and suffix not in (".png", ".svg"):
        raise ConfigError(f"--plot {plot}: the picture file must end in .png or .svg")
    return "svg" if suffix == ".svg" else "png"


def _write_plot(
    record: dict[str, Any], source: Path, plot: Path, fmt: Literal["png", "svg"], *, several: bool
) -> Path:
    from pipelines.record.timeline import render_timeline

    in_directory = plot.is_dir() or (several and not plot.suffix)
    target = plot / f"{source.stem}.{fmt}" if in_directory else plot
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(render_timeline(record, fmt))
    logger.info("wrote %s", target)
    return target


def _write_rttm(diarization: Diarization, source: Path, rttm: Path, *, several: bool) -> None:
    from pipelines.speakers.rttm import write_rttm

    target = rttm / f"{source.stem}.rttm" if several or rttm.is_dir() else rttm
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as handle:
        write_rttm(diarization, source.stem, handle)


def _models() -> int:
    from models.catalog import model_statuses
    from pipelines.core.settings import get_settings

    settings = get_settings()
    missing = 0
    for status in model_statuses(
        settings.models.cache_dir, pyannote_dir=settings.models.pyannote_dir
    ):
        mark = "ok" if status.available else "MISSING"
        print(f"{mark:8} {status.stage:12} {status.name:22} {status.source or status.detail}")
        if status.available and status.detail:
            print(f"{'':8} {'':12} {'':22} {status.detail}")
        missing += not status.available
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.http.app import create_app, first_admin_key
    from pipelines.core.settings import get_settings

    settings = get_settings()
    generated = first_admin_key(settings)
    if generated is not None:
        print(f"callqa: first admin key (shown once, store it now): {generated}", flush=True)
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    logger.info("review page: http://%s:%s/ (sign in with an API key)", shown_host, args.port)
    uvicorn.run(
        create_app(settings, workers=args.workers),
        host=args.host,
        port=args.port,
        # live calls push back by pausing reads, which also delays the client's pongs
        ws_ping_interval=20.0,
        ws_ping_timeout=WS_PING_TIMEOUT_S,
        # idle keep-alive connections close after 5 s and request heads are capped at 16 KiB;
        # a body that stalls mid-request is answered 408 by the app (BodyIdleTimeout)
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
    )
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    from api.jobs.worker import run_worker
    from pipelines.core.settings import get_settings

    return run_worker(get_settings(), args.threads)


if __name__ == "__main__":
    sys.exit(main())
