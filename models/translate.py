"""Text translation through argostranslate language packages installed from local files.

No registry carries an argos language package, so packages are installed from
``.argosmodel`` files (``callqa translate install FILE``) into ``<data dir>/argos-packages``
and nothing is ever downloaded:

* ``ARGOS_PACKAGES_DIR`` and ``ARGOS_CHUNK_TYPE=SPACY`` are set before argostranslate is
  imported, and its module settings are pointed at our directory before each use;
* argostranslate's ``cache_spacy`` (which runs ``spacy download`` when its sentence splitter
  is imported) is replaced by a blank multilingual spaCy pipeline kept in the data directory,
  used for packages that carry no ``spacy/`` folder of their own;
* argostranslate's package index, MiniSBD and Stanza downloads are never called.

Translations are built per package directory (argostranslate's global language list caches
one translation per language pair for the whole process, whatever directory it came from).
A pair with no package of its own is translated through English when ``X->en`` and
``en->Y`` are both installed, as argostranslate's own pivoting does.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from models.weights import file_sha256
from pipelines.core.errors import ConfigError, ModelUnavailableError
from pipelines.core.types import ModelInfo

logger = logging.getLogger(__name__)

PACKAGES_DIR_NAME = "argos-packages"
SBD_DIR_NAME = "argos-sbd"
PIVOT = "en"
INSTALL_HINT = "callqa translate install FILE.argosmodel"
MAX_UNPACKED_BYTES = 4 * 1024**3

_lock = threading.RLock()


@dataclass(frozen=True, slots=True)
class InstalledPair:
    """One installed argos language package."""

    source: str
    target: str
    source_name: str
    target_name: str
    version: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.source}->{self.target}"

    def info(self) -> ModelInfo:
        """What the record's provenance says about this package."""
        return ModelInfo(
            stage="translate",
            name=f"argos-{self.source}-{self.target}",
            version=f"package {self.version}; argostranslate {_argos_version()}",
            sha256=file_sha256(self.path / "model" / "model.bin"),
        )


def install_package(path: str | Path, packages_dir: Path) -> InstalledPair:
    """Install an ``.argosmodel`` file; an installed package of the same pair is replaced.

    Raises ``ConfigError`` (bad input) with a one-line reason when the file is missing or is
    not an argos translation package; nothing is left half-installed.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise ConfigError(f"{source}: no such file")
    if not zipfile.is_zipfile(source):
        raise ConfigError(f"{source}: not an argos package (not a zip archive)")
    with zipfile.ZipFile(source) as archive:
        top, metadata = _check_archive(archive, source)
        packages_dir.mkdir(parents=True, exist_ok=True)
        with _lock, tempfile.TemporaryDirectory(dir=packages_dir, prefix=".install-") as staging:
            archive.extractall(staging)
            staged = Path(staging) / top
            _load_package(staged, verify=True)  # argostranslate must be able to use it
            for old in installed_pairs(packages_dir):
                if (old.source, old.target) == (metadata["from_code"], metadata["to_code"]):
                    shutil.rmtree(old.path)
            final = packages_dir / top
            if final.exists():
                shutil.rmtree(final)
            staged.rename(final)
    pair = _pair(final)
    logger.info("installed argos package %s %s into %s", pair.label, pair.version, final)
    return pair


def _check_archive(archive: zipfile.ZipFile, source: Path) -> tuple[str, dict[str, Any]]:
    """The archive's single top folder and its metadata, or ``ConfigError`` saying why not."""
    names = archive.namelist()
    tops = set()
    size = 0
    for info in archive.infolist():
        parts = PurePosixPath(info.filename).parts
        if not parts or info.filename.startswith("/") or ".." in parts or "\\" in info.filename:
            raise ConfigError(f"{source}: unsafe path {info.filename!r} in the archive")
        tops.add(parts[0])
        size += info.file_size
    if len(tops) != 1:
        raise ConfigError(f"{source}: an argos package holds exactly one top folder")
    top = tops.pop()
    if size > MAX_UNPACKED_BYTES:
        raise ConfigError(f"{source}: unpacks to {size} bytes, more than {MAX_UNPACKED_BYTES}")
    if f"{top}/metadata.json" not in names:
        raise ConfigError(f"{source}: not an argos package (no {top}/metadata.json)")
    try:
        metadata = json.loads(archive.read(f"{top}/metadata.json"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: metadata.json is not JSON ({exc})") from exc
    if not isinstance(metadata, dict):
        raise ConfigError(f"{source}: metadata.json is not a JSON object")
    kind = metadata.get("type", "translate")
    if kind != "translate":
        raise ConfigError(f"{source}: a {kind!r} package, not a translation package")
    for key in ("from_code", "to_code"):
        code = metadata.get(key)
        if not isinstance(code, str) or not code.replace("-", "").isalpha():
            raise ConfigError(f"{source}: metadata.json lacks a language code in {key}")
    missing = [
        part for part in ("model/model.bin", "model/config.json") if f"{top}/{part}" not in names
    ]
    if not any(f"{top}/{tok}" in names for tok in ("sentencepiece.model", "bpe.model")):
        missing.append("sentencepiece.model or bpe.model")
    if missing:
        raise ConfigError(f"{source}: the package lacks {', '.join(missing)}")
    return top, metadata


def installed_pairs(packages_dir: Path) -> list[InstalledPair]:
    """The installed translation packages, sorted by source and target language."""
    if not packages_dir.is_dir():
        return []
    pairs = []
    for path in sorted(packages_dir.iterdir()):
        if not path.is_dir() or path.name.startswith(".") or not (path / "metadata.json").is_file():
            continue
        try:
            pairs.append(_pair(path))
        except (ValueError, KeyError, OSError) as exc:
            logger.warning("skipping unreadable argos package %s: %s", path.name, exc)
    return sorted(pairs, key=lambda p: (p.source, p.target, p.version))


def _pair(path: Path) -> InstalledPair:
    metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    if metadata.get("type", "translate") != "translate":
        raise ValueError(f"not a translation package: {metadata.get('type')}")
    return InstalledPair(
        source=str(metadata["from_code"]),
        target=str(metadata["to_code"]),
        source_name=str(metadata.get("from_name") or metadata["from_code"]),
        target_name=str(metadata.get("to_name") or metadata["to_code"]),
        version=str(metadata.get("package_version", "")),
        path=path,
    )


def missing_pair_error(
    source: str, target: str, pairs: list[InstalledPair]
) -> ModelUnavailableError:
    """The error for a language pair with no installed route, naming what to install."""
    have = ", ".join(p.label for p in pairs) or "none"
    return ModelUnavailableError(
        f"argos {source}->{target}",
        f"no installed translation package translates {source} to {target}, directly or "
        f"through English (installed: {have}); install one with `{INSTALL_HINT}`",
    )


class ArgosTranslator:
    """Translates text with the argos packages in one directory (loaded on first use)."""

    def __init__(self, packages_dir: Path) -> None:
        self.packages_dir = packages_dir
        self._translations: dict[Path, Any] = {}
        self._lock = threading.Lock()

    def pairs(self) -> list[InstalledPair]:
        return installed_pairs(self.packages_dir)

    def route(self, source: str, target: str) -> tuple[InstalledPair, ...]:
        """The packages that translate ``source`` to ``target``: one, or two through English.

        Raises ``ModelUnavailableError`` naming the pair and how to install it.
        """
        pairs = self.pairs()
        by_pair = {(p.source, p.target): p for p in pairs}
        if (source, target) in by_pair:
            return (by_pair[source, target],)
        first, second = by_pair.get((source, PIVOT)), by_pair.get((PIVOT, target))
        if first is not None and second is not None:
            return (first, second)
        raise missing_pair_error(source, target, pairs)

    def targets(self) -> frozenset[str]:
        """The languages it writes (a pivot through English adds no new target)."""
        return frozenset(p.target for p in self.pairs())

    def can_translate(self, source: str, target: str) -> bool:
        try:
            self.route(source, target)
        except ModelUnavailableError:
            return False
        return True

    def models(self, source: str, target: str) -> tuple[ModelInfo, ...]:
        """Provenance of the packages a translation from ``source`` to ``target`` uses."""
        return tuple(pair.info() for pair in self.route(source, target))

    def translate(self, text: str, source: str, target: str) -> str:
        """``text`` translated; the same text when the languages are the same."""
        if source == target or not text.strip():
            return text
        for pair in self.route(source, target):
            translation = self._translation(pair)
            with self._lock:
                text = str(translation.translate(text))
        return text

    def _translation(self, pair: InstalledPair) -> Any:
        with self._lock:
            translation = self._translations.get(pair.path)
            if translation is None:
                translation = _package_translation(pair, self.packages_dir)
                self._translations[pair.path] = translation
            return translation


def _package_translation(pair: InstalledPair, packages_dir: Path) -> Any:
    """argostranslate's translation of one package, its sentence splitter kept offline."""
    with _lock:
        _argos_modules(packages_dir)
        from argostranslate.translate import Language, PackageTranslation

        package = _load_package(pair.path)
        return PackageTranslation(
            Language(pair.source, pair.source_name),
            Language(pair.target, pair.target_name),
            package,
        )


def _load_package(path: Path, *, verify: bool = False) -> Any:
    """argostranslate's ``Package`` of an unpacked package directory.

    ``verify`` also loads its tokenizer and CTranslate2 model, so a broken file is refused at
    install time rather than at the first call.
    """
    _argos_modules(path.parent)
    from argostranslate.package import Package

    try:
        package = Package(path)
        if not hasattr(package, "tokenizer"):
            raise ValueError("no tokenizer model")
        if verify:
            import ctranslate2

            lazy = getattr(package.tokenizer, "lazy_processor", None)
            if lazy is not None:
                lazy()
            ctranslate2.Translator(str(path / "model"), device="cpu", intra_threads=1)
    except Exception as exc:  # argostranslate and its libraries raise bare Exceptions
        raise ConfigError(f"{path.name}: argostranslate cannot use the package: {exc}") from exc
    return package


def _argos_modules(packages_dir: Path) -> None:
    """Import argostranslate configured for ``packages_dir``, offline, and point it there."""
    with _lock:
        os.environ["ARGOS_PACKAGES_DIR"] = str(packages_dir)
        os.environ["ARGOS_CHUNK_TYPE"] = "SPACY"
        os.environ.setdefault("ARGOS_DEVICE_TYPE", "cpu")
        sbd_model = _blank_spacy(packages_dir.parent / SBD_DIR_NAME)
        from argostranslate import networking, settings

        networking.cache_spacy = lambda: sbd_model  # never `spacy download`
        from argostranslate import sbd

        sbd._cached_spacy_path = sbd_model
        settings.package_data_dir = packages_dir
        settings.package_dirs = [packages_dir]
        settings.chunk_type = settings.ChunkType.SPACY
        settings.model_provider = settings.ModelProvider.OPENNMT
        # argostranslate logs the text it translates at INFO: call content stays out of logs
        logging.getLogger("argostranslate").setLevel(logging.WARNING)
        logging.getLogger("argostranslate.utils").setLevel(logging.WARNING)


@functools.lru_cache(maxsize=8)
def _blank_spacy(path: Path) -> Path:
    """A blank multilingual spaCy pipeline on disk (argostranslate adds a rule sentencizer)."""
    if not (path / "config.cfg").is_file():
        import spacy

        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=".sbd-"))
        spacy.blank("xx").to_disk(staging)
        try:
            staging.rename(path)
        except OSError:  # another process wrote it first
            shutil.rmtree(staging, ignore_errors=True)
    return path


@functools.cache
def _argos_version() -> str:
    try:
        return importlib.metadata.version("argostranslate")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"
