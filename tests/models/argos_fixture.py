"""Builds a tiny but real argostranslate package (``.argosmodel``) offline, for tests.

No argos language package can be downloaded here, so tests make their own: SentencePiece
models trained on a few sentences, a randomly initialised one-layer Marian model from
``transformers`` converted by CTranslate2's ``TransformersConverter``, a blank multilingual
spaCy pipeline for sentence splitting, and ``metadata.json``, zipped under one top folder as
argos packages are. Its weights are random, so what it writes is junk: the package tests the
path (install, list, load, tokenize, translate, detokenize), not translation quality.

The build takes a few seconds (importing ``transformers`` most of it); reuse one package per
test session where possible (see ``argos_package`` in ``tests/models/test_translate.py``).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

TRAINING_TEXT = (
    "Todos nuestros representantes se encuentran ocupados.",
    "Por favor espere y pronto le atenderemos.",
    "All of our representatives are currently busy.",
    "Please stay on the line and your call will be answered.",
    "Tous nos représentants sont présentement occupés.",
    "Veuillez demeurer en ligne, le prochain représentant vous répondra.",
    "Mi número de tarjeta es cuatro uno uno uno.",
    "My card number is four one one one.",
    "Quiero cancelar mi suscripción, gracias.",
    "I want to cancel my subscription, thank you.",
    "Buenos días, ¿en qué puedo ayudarle hoy?",
    "Good morning, how can I help you today?",
)
VOCAB_SIZE = 120
FETCHERS = frozenset({"pip", "pip3", "curl", "wget", "download"})
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German"}


def train_sentencepiece(
    text: tuple[str, ...] = TRAINING_TEXT, vocab_size: int = VOCAB_SIZE
) -> bytes:
    """A SentencePiece unigram model (serialized) trained on ``text``."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text * 4),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return model.getvalue()


def _marian_dir(sp_model: bytes, target: Path, seed: int) -> None:
    """A random tiny Marian model saved as transformers would, with its tokenizer files."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    processor = spm.SentencePieceProcessor(model_proto=sp_model)
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab = {piece: i for i, piece in enumerate(pieces)}
    pad = len(pieces)
    vocab["<pad>"] = pad
    config = MarianConfig(
        vocab_size=pad + 1,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=512,
        pad_token_id=pad,
        decoder_start_token_id=pad,
        eos_token_id=processor.piece_to_id("</s>"),
        share_encoder_decoder_embeddings=True,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    target.mkdir(parents=True)
    model.save_pretrained(target)
    (target / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (target / "source.spm").write_bytes(sp_model)
    (target / "target.spm").write_bytes(sp_model)
    (target / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "MarianTokenizer", "model_max_length": 512}),
        encoding="utf-8",
    )


def build_argos_package(
    out_dir: Path,
    from_code: str = "es",
    to_code: str = "en",
    *,
    seed: int = 0,
    version: str = "1.0",
) -> Path:
    """Write ``translate-FROM_TO-VERSION.argosmodel`` into ``out_dir`` and return its path."""
    import ctranslate2
    import spacy

    work = out_dir / f"build-{from_code}-{to_code}-{seed}"
    sp_model = train_sentencepiece()
    _marian_dir(sp_model, work / "marian", seed)
    ctranslate2.converters.TransformersConverter(str(work / "marian")).convert(
        str(work / "model"), quantization="float32", force=True
    )
    spacy.blank("xx").to_disk(work / "spacy")
    name = f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"
    metadata = {
        "package_version": version,
        "argos_version": "1.9",
        "from_code": from_code,
        "from_name": LANGUAGE_NAMES.get(from_code, from_code),
        "to_code": to_code,
        "to_name": LANGUAGE_NAMES.get(to_code, to_code),
        "type": "translate",
        "links": [],
    }
    path = out_dir / f"{name}.argosmodel"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}/metadata.json", json.dumps(metadata, indent=2))
        archive.writestr(f"{name}/sentencepiece.model", sp_model)
        archive.writestr(f"{name}/README.md", "Random tiny Marian model built by callqa's tests.\n")
        for folder in ("model", "spacy"):
            for file in sorted((work / folder).rglob("*")):
                if file.is_file():
                    archive.write(file, f"{name}/{file.relative_to(work).as_posix()}")
    return path


def fetches(args: Any) -> bool:
    """Whether a command line runs a downloader (``spacy download`` runs ``python -m pip``).

    For network guards in tests: other programs (``ldconfig`` run by ``ctypes``) are harmless.
    """
    words = args if isinstance(args, list | tuple) else [args]
    return any(part in FETCHERS for word in words for part in re.split(r"[\s/]", str(word)))
