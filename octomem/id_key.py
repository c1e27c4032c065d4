"""The id key: the secret that makes memory ids unguessable.

Memory ids are deterministic (a retried write must land on the same id), so without a
secret anyone who knows a user_id could compute that user's ids. Ids are therefore
HMAC-SHA256 under a key per namespace (deployment and project, `Settings.namespace`):

- `id_key` in the settings (``OCTOMEM_ID_KEY``) when given; for a non-default project or
  deployment the key is derived from it (HMAC of the namespace), so one user and text in
  two projects on shared servers never get the same id;
- else, with the graph on a server (`resolve_server_id_key`): the key stored there, one
  per namespace, created atomically by the first host to open it; no key file is written
  on the app host (its data directory may be lost). A host with `id_key` set stores only
  a fingerprint of its key, never the key, and is refused if the stored one is another.
  A key file in the data directory (``id.key`` copied from embedded stores) is offered
  as the key when the server has none, and refused when it disagrees;
- else (embedded stores) the file ``id.key`` (mode 0600) in the project's directory,
  created with a random key the first time a project is opened. With a Chroma server
  and an embedded graph there is no shared place for the key: `id_key` (or a copy of
  ``data_dir/id.key``) is required, else hosts would store one memory under several
  ids. A directory that holds stores but no key file is refused: a new key would give
  its memories other ids.

The key is resolved once per Orchestrator, never kept in a global: several
Orchestrators on different data directories may share a process.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from octomem.errors import ConfigurationError
from octomem.settings import Settings

if TYPE_CHECKING:
    from octomem.stores.base import IdKeyStore

KEY_FILE = "id.key"
MIN_KEY_CHARS = 32
# what a data directory with stores holds (any of them)
_STORE_FILES = ("chroma", "graph", "history.sqlite", "journal.sqlite", "keyword.sqlite")


def resolve_id_key(settings: Settings) -> bytes:
    """The id key of `settings.project` with an embedded graph, creating the key file on
    first use. ConfigurationError if the configured key disagrees with it, or if there is
    no key for stores already written. (With the graph on a server:
    `resolve_server_id_key`.)"""
    store_dir = settings.store_dir
    path = store_dir / KEY_FILE
    stored = _read(path)
    project = settings.namespace
    if settings.id_key is not None:
        configured = project_key(settings.id_key.get_secret_value(), project)
        if stored is not None and stored != configured:
            raise ConfigurationError(
                f"data_dir {store_dir} was created with another id key ({path}); with id_key "
                "(OCTOMEM_ID_KEY) set, new memories would get other ids than the stored ones "
                "and retries would no longer be idempotent. Unset id_key, or use the key in "
                "that file on every host"
            )
        return configured.encode("utf-8")
    if stored is None:
        # servers other hosts use: each host's random key would give one memory several ids
        shared = settings.vector.shared or settings.graph.shared
        base = _read(settings.deployment_dir / KEY_FILE) if shared and project else None
        if base is not None:  # a project on servers: derived from the default project's
            return project_key(base, project).encode("utf-8")
        if any((store_dir / name).exists() for name in _STORE_FILES):
            raise ConfigurationError(
                f"data_dir {store_dir} holds stores but no id key ({path} is missing): a new "
                "key would give its memories other ids. Restore that file from a backup of "
                "this data_dir, or set id_key (OCTOMEM_ID_KEY) to the key its memories were "
                "written with"
            )
        if shared:
            raise ConfigurationError(
                "server stores (a Chroma server or a graph server) need an id key that every "
                "host using them shares: set id_key (OCTOMEM_ID_KEY) to one random secret "
                "of 32+ characters on every host, e.g. the output of python -c 'import "
                f"secrets; print(secrets.token_hex(32))' - or copy {KEY_FILE} from the "
                "data_dir of a host already serving these stores into this one"
            )
        stored = _create(path, secrets.token_hex(32))
    return stored.encode("utf-8")


async def resolve_server_id_key(settings: Settings, keys: IdKeyStore) -> bytes:
    """The id key of `settings.namespace` kept in `keys`, on the graph server (created there
    by the first host to ask). ConfigurationError if this host's configured key (or key
    file) disagrees with the stored one."""
    namespace = settings.namespace
    where = f"{keys.where}, deployment {settings.deployment!r}, project {settings.project!r}"
    configured = None
    if settings.id_key is not None:
        configured = project_key(settings.id_key.get_secret_value(), namespace)
    local = None if configured is not None else _local_key(settings)
    offered = configured or local or secrets.token_hex(32)
    stored = await keys.load_or_store(
        namespace,
        None if configured is not None else offered,  # a configured key never leaves the host
        fingerprint(offered),
        only_if_empty=configured is None and local is None,
    )
    if stored is None:
        raise ConfigurationError(
            f"{where} holds memories but no id key: they were written by hosts with id_key "
            "(OCTOMEM_ID_KEY) set or an id.key file, and a new key would give them other ids. "
            f"Set that id_key on this host, or copy that {KEY_FILE} into its data_dir "
            f"({settings.store_dir}) once: it is then stored on the server for every host"
        )
    if stored.key is not None and fingerprint(stored.key) != stored.check:
        raise ConfigurationError(
            f"the id key stored on {where} is damaged (its fingerprint does not match); "
            "restore the OctomemIdKey node from a backup of the graph database"
        )
    if configured is not None:
        if fingerprint(configured) != stored.check:
            what = (
                "holds another id key"
                if stored.key is not None
                else "holds the fingerprint of another configured id_key"
            )
            raise ConfigurationError(
                f"{where} {what}; with this host's id_key (OCTOMEM_ID_KEY), new memories "
                "would get other ids than the stored ones and retries would no longer be "
                "idempotent. Give every host of this deployment the same id_key, or unset "
                "it on every host (the key stored on the server is then used)"
            )
        return configured.encode("utf-8")
    if stored.key is None:
        raise ConfigurationError(
            f"the hosts of {where} use a configured id key (the server holds only its "
            "fingerprint): set the same id_key (OCTOMEM_ID_KEY) on this host"
        )
    if local is not None and local != stored.key:
        raise ConfigurationError(
            f"the id key in this host's data_dir ({settings.store_dir / KEY_FILE}, or the "
            f"default project's) differs from the one stored on {where}: this host made other "
            "ids than the other hosts. Remove the file to use the server's key (the "
            "memories this host wrote keep their ids), or restore the server's key"
        )
    return stored.key.encode("utf-8")


def fingerprint(key: str) -> str:
    """What tells two id keys apart without revealing them: an HMAC under the key."""
    return hmac.new(key.encode("utf-8"), b"octomem-id-key-check", hashlib.sha256).hexdigest()


def _local_key(settings: Settings) -> str | None:
    """The key file in the data directory, or one derived from the default project's."""
    stored = _read(settings.store_dir / KEY_FILE)
    if stored is None and settings.namespace:
        base = _read(settings.deployment_dir / KEY_FILE)
        if base is not None:
            return project_key(base, settings.namespace)
    return stored


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
    if len(text) < MIN_KEY_CHARS:
        raise ConfigurationError(
            f"the id key file {path} is damaged (expected {MIN_KEY_CHARS}+ characters); restore "
            "it from a backup of this data_dir - the ids of stored memories depend on it"
        )
    return text


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
