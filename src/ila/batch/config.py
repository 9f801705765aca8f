"""Settings of the batch channel (``ILA_BATCH_*``), next to the platform's ``ILA_*`` ones."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ILA_BATCH_", env_file=".env", extra="ignore")

    spool_dir: Path = Field(
        default=Path("var") / "batches",
        description="Where received files wait until processed (deleted once done or failed).",
    )
    max_file_bytes: int = Field(
        default=2 * 1024**3, ge=1024, description="Largest batch file accepted (bytes)."
    )
    chunk_size: int = Field(
        default=10_000,
        ge=1,
        le=100_000,
        description="Records applied per transaction (with their results and the checkpoint).",
    )
    lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A batch whose worker gave no sign of life for this long is taken over.",
    )
