"""``callqa translate install FILE.argosmodel`` and ``callqa translate list``.

Language packages go to ``<CALLQA_DATA_DIR>/argos-packages``; nothing is downloaded. Exit
codes: 0 done, 2 a missing or unusable package file (one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def add_translate_parser(commands: Commands) -> argparse.ArgumentParser:
    translate = commands.add_parser(
        "translate", help="manage offline translation packages (argostranslate)"
    )
    actions = translate.add_subparsers(dest="translate_command", required=True)
    install = actions.add_parser("install", help="install a language package from a file")
    install.add_argument("package", type=Path, help="an argos package file (.argosmodel)")
    actions.add_parser("list", help="list the installed language pairs")
    return translate


def run_translate(args: argparse.Namespace) -> int:
    from models.translate import PACKAGES_DIR_NAME
    from pipelines.core.errors import CallQAError, ConfigError
    from pipelines.core.settings import get_settings

    packages_dir = get_settings().data_path / PACKAGES_DIR_NAME
    try:
        if args.translate_command == "install":
            return _install(args.package, packages_dir)
        return _list(packages_dir)
    except ConfigError as exc:
        sys.stderr.write(f"callqa: {exc}\n")
        return EXIT_BAD_INPUT
    except CallQAError as exc:
        sys.stderr.write(f"callqa: {exc}\n")
        return EXIT_FAILURE


def _install(package: Path, packages_dir: Path) -> int:
    from models.translate import install_package

    pair = install_package(package, packages_dir)
    sys.stdout.write(
        f"installed {pair.label} ({pair.source_name} -> {pair.target_name}) "
        f"version {pair.version or '?'} into {pair.path}\n"
    )
    return EXIT_OK


def _list(packages_dir: Path) -> int:
    from models.translate import INSTALL_HINT, PIVOT, installed_pairs

    pairs = installed_pairs(packages_dir)
    if not pairs:
        sys.stdout.write(
            f"no translation packages in {packages_dir}; install one with `{INSTALL_HINT}` "
            "(speech into English needs none: whisper translates)\n"
        )
        return EXIT_OK
    for pair in pairs:
        sys.stdout.write(
            f"{pair.label:12} {pair.source_name} -> {pair.target_name}  "
            f"version {pair.version or '?'}  {pair.path}\n"
        )
    direct = {(p.source, p.target) for p in pairs}
    pivots = sorted(
        (a.source, b.target)
        for a in pairs
        for b in pairs
        if a.target == PIVOT == b.source
        and a.source != b.target
        and (a.source, b.target) not in direct
    )
    for source, target in pivots:
        sys.stdout.write(f"{source}->{target:9} through {PIVOT}\n")
    return EXIT_OK
