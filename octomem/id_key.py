"""The id key: the secret that makes memory ids unguessable.

Memory ids are deterministic (a retried write must land on the same id), so without a
secret anyone who knows a user_id could compute that user's ids (the core block's id is
a hash of its type, user and label). Ids are therefore HMAC-SHA256 under a key per
project directory (`Settings.store_dir`, `models.keyed_hash`):

- `id_key` in the settings (``OCTOMEM_ID_KEY``) when given: for deployments whose hosts
  share one Chroma / graph server and so must make the same ids (a new data directory
  with server stores and no key refuses to open: hosts making random keys of their own
  would store one memory - one core block - under several ids);
  for a non-default project the key is derived from it (HMAC of the project name), so one
  user and text in two projects on shared servers never get the same id;
- else the file ``id.key`` (mode 0600) in the project's directory, created with a random
  key the first time a project with embedded stores is opened (every project its own); a
  non-default project on server stores without `id_key` derives its key from the
  ``data_dir/id.key`` of the default project, if there is one;
- a data directory that already holds stores from before id keys (and no key file) keeps
  making the unkeyed ids it has always made: the file then says ``legacy-unkeyed``. Its
  stored ids, its core blocks and the ids of retried calls all stay what they were, so
  idempotence and "one core block per user" hold across the upgrade; owner checks on
  every id still keep one tenant from another's memories (see docs/operations.md,
  Privacy and security).

The key is resolved once per Orchestrator (`Services.id_key`), never kept in a global:
several Orchestrators on different data directories may share a process.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from octomem.errors import ConfigurationError
from octomem.settings import ChromaHttp, Neo4jConfig, Settings

KEY_FILE = "id.key"
LEGACY = "legacy-unkeyed"
MIN_KEY_CHARS = 32
# what a data directory written before id keys holds (any of them: it has stores)
_STORE_FILES = ("chroma", "graph", "history.sqlite", "journal.sqlite", "keyword.sqlite")


def resolve_id_key(settings: Settings) -> bytes | None:
    """The id key of `settings.project` (None: the legacy unkeyed ids), creating the key
    file on first use. ConfigurationError if the configured key disagrees with it."""
    store_dir = settings.store_dir
    path = store_dir / KEY_FILE
    stored = _read(path)
    project = settings.namespace
    if settings.id_key is not None:
        configured = project_key(settings.id_key.get_secret_value(), project)
        if stored is not None and stored != configured:
            what = (
                "keeps the unkeyed ids of a store made before id keys"
                if stored == LEGACY
                else "was created with another id key"
            )
            raise ConfigurationError(
                f"data_dir {store_dir} {what} ({path}); with id_key (OCTOMEM_ID_KEY) set, new "
                "memories would get other ids than the stored ones and retries would no longer "
                "be idempotent. Unset id_key, or use the key in that file on every host"
            )
        return configured.encode("utf-8")
    if stored is None:
        if _has_stores(store_dir):
            stored = _create(path, LEGACY)
        elif _shared(settings):
            base = _read(settings.data_dir / KEY_FILE) if project else None
            if base is not None and base != LEGACY:
                return project_key(base, project).encode("utf-8")
            raise ConfigurationError(
                "server stores (a Chroma server or a graph server) need an id key that every "
                "host using them shares: set id_key (OCTOMEM_ID_KEY) to one random secret "
                "of 32+ characters on every host, e.g. the output of python -c 'import "
                f"secrets; print(secrets.token_hex(32))' - or copy {KEY_FILE} from the "
                "data_dir of a host already serving these stores into this one"
            )
        else:
            stored = _create(path, secrets.token_hex(32))
    return None if stored == LEGACY else stored.encode("utf-8")


def project_key(key: str, project: str) -> str:
    """The id key of `project` ("" : the default project, whose key is `key` itself): an
    HMAC of the project name under `key`, so every project's ids differ from every other's
    while all hosts that share `key` make the same ones."""
    if not project:
        return key
    message = f"octomem-project:{project}".encode()
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"the id key file {path} cannot be read ({exc})") from exc
    if text != LEGACY and len(text) < MIN_KEY_CHARS:
        raise ConfigurationError(
            f"the id key file {path} is damaged (expected {MIN_KEY_CHARS}+ characters); restore "
            "it from a backup of this data_dir - the ids of stored memories depend on it"
        )
    return text


def _shared(settings: Settings) -> bool:
    """Whether the canonical stores are servers that other hosts may use too: each host
    making its own random key would give the same memory different ids there."""
    return isinstance(settings.vector, ChromaHttp) or isinstance(settings.graph, Neo4jConfig)


def _has_stores(data_dir: Path) -> bool:
    return any((data_dir / name).exists() for name in _STORE_FILES)


def _create(path: Path, content: str) -> str:
    """Write the key file atomically (complete, 0600); if another process or Orchestrator
    got there first, theirs wins and is returned."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another one got there first: theirs
            os.link(temp, path)  # atomic, and fails if the file exists
    except OSError as exc:
        raise ConfigurationError(
            f"the id key file {path} cannot be created ({exc}); make data_dir writable"
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    found = _read(path)
    if found is None:
        raise ConfigurationError(f"the id key file {path} was created but cannot be read back")
    return found
