"""Service settings, read from ``NER_*`` environment variables (and ``ner serve`` flags)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPOSITORY_MODELS = Path(__file__).resolve().parent.parent / "models"


def default_models() -> list[str]:
    """Every model directory (one holding a manifest.json) in ``NER_MODELS_DIR``, else in ``models/``."""
    folder = Path(os.environ.get("NER_MODELS_DIR") or REPOSITORY_MODELS)
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if (p / "manifest.json").is_file())


class Settings(BaseSettings):
    """All settings; each can be given as ``NER_<NAME>`` (``NER_MODELS`` is comma-separated)."""

    model_config = SettingsConfigDict(env_prefix="NER_", extra="ignore")

    models: Annotated[list[str], NoDecode] = Field(default_factory=default_models)
    default_model: str | None = None  # name of the default model; default: the first English one
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    threads: int = Field(2, ge=1, description="threads per worker for the model")
    backend: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="onnx (ONNX Runtime, no torch), torch, or auto (onnx where the model has it)"
    )
    bfloat16: bool = Field(False, description="torch backend: emissions in bfloat16, faster on CPUs with AMX")
    log_level: str = "info"
    api_key: SecretStr | None = None

    max_chars: int = Field(100_000, ge=1, description="characters per text")
    max_texts: int = Field(256, ge=1, description="texts per request")
    max_body_bytes: int = Field(2_000_000, ge=1)
    max_nbest: int = Field(10, ge=1)
    request_timeout_s: float = Field(30.0, gt=0)

    batching: bool = True
    batch_wait_ms: float = Field(2.0, ge=0)
    max_batch_texts: int = Field(128, ge=1)

    @field_validator("models", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        return None if value == "" else value
