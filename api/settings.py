"""Service settings, read from ``NER_*`` environment variables (and ``ner serve`` flags)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.schemas import MAX_TEXTS
from ner.backends import BackendName
from ner.tagger import MAX_NBEST

CHECKOUT = Path(__file__).resolve().parent.parent
DEFAULT_PORTS = {"http": 80, "https": 443}
HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")  # a name or an IPv4 address, as an Origin header holds it
IPV6 = re.compile(r"[0-9a-f:.]*:[0-9a-f:.]*")


def default_models() -> list[str]:
    """Every model directory (one holding a manifest.json, its name not hidden) in ``NER_MODELS_DIR``, else in a
    checkout's ``models/`` (installed with pip, the folder above the package is site-packages: none there)."""
    folder_name = os.environ.get("NER_MODELS_DIR")
    if not folder_name and not (CHECKOUT / "pyproject.toml").is_file():
        return []
    folder = Path(folder_name or CHECKOUT / "models")
    if not folder.is_dir():
        return []
    # A hidden folder is a save in progress or one stopped (ner.bundle.save), not a model to serve; one the
    # service may not enter (ext4's lost+found on a volume) is none either: os.path.isfile says False there.
    return sorted(
        str(p) for p in folder.iterdir() if not p.name.startswith(".") and os.path.isfile(p / "manifest.json")
    )


def _origin(given: str) -> str:
    """``given`` as a browser writes an origin, or a ValueError saying why it is none."""
    refused = f"{given[:80]!r} is no origin: give scheme://host[:port], without a path, a user or a wildcard (or *)"
    try:
        parts = urlsplit(given)
        port = parts.port
    except ValueError:  # a port that is no number, or out of range
        raise ValueError(refused) from None
    host = parts.hostname or ""  # in lower case
    if (
        parts.scheme.lower() not in DEFAULT_PORTS
        or not (HOST.fullmatch(host) or IPV6.fullmatch(host))
        or parts.username is not None
        or parts.path
        or parts.query
        or parts.fragment
        or given.endswith(("?", "#"))
    ):
        raise ValueError(refused)
    scheme = parts.scheme.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, DEFAULT_PORTS[scheme]) else "")


class Settings(BaseSettings):
    """All settings; each can be given as ``NER_<NAME>`` (``NER_MODELS`` is comma-separated)."""

    model_config = SettingsConfigDict(env_prefix="NER_", extra="ignore")

    models: Annotated[list[str], NoDecode] = Field(
        default_factory=default_models, description='DIR,DIR; or a JSON list, ["DIR"], for paths with commas'
    )
    # The default model's name; or names separated by commas, one per language, the first the default
    # (en-conll03,zh-resume). Default (or empty): the first English model, and the first of each language.
    default_model: str | None = None
    host: str = Field("127.0.0.1", min_length=1, description="0.0.0.0 for every interface")
    port: int = Field(8000, ge=0, le=65535)
    metrics_port: int | None = Field(9100, ge=0, le=65535, description="Prometheus metrics; empty: none")
    workers: int = Field(1, ge=1)
    threads: int = Field(2, ge=1, description="threads per worker for the model")
    backend: BackendName = Field(
        "auto", description="onnx (ONNX Runtime, no torch), torch, or auto (onnx where the model has it)"
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    api_key: SecretStr | None = Field(None, description="one key, logged as the key id 'default'")
    api_keys: Annotated[dict[str, SecretStr], NoDecode] = Field(
        default_factory=dict, description="id:key,id:key: several keys at once, for rotation"
    )

    max_chars: int = Field(100_000, ge=1, description="characters per text")
    max_texts: int = Field(256, ge=1, le=MAX_TEXTS, description="texts per request")
    max_tokens: int = Field(20_000, ge=1, description="tokens per request, all texts together, x (1 + nbest)")
    max_body_bytes: int = Field(2_000_000, ge=1)
    max_buffered_bytes: int = Field(64_000_000, ge=1, description="request bodies held at once, all requests")
    max_nbest: int = Field(10, ge=1, le=MAX_NBEST)
    max_dictionary: int = Field(10_000, ge=0, description="dictionary entries per request")
    max_dictionary_tokens: int = Field(
        250_000, ge=1, description="a request's dictionary phrases' tokens: a start shared once, other cuts added"
    )
    dictionaries: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, description="model=FILE,model=FILE: phrase<TAB>LABEL files, read again when changed"
    )
    request_timeout_s: float = Field(30.0, gt=0, allow_inf_nan=False)

    batching: bool = True
    batch_wait_ms: float = Field(2.0, ge=0, le=1000)
    max_batch_texts: int = Field(128, ge=1)
    large_request_tokens: int = Field(1_000, ge=1, description="requests above this go to the bulk lane")
    queue_tokens: int = Field(5_000, ge=1, description="work waiting or running in the interactive lane")
    queue_wait_s: float = Field(0.25, gt=0, description="interactive lane: its work ahead, at its recent speed")
    bulk_queue_tokens: int = Field(40_000, ge=1, description="work waiting or running in the bulk lane")

    max_connections: int = Field(1024, ge=1, description="open connections; beyond, uvicorn answers 503")
    idle_timeout_s: float = Field(5.0, gt=0, description="for a request head to arrive, and between requests")
    max_header_bytes: int = Field(16_384, ge=1024, description="request line and headers")
    max_headers: int = Field(64, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="ORIGIN,ORIGIN: browser pages elsewhere allowed to call the API; *: any"
    )
    gzip_min_bytes: int | None = Field(1_000, ge=1, description="answers of this size or more are gzipped; empty: none")
    root_path: str = Field("", description="/PREFIX a reverse proxy serves the service under, stripped or not")

    @field_validator("models", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """``ORIGIN,ORIGIN`` into a list, each ``scheme://host[:port]`` as a browser sends it (lower case, no
        default port: the comparison is exact), or ``*``."""
        origins = [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
        if not isinstance(origins, list):
            return origins
        return [origin if origin == "*" else _origin(str(origin)) for origin in origins]

    @field_validator("root_path")
    @classmethod
    def _prefix(cls, value: str) -> str:
        """``/ner`` (``ner/`` and ``/ner/`` alike; ``/`` or empty: none)."""
        prefix = "/" + value.strip().strip("/")
        if any(c in prefix for c in "?#%\\") or any(c.isspace() for c in prefix) or "//" in prefix:
            raise ValueError(f"give a path such as /ner, not {value!r}")
        return "" if prefix == "/" else prefix

    @field_validator("host", "default_model", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("default_model")
    @classmethod
    def _empty_is_default(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("metrics_port", "gzip_min_bytes", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("dictionaries", mode="before")
    @classmethod
    def _model_files(cls, value: object) -> object:
        """``model=FILE,model=FILE`` into ``{model: FILE}``."""
        if not isinstance(value, str):
            return value
        pairs = [part.strip().partition("=") for part in value.split(",") if part.strip()]
        if any(not name.strip() or not path.strip() for name, _, path in pairs):
            raise ValueError("give dictionaries as model=FILE,model=FILE")
        files: dict[str, str] = {}
        for name, _, path in pairs:
            if name.strip() in files:
                raise ValueError(f"two files for the model {name.strip()!r}: give one")
            files[name.strip()] = path.strip()
        return files

    @field_validator("api_keys", mode="before")
    @classmethod
    def _key_pairs(cls, value: object) -> object:
        """``id:key,id:key`` (an id is a name to log, never the key) into ``{id: key}``."""
        if not isinstance(value, str):
            return value
        if not value.strip(" ,"):  # an empty Secret would open the API without a word
            raise ValueError("set but holds no key: give id:key pairs, or unset it for an open API")
        pairs: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            key_id, _, key = item.partition(":")
            if not key_id.strip() or not key.strip():
                raise ValueError("give API keys as id:key,id:key")
            if key_id.strip() in pairs:
                raise ValueError(f"two API keys share the id {key_id.strip()!r}")
            pairs[key_id.strip()] = key.strip()
        return pairs

    @field_validator("api_key")
    @classmethod
    def _not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("set but empty: give the key, or unset it for an open API")
        return value

    @model_validator(mode="after")
    def _one_id_per_key(self) -> Settings:
        if self.api_key is not None and "default" in self.api_keys:
            raise ValueError("NER_API_KEY is the key id 'default': NER_API_KEYS must not use that id too")
        return self

    @model_validator(mode="after")
    def _ports_apart(self) -> Settings:
        if self.port and self.metrics_port == self.port:
            raise ValueError(f"the metrics port is the service's, {self.port}: give NER_METRICS_PORT another")
        return self

    def accepted_keys(self) -> dict[str, bytes]:
        """Every accepted API key by its id; empty when the API is open."""
        keys = {key_id: key.get_secret_value().encode() for key_id, key in self.api_keys.items()}
        if self.api_key is not None:
            keys["default"] = self.api_key.get_secret_value().encode()
        return keys
