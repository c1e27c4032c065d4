"""Typed configuration: a YAML file plus OCTOMEM_* environment variables.

This is the only module that reads the environment (the OCTOMEM_* variables, the MCP API
key and the user's cache directory). One switch of a third-party library is written to
it where that library is imported, because it reads it from there: litellm's local price
map (`octomem._litellm`).
Nested keys are overridden with a double underscore, e.g. ``OCTOMEM_DATA_DIR=/tmp/om`` or
``OCTOMEM_GRAPH__URI=bolt://...``. Unknown keys and bad values fail at start with a message
naming them. What each setting does, its default and its bounds: docs/configuration.md
(`tests/unit/test_docs.py` checks that it names every one).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from octomem.errors import ConfigurationError
from octomem.models import MemoryType

DEFAULT_PROJECT = "default"
DEFAULT_DEPLOYMENT = "default"
_PROJECT_RE = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?")
PROJECTS_DIR = "projects"  # data_dir/projects/<project>: a non-default project's files
DEPLOYMENTS_DIR = "deployments"  # data_dir/deployments/<deployment>: a named deployment's


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- stores ----------------------------------------------------------------------------
# What code outside `octomem.stores` may ask of a store's config is its `shared` flag
# (a server other hosts may use too: what they must agree on cannot be one host's file);
# the backend behind a config is `octomem.stores.open`'s to know.


class ChromaEmbedded(_Strict):
    shared: ClassVar[bool] = False
    provider: Literal["chroma"] = "chroma"
    mode: Literal["embedded"] = "embedded"
    collection_prefix: str = "octomem"
    cache_records: int = Field(100_000, ge=0)
    cache_mb: int = Field(64, ge=0)


class ChromaHttp(_Strict):
    shared: ClassVar[bool] = True
    provider: Literal["chroma"] = "chroma"
    mode: Literal["http"]
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    ssl: bool = False
    headers: dict[str, str] = Field(default_factory=dict)
    collection_prefix: str = "octomem"
    retry_s: float = Field(
        15.0,
        ge=0,
    )
    timeout_s: float = Field(
        10.0,
        gt=0,
    )


def _kind(key: str, *kinds: str) -> Discriminator:
    """Which of `kinds` a section is, by its `key`: without one, the first kind, so that a
    section's other keys alone (``OCTOMEM_VECTOR__COLLECTION_PREFIX=x``) change that one,
    and a section that is no mapping at all is refused as that kind refuses it."""

    def kind(value: Any) -> Any:
        return (
            value.get(key, kinds[0]) if isinstance(value, dict) else getattr(value, key, kinds[0])
        )

    expected = ", ".join(kinds)
    return Discriminator(
        kind,
        custom_error_type="unknown_kind",
        custom_error_message=f"{key} must be one of {expected}",
    )


VectorConfig = Annotated[
    Annotated[ChromaEmbedded, Tag("embedded")] | Annotated[ChromaHttp, Tag("http")],
    _kind("mode", "embedded", "http"),
]


class LadybugConfig(_Strict):
    shared: ClassVar[bool] = False
    provider: Literal["ladybug"] = "ladybug"


class Neo4jConfig(_Strict):
    shared: ClassVar[bool] = True
    provider: Literal["neo4j"]
    uri: str = "bolt://localhost:7687"
    user: str = "neo4j"
    password: SecretStr = SecretStr("")
    database: str | None = None
    timeout_s: float = Field(
        30.0,
        gt=0,
    )


GraphConfig = Annotated[
    Annotated[LadybugConfig, Tag("ladybug")] | Annotated[Neo4jConfig, Tag("neo4j")],
    _kind("provider", "ladybug", "neo4j"),
]


# --- models ----------------------------------------------------------------------------


def _user_path(path: Path) -> Path:
    """`path` with "~" as the user's home; a NUL byte (which no file system takes, and
    os refuses with a bare ValueError when the folder is made) is refused here."""
    if "\x00" in str(path):
        raise ValueError("a path cannot hold a NUL byte")
    return path.expanduser()


UserPath = Annotated[Path, AfterValidator(_user_path)]  # "~" is the user's home


class LocalEmbedderConfig(_Strict):
    provider: Literal["local"] = "local"
    model: Literal["all-MiniLM-L6-v2", "bge-small-en-v1.5"] = "all-MiniLM-L6-v2"
    batch_size: int = Field(64, ge=1)
    device: str = "cpu"
    sha256: str | None = None
    backend: Literal["auto", "onnx", "torch"] = "auto"
    threads: int | None = Field(None, ge=1, le=64)
    cache_mb: int = Field(32, ge=0)


class LiteLLMEmbedderConfig(_Strict):
    provider: Literal["litellm"]
    model: str
    batch_size: int = Field(64, ge=1)
    dimension: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    cache_mb: int = Field(32, ge=0)


EmbedderConfig = Annotated[
    Annotated[LocalEmbedderConfig, Tag("local")] | Annotated[LiteLLMEmbedderConfig, Tag("litellm")],
    _kind("provider", "local", "litellm"),
]


class LLMConfig(_Strict):
    model: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    extraction_mode: Literal["single_call", "per_agent"] = "single_call"
    structured_output: Literal["auto", "json_schema", "json_object", "json_object_schema"] = "auto"
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(3, ge=0)
    chunk_tokens: int = Field(6000, ge=200)
    reconcile: bool = True
    related_limit: int = Field(5, ge=1)
    related_min_similarity: float = Field(0.55, ge=0, le=1)
    prompts: dict[MemoryType, str] = Field(default_factory=dict)


# --- behaviour -------------------------------------------------------------------------


class AgentsConfig(_Strict):
    enabled: list[MemoryType] = Field(default_factory=lambda: list(MemoryType))
    working_ttl_s: int = Field(86_400, gt=0)
    core_char_limit: int = Field(2000, ge=100)
    fact_keys: bool = False

    @property
    def working_ttl(self) -> timedelta:
        return timedelta(seconds=self.working_ttl_s)


class ReconcileConfig(_Strict):
    near_duplicate_threshold: float = Field(0.92, gt=0, le=1)


class RetrieverWeights(_Strict):
    vector: float = Field(1.0, ge=0)
    keyword: float = Field(0.5, ge=0)
    graph: float = Field(0.25, ge=0)
    unnamed: float = Field(
        0.5,
        ge=0,
    )


class RrfWeights(RetrieverWeights):
    """Rank fusion's weights: ranks carry no scale, so BM25's ranks count fully there."""

    vector: float = Field(0.7, ge=0)
    keyword: float = Field(1.0, ge=0)
    unnamed: float = Field(0.0, ge=0)


class RecallConfig(_Strict):
    limit: int = Field(10, ge=1)
    fusion: Literal["score", "rrf"] = "score"
    rrf_k: int = Field(10, ge=1)
    candidates: int = Field(50, ge=1)
    keyword_max_scored: int = Field(
        2000,
        ge=0,
    )
    graph_hops: int = Field(1, ge=0, le=3)
    weights: RetrieverWeights = Field(default_factory=RetrieverWeights)
    rrf_weights: RrfWeights = Field(
        default_factory=RrfWeights,
    )
    agent_weights: dict[MemoryType, float] = Field(default_factory=dict)
    cue_boost: float = Field(1.5, ge=1)
    actor_boost: float = Field(2.0, ge=1)
    time_boost: float = Field(2.0, ge=1)
    context_hits: int = Field(20, ge=0)
    context_weight: float = Field(0.6, ge=0)
    stale_weight: float = Field(
        0.5,
        ge=0,
        le=1,
    )
    ranker: Literal["fusion", "learned"] = "fusion"
    ranker_pool: int = Field(50, ge=1)


class TelemetryConfig(_Strict):
    exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str | None = None
    service_name: str = "octomem"


class InputConfig(_Strict):
    max_message_chars: int = Field(100_000, ge=1)
    max_import_line_bytes: int = Field(
        64 << 20,
        ge=1024,
    )


FetchScheme = Literal["http", "https"]


class FetchConfig(_Strict):
    """Remote http(s) URLs in content parts: off unless enabled."""

    enabled: bool = False
    schemes: list[FetchScheme] = Field(
        default_factory=lambda: list[FetchScheme](["https"]),
    )
    timeout_s: float = Field(10.0, gt=0)
    max_redirects: int = Field(3, ge=0)
    allow_private: bool = False


class MediaConfig(_Strict):
    """Images, PDFs and documents in message content parts (docs/agents.md)."""

    max_bytes: int = Field(20_000_000, ge=1)
    max_parts: int = Field(16, ge=0)
    max_pixels: int = Field(25_000_000, ge=1)
    max_pages: int = Field(300, ge=1)
    max_ocr_pages: int = Field(20, ge=0)
    max_text_chars: int = Field(500_000, ge=1)
    chunk_chars: int = Field(1_500, ge=200)
    ocr: bool = True
    local_files: bool = True
    vision: Literal["auto", "on", "off"] = "auto"
    vision_max_images: int = Field(4, ge=0)
    vision_max_side: int = Field(1024, ge=64)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    keep_originals: bool = False


class IngestConfig(_Strict):
    """`octomem ingest PATH`: files and folders read as resource memories (docs/cli.md)."""

    max_files: int = Field(10_000, ge=1)
    max_file_bytes: int = Field(20_000_000, ge=1)
    max_total_bytes: int = Field(2_000_000_000, ge=1)
    hidden: bool = False
    max_messages: int = Field(100_000, ge=1)
    max_unpacked_bytes: int = Field(500_000_000, ge=1)


class ConcurrencyConfig(_Strict):
    lock_timeout_s: float = Field(120.0, gt=0)
    lease_ttl_s: float = Field(30.0, gt=0)


class ServiceConfig(_Strict):
    """`octomem serve`: limits, audit trail and token signing of the HTTP service."""

    rate_limit_per_minute: int = Field(600, ge=1)
    max_body_bytes: int = Field(2_000_000, ge=1024)
    max_import_bytes: int = Field(
        1 << 30,
        ge=1024,
    )
    max_messages: int = Field(200, ge=1)
    max_query_chars: int = Field(4000, ge=1)
    max_page_size: int = Field(1000, ge=1)
    deadline_s: float = Field(60.0, gt=0)
    max_concurrent: int = Field(64, ge=1)
    reserved_slots: int | None = Field(
        None,
        ge=0,
    )

    @model_validator(mode="after")
    def _slots_left_to_a_key(self) -> ServiceConfig:
        if self.reserved_slots is not None and self.reserved_slots >= self.max_concurrent:
            raise ValueError(
                f"service.reserved_slots ({self.reserved_slots}) must be less than "
                f"service.max_concurrent ({self.max_concurrent}): a key could run nothing"
            )
        return self

    @property
    def slots_per_key(self) -> int:
        """How many requests one key runs at once (`reserved_slots`)."""
        reserved = self.reserved_slots
        return self.max_concurrent - (self.max_concurrent // 8 if reserved is None else reserved)

    audit_log: UserPath | None = None
    audit_max_mb: int = Field(100, ge=1)
    audit_backups: int = Field(10, ge=0)
    jwt_secret: SecretStr | None = None
    jwt_previous_secrets: list[SecretStr] = Field(default_factory=list)
    token_ttl_s: int = Field(900, ge=30, le=86_400)
    shutdown_grace_s: float = Field(30.0, ge=0)
    max_open_projects: int = Field(16, ge=1)

    @field_validator("jwt_secret", "jwt_previous_secrets")
    @classmethod
    def _secret_long_enough(cls, value: Any) -> Any:
        for secret in value if isinstance(value, list) else [value]:
            if secret is not None and len(secret.get_secret_value().strip()) < 32:
                raise ValueError(
                    "a JWT secret must be at least 32 characters: a random secret, e.g. "
                    "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                )
        return value


# --- root ------------------------------------------------------------------------------


class Settings(BaseSettings):
    """The whole configuration. Build it with `load_settings`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix="OCTOMEM_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: UserPath = Path("~/.octomem")
    project: str = DEFAULT_PROJECT
    deployment: str = DEFAULT_DEPLOYMENT
    id_key: SecretStr | None = None
    vector: VectorConfig = Field(default_factory=ChromaEmbedded)
    graph: GraphConfig = Field(default_factory=LadybugConfig)
    embedder: EmbedderConfig = Field(default_factory=LocalEmbedderConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    recall: RecallConfig = Field(default_factory=RecallConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    input: InputConfig = Field(default_factory=InputConfig)
    media: MediaConfig = Field(default_factory=MediaConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    concurrency: ConcurrencyConfig = Field(default_factory=ConcurrencyConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)

    @field_validator("id_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 32:
            raise ValueError(
                "id_key must be at least 32 characters: a random secret, e.g. the output of "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        return value

    @model_validator(mode="after")
    def _originals_kept_locally(self) -> Settings:
        if self.media.keep_originals and (self.vector.shared or self.graph.shared):
            raise ValueError(
                "media.keep_originals needs embedded stores: with a Chroma or Neo4j server "
                "the hosts share no data directory, so a blob one host kept would be missing "
                "on the others. Turn it off (only the text read and the sha256 are kept)"
            )
        return self

    @field_validator("project", "deployment")
    @classmethod
    def _project_name(cls, value: str, info: ValidationInfo) -> str:
        if not valid_project(value):
            raise ValueError(
                f"a {info.field_name} name is 1-40 characters: lowercase letters, digits, "
                "'-' and '_', "
                "starting and ending with a letter or digit (it names directories and "
                "collections), e.g. 'acme' or 'team-2'"
            )
        return value

    @property
    def deployment_dir(self) -> Path:
        """Where this deployment's files live: data_dir for the default deployment, else
        data_dir/deployments/<deployment> (deployments sharing a data directory share
        no file)."""
        if self.deployment == DEFAULT_DEPLOYMENT:
            return self.data_dir
        return self.data_dir / DEPLOYMENTS_DIR / self.deployment

    @property
    def store_dir(self) -> Path:
        """Where this project's files live (keyword index, history, journal, embedded
        Chroma and graph, id.key): `deployment_dir` for the default project, else
        `deployment_dir`/projects/<project>."""
        if self.project == DEFAULT_PROJECT:
            return self.deployment_dir
        return self.deployment_dir / PROJECTS_DIR / self.project

    @property
    def project_namespace(self) -> str:
        """The project as shared servers scope by it: "" for the default project (its
        collections and graph nodes keep the names they had before projects)."""
        return "" if self.project == DEFAULT_PROJECT else self.project

    @property
    def namespace(self) -> str:
        """What the graph server's stores scope by (`graph_common.Namespace`) and the id
        key is derived with: the project's (`project_namespace`) in the default deployment,
        else ``<deployment>.<project_namespace>`` (a project name holds no '.')."""
        if self.deployment == DEFAULT_DEPLOYMENT:
            return self.project_namespace
        return f"{self.deployment}.{self.project_namespace}"

    @property
    def collection_prefix(self) -> str:
        """The Chroma collection prefix of this deployment and project: the configured one,
        with ``-p-<project>`` for a non-default project of the default deployment, and
        ``.<deployment>`` (then ``.<project>`` for a non-default project) for a named
        deployment. No deployment or project name holds a '.', so no two deployments and
        projects share a collection on one Chroma server, whatever their names."""
        prefix = self.vector.collection_prefix
        if self.deployment != DEFAULT_DEPLOYMENT:
            prefix += f".{self.deployment}"
            return f"{prefix}.{self.project}" if self.project_namespace else prefix
        return f"{prefix}-p-{self.project}" if self.project_namespace else prefix

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # keyword arguments > OCTOMEM_* environment (`load_settings` puts a YAML file's
        # data below both)
        return (init_settings, env_settings)


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    """The layers' keys, a later layer's value winning; mappings merged key by key (as
    pydantic-settings merges its sources)."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            below = out.get(key)
            if isinstance(below, dict) and isinstance(value, dict):
                value = merged(below, value)
            out[key] = value
    return out


SHIPPED_CONFIGS = Path(__file__).parent / "configs"


def config_path(path: str | os.PathLike[str]) -> Path:
    """`path`, or where it does not exist and names a config that ships with octomem
    ("server", "server.yaml" or "configs/server.yaml"), the shipped file: the README's
    `configs/...` paths work from an installed package too."""
    given = Path(path)
    if given.exists() or given.parent not in (Path("."), Path("configs")):
        return given
    shipped = SHIPPED_CONFIGS / (given.name if given.suffix else f"{given.name}.yaml")
    return shipped if shipped.is_file() else given


def _read_yaml(path: Path) -> dict[str, Any]:
    path = config_path(path)
    if path.is_dir():  # load_settings("./om-data"): its first argument is the config file
        raise ConfigurationError(
            f"config file {path} is a folder: give a YAML file (a data directory is "
            "data_dir, --data-dir on the command line)"
        )
    if not path.is_file():
        raise ConfigurationError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"config file {path} is not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"config file {path} is not UTF-8 text (invalid byte at position {exc.start})"
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"config file {path} cannot be read: {exc.strerror or exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"config file {path} must hold a mapping of keys at the top")
    return data


# settings whose value is a secret, named anywhere in a key's path (graph.neo4j.password)
_SECRET_PARTS = {"id_key", "password", "api_key", "jwt_secret", "jwt_previous_secrets", "headers"}


def _describe(exc: ValidationError, layers: list[tuple[str, dict[str, Any]]]) -> str:
    """The errors of `exc`, each key named with where its value came from: the last of
    `layers` (origin, data), as they were merged, that holds the key."""
    lines = []
    for error in exc.errors():
        parts = [str(part) for part in error["loc"] if not str(part).startswith("function")]
        key = ".".join(parts)
        origin = next((name for name, data in reversed(layers) if _holds(data, parts)), "")
        if origin == _ENVIRONMENT:
            origin = f"environment variable OCTOMEM_{'__'.join(parts).upper()}"
        where = f" (set in {origin})" if origin else ""
        if error["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key{where}")
        elif _SECRET_PARTS & set(parts):  # never echo a secret
            lines.append(f"  {key}: {error['msg']}{where}")
        else:
            lines.append(f"  {key}: {error['msg']} (got {error.get('input')!r}){where}")
    return "invalid configuration:\n" + "\n".join(lines)


_ENVIRONMENT = "the environment"


def _holds(data: Any, parts: list[str]) -> bool:
    """Whether `data` (nested mappings) has a value at the key path `parts`."""
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read a YAML config (optional), apply OCTOMEM_* env vars, then keyword overrides.

    Keyword overrides win over both, e.g. ``load_settings("configs/default.yaml",
    data_dir="./om-data")``. Raises ConfigurationError naming any bad key or value and
    where it was set (the file, the environment variable, the keyword arguments).
    """
    if path is not None and not isinstance(path, str | os.PathLike):
        raise ConfigurationError(
            f"the config must be a YAML file's path (a str or a Path), got {type(path).__name__}"
        )
    file_data = _read_yaml(Path(path)) if path is not None else {}
    environment = EnvSettingsSource(Settings)()
    layers = [
        (f"config file {path}", file_data),
        (_ENVIRONMENT, environment),
        ("keyword arguments", overrides),
    ]
    try:
        # keyword overrides > OCTOMEM_* environment > the YAML file > the defaults
        return Settings(**merged(file_data, environment, overrides))
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc, layers)) from exc


def for_remote_callers(settings: Settings) -> Settings:
    """`settings` for a server whose callers are elsewhere (`octomem serve`, MCP over
    HTTP): content parts never name the server's own files, whatever the configuration
    says (`media.local_files` off). Remote URLs still follow `media.fetch`."""
    if not settings.media.local_files:
        return settings
    media = settings.media.model_copy(update={"local_files": False})
    return settings.model_copy(update={"media": media})


def mcp_api_key() -> str | None:
    """The MCP server's API key from OCTOMEM_MCP_API_KEY (None when unset or empty). Read
    from the environment only, never from a command line that `ps` would show."""
    value = os.environ.get("OCTOMEM_MCP_API_KEY", "").strip()
    return value or None


def valid_project(name: str) -> bool:
    """Whether `name` may name a project (it names directories and collections)."""
    return isinstance(name, str) and bool(_PROJECT_RE.fullmatch(name))


def config_file_from_env() -> str | None:
    """The config file `octomem serve` hands its worker processes (OCTOMEM_CONFIG_FILE)."""
    return os.environ.get("OCTOMEM_CONFIG_FILE") or None
