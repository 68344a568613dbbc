"""Live calls' audio on disk: the track files a call appends to as audio arrives, the WAV
they become when the call ends, and the calls a killed server left half-way.

A track file is named after its call, its track and the process that writes it
(``.<call>.live<track>.<host>.<pid>.pcm``, 16 kHz PCM16). When that process is gone
(`api.jobs.leftovers.owner_gone`), the next start of a server or worker on the host turns the
tracks into the call's recording and queues its analysis, exactly as if the call had ended:
a crash mid-call loses no speech already received.
"""

from __future__ import annotations

import logging
import os
import re
import wave
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from api.jobs.leftovers import HOST, owner_gone
from api.store.schema import Call
from pipelines.core.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from api.jobs.intake import JobStorage

logger = logging.getLogger(__name__)

BLOCK = SAMPLE_RATE * 10
_TRACK = re.compile(
    r"^\.(?P<call>[0-9A-Za-z]+)\.live(?P<track>\d)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.pcm$"
)


def track_path(folder: Path, call_id: str, track: int) -> Path:
    """Where this process appends a live call's track."""
    return folder / f".{call_id}.live{track}.{HOST}.{os.getpid()}.pcm"


def tracks_to_wav(tracks: list[Path], target: Path) -> bool:
    """Interleave PCM16 track files (the shorter ones padded with silence) into a WAV at
    ``target``; False, writing nothing, when they hold no audio."""
    lengths = [path.stat().st_size // 2 for path in tracks]
    length = max(lengths, default=0)
    if length == 0:
        return False
    handles = [path.open("rb") for path in tracks]
    try:
        with wave.open(str(target), "wb") as out:
            out.setnchannels(len(tracks))
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            for first in range(0, length, BLOCK):
                block = np.zeros((min(BLOCK, length - first), len(tracks)), dtype="<i2")
                for column, handle in enumerate(handles):
                    part = np.frombuffer(handle.read(len(block) * 2), dtype="<i2")
                    block[: len(part), column] = part
                out.writeframes(block.tobytes())
    finally:
        for handle in handles:
            handle.close()
    return True


def _orphans(audio_root: Path) -> dict[tuple[str, str], list[Path]]:
    """Track files whose writer is gone, by (tenant folder, call id), in track order."""
    found: dict[tuple[str, str], list[tuple[int, Path]]] = defaultdict(list)
    for path in audio_root.glob("*/.*.live*.pcm"):
        match = _TRACK.match(path.name)
        if match and owner_gone(match["host"], int(match["pid"])):
            found[(path.parent.name, match["call"])].append((int(match["track"]), path))
    return {key: [p for _, p in sorted(paths)] for key, paths in found.items()}


def recover_live_calls(storage: JobStorage) -> int:
    """Store the calls a dead process of this host was receiving live; returns how many.

    A call whose row is no longer a live claim of that tenant (erased, say) keeps nothing.
    """
    from api.jobs.intake import Intake, release_live_claim, store_call

    root = storage.settings.data_path / "audio"
    recovered = 0
    for (tenant, call_id), tracks in _orphans(root).items():
        with storage.store.session() as session:
            row = session.get(Call, call_id)
            claimed = row is not None and (row.tenant, row.status) == (tenant, "live")
            layout = row.layout if row is not None else None
            policy_id = row.policy_id if row is not None else None
            metadata = dict(row.metadata_json or {}) if row is not None else {}
        target = root / tenant / f"{call_id}.upload"
        try:
            if claimed and tracks_to_wav(tracks, target):
                intake = Intake(
                    call_id=call_id,
                    tenant=tenant,
                    path=target,
                    size=target.stat().st_size,
                    format="wav",
                    source="stream",
                    metadata=metadata | {"recovered_after_crash": True},
                    policy_id=policy_id,
                    layout=layout,
                )
                store_call(storage, intake)
                recovered += 1
                logger.warning("live call %s: its server died; stored what it received", call_id)
            elif claimed:
                release_live_claim(storage.store, call_id, tenant)
        except Exception:  # keep the tracks for the next start
            logger.exception("live call %s: could not recover its audio", call_id)
            continue
        for path in tracks:
            path.unlink(missing_ok=True)
    return recovered
