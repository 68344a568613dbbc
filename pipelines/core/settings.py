"""Settings from ``CALLQA_*`` environment variables (nested with ``__``) and an optional file.

``CALLQA_CONFIG`` may name a dotenv-style file with the same variables.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.core.types import Layout

CUDA_BATCH_FROM_S = 600.0


class ModelSettings(BaseModel):
    whisper: str = "base"
    compute_type: str = "int8"
    cpu_threads: int = Field(
        default=0,
        ge=0,
        description="threads whisper and the numeric libraries (BLAS) may use in a process; "
        "0: all cores. One worker process per core: 1",
    )
    cache_dir: Path | None = None
    allow_hub: bool = False
    pyannote_dir: Path | None = None
    vocabulary: list[str] = Field(
        default_factory=list, description="names and terms whisper should expect on every call"
    )
    policy_hotwords: bool = Field(
        default=True, description="the policy's company and product names bias whisper too"
    )
    gpu_compute_type: str = Field(
        default="float16", description="whisper's compute type when CALLQA_DEVICE=cuda"
    )
    batch_from_s: float | None = Field(
        default=None,
        gt=0,
        description="calls longer than this are transcribed in batches of 30 s windows "
        "(faster-whisper's BatchedInferencePipeline); default 600 s on cuda, never on the CPU",
    )

    def whisper_compute_type(self, device: str) -> str:
        return self.gpu_compute_type if device == "cuda" else self.compute_type

    def batched_from_s(self, device: str) -> float | None:
        if self.batch_from_s is not None:
            return self.batch_from_s
        return CUDA_BATCH_FROM_S if device == "cuda" else None


class AudioSettings(BaseModel):
    max_duration_s: float = Field(default=4 * 3600.0, gt=0)
    max_bytes: int = Field(default=2 * 1024**3, gt=0)
    stereo_layout: Layout = "stereo-agent-left"


class EmotionSettings(BaseModel):
    """Agents' emotions are only scored when a tenant opts in (EU AI Act Art. 5(1)(f))."""

    score_agents: bool = False


class ServiceSettings(BaseModel):
    """The API server, its job workers and record keeping."""

    workers: int = Field(default=1, ge=0, description="in-process job workers of `callqa serve`")
    lease_s: float = Field(default=120.0, gt=0, description="a job silent this long is retried")
    heartbeat_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    body_idle_timeout_s: float = Field(
        default=30.0, gt=0, description="a request body silent this long is answered 408"
    )
    retention_days: int | None = Field(default=None, ge=1, description="default per tenant")
    audit_retention_days: int = Field(default=366, ge=366)
    page_size: int = Field(default=50, ge=1, le=1000)
    repeat_window_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="a call by the same customer within this many days "
        "is a repeat contact of the earlier one",
    )


class Settings(BaseSettings):
    """Every tunable of callqa; the defaults run offline on a laptop."""

    model_config = SettingsConfigDict(
        env_prefix="CALLQA_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Path("~/.local/share/callqa")
    tenant: str = "default"
    device: Literal["cpu", "cuda"] = Field(
        default="cpu",
        description="CALLQA_DEVICE: cuda runs whisper (float16), the sentence embedder, the "
        "emotion encoder and the speaker encoder on the GPU; cpu is the default",
    )
    models: ModelSettings = Field(default_factory=ModelSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    emotion: EmotionSettings = Field(default_factory=EmotionSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    database_url: str | None = None
    queue_url: str | None = None
    admin_key: SecretStr | None = None
    signing_key: SecretStr | None = None
    pseudonym_key: SecretStr | None = None  # else data_path/pseudonym.key, created once

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser()

    @property
    def resolved_database_url(self) -> str:
        """``CALLQA_DATABASE_URL``, else the embedded SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_path / 'callqa.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    config_file = os.environ.get("CALLQA_CONFIG")
    if config_file:
        return Settings(_env_file=config_file)  # type: ignore[call-arg]
    return Settings()
