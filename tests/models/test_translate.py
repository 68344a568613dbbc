"""argostranslate for real, offline: a package built here, installed, listed and used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.cli.main import main
from models.translate import (
    PACKAGES_DIR_NAME,
    ArgosTranslator,
    install_package,
    installed_pairs,
)
from pipelines.core.errors import ConfigError, ModelUnavailableError
from pipelines.core.settings import get_settings
from tests.models.argos_fixture import build_argos_package, fetches

ROOT = Path(__file__).resolve().parents[2]
SPANISH = "Todos nuestros representantes se encuentran ocupados."


@pytest.fixture(scope="session")
def argos_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny random packages, es->en and en->de, built once per session."""
    out = tmp_path_factory.mktemp("argos-files")
    return {
        "es-en": build_argos_package(out, "es", "en", seed=0),
        "en-de": build_argos_package(out, "en", "de", seed=1),
    }


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh CALLQA_DATA_DIR for the command line."""
    monkeypatch.setenv("CALLQA_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every attempt to open a connection or start a program is recorded and refused."""
    import socket

    attempts: list[str] = []

    def refuse(what: str) -> Callable[..., None]:
        def call(*args: object, **kwargs: object) -> None:
            attempts.append(f"{what} {args[1:2]}")
            raise OSError(f"{what} refused by the test")

        return call

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    popen: Any = subprocess.Popen.__init__

    def guarded_popen(self: Any, args: Any, *rest: Any, **kw: Any) -> None:
        if fetches(args):
            refuse(f"subprocess {args}")()
        popen(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded_popen)
    yield attempts
    assert attempts == [], "argostranslate tried to reach the network"


def test_install_list_and_translate_through_the_command_line(
    argos_files: dict[str, Path],
    data_dir: Path,
    no_network: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["translate", "list"]) == 0
    assert "callqa translate install" in capsys.readouterr().out
    assert main(["translate", "install", str(argos_files["es-en"])]) == 0
    assert main(["translate", "install", str(argos_files["en-de"])]) == 0
    out = capsys.readouterr().out
    assert "installed es->en (Spanish -> English) version 1.0" in out
    assert main(["translate", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("en->de") and listing[1].startswith("es->en")
    assert listing[2].split() == ["es->de", "through", "en"]

    translator = ArgosTranslator(data_dir / PACKAGES_DIR_NAME)
    first = translator.translate(SPANISH, "es", "en")
    assert first.strip() and first != SPANISH
    assert translator.translate(SPANISH, "es", "en") == first, "the same model gives the same text"
    assert ArgosTranslator(data_dir / PACKAGES_DIR_NAME).translate(SPANISH, "es", "en") == first
    pivoted = translator.translate(SPANISH, "es", "de")
    english_to_german = translator.translate(first, "en", "de")
    assert pivoted == english_to_german, "es->de goes through the English translation"
    models = translator.models("es", "de")
    assert [m.name for m in models] == ["argos-es-en", "argos-en-de"]
    assert all(len(m.sha256) == 64 and m.stage == "translate" for m in models)
    assert translator.translate(SPANISH, "es", "es") == SPANISH


def test_a_missing_pair_names_itself_and_how_to_install(
    argos_files: dict[str, Path], tmp_path: Path
) -> None:
    packages = tmp_path / PACKAGES_DIR_NAME
    empty = ArgosTranslator(packages)
    with pytest.raises(ModelUnavailableError, match=r"es->en.*installed: none"):
        empty.translate(SPANISH, "es", "en")
    install_package(argos_files["en-de"], packages)
    translator = ArgosTranslator(packages)
    with pytest.raises(ModelUnavailableError) as caught:
        translator.translate("Bonjour", "fr", "de")
    message = str(caught.value)
    assert "fr->de" in message and "installed: en->de" in message
    assert "callqa translate install FILE.argosmodel" in message
    assert not translator.can_translate("fr", "de") and translator.can_translate("en", "de")
    assert translator.targets() == frozenset({"de"})


def test_reinstalling_a_pair_replaces_it(argos_files: dict[str, Path], tmp_path: Path) -> None:
    packages = tmp_path / PACKAGES_DIR_NAME
    newer = build_argos_package(tmp_path, "es", "en", seed=2, version="1.1")
    install_package(argos_files["es-en"], packages)
    pair = install_package(newer, packages)
    assert [(p.label, p.version) for p in installed_pairs(packages)] == [("es->en", "1.1")]
    assert pair.path.parent == packages and not any(
        p.name.startswith(".") for p in packages.iterdir()
    )


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_bad_package_files_exit_2_with_one_line(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metadata = json.dumps({"from_code": "es", "to_code": "en", "type": "translate"}).encode()
    cases = {
        "missing": (tmp_path / "nowhere.argosmodel", "no such file"),
        "not zip": (tmp_path / "text.argosmodel", "not a zip archive"),
        "no metadata": (
            _zip(tmp_path / "empty.argosmodel", {"pkg/model/model.bin": b"x"}),
            "no pkg/metadata.json",
        ),
        "escape": (
            _zip(tmp_path / "escape.argosmodel", {"../evil/metadata.json": metadata}),
            "unsafe path",
        ),
        "no model": (
            _zip(tmp_path / "nomodel.argosmodel", {"pkg/metadata.json": metadata}),
            "lacks model/model.bin",
        ),
        "broken model": (
            _zip(
                tmp_path / "broken.argosmodel",
                {
                    "pkg/metadata.json": metadata,
                    "pkg/model/model.bin": b"not a model",
                    "pkg/model/config.json": b"{}",
                    "pkg/sentencepiece.model": b"not a model",
                },
            ),
            "cannot use the package",
        ),
    }
    (tmp_path / "text.argosmodel").write_text("hello\n")
    for name, (path, reason) in cases.items():
        assert main(["translate", "install", str(path)]) == 2, name
        err = capsys.readouterr().err
        assert reason in err and err.count("\n") == 1, (name, err)
    assert installed_pairs(data_dir / PACKAGES_DIR_NAME) == []
    with pytest.raises(ConfigError, match="no such file"):
        install_package(tmp_path / "nowhere.argosmodel", tmp_path / "packages")


GUARDED_RUN = textwrap.dedent(
    """
    import json, socket, subprocess, sys
    attempts = []
    def refuse(what):
        def call(*args, **kwargs):
            attempts.append(what)
            raise OSError(what + " refused")
        return call
    socket.socket.connect = refuse("connect")
    socket.getaddrinfo = refuse("getaddrinfo")
    popen = subprocess.Popen.__init__
    def guarded_popen(self, args, *rest, **kwargs):
        if fetches(args):
            refuse("subprocess " + str(args))()
        popen(self, args, *rest, **kwargs)
    subprocess.Popen.__init__ = guarded_popen
    from pathlib import Path
    from models.translate import ArgosTranslator, install_package
    from tests.models.argos_fixture import fetches
    packages = Path(sys.argv[2])
    install_package(sys.argv[1], packages)
    text = ArgosTranslator(packages).translate("Por favor espere.", "es", "en")
    print(json.dumps({"attempts": attempts, "text": text}))
    """
)


def test_a_fresh_process_never_reaches_for_the_network(
    argos_files: dict[str, Path], tmp_path: Path
) -> None:
    """argostranslate imported afresh, its caches empty, connections and downloaders refused."""
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "share"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "tests" / "models"))),
    }
    result = subprocess.run(
        [sys.executable, "-c", GUARDED_RUN, str(argos_files["es-en"]), str(tmp_path / "pk")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["attempts"] == [] and report["text"].strip()
    # onnxruntime (imported with MiniSBD) writes a device id file; nothing else may appear
    written = [p for p in home.rglob("*") if p.is_file() and ".onnxruntime" not in p.parts]
    assert written == [], "nothing is downloaded or cached into the home directory"
