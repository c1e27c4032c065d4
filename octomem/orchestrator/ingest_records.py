"""What an `ingest` run knows of the files it stored before: their records' `ingest_*`
metadata (see `octomem.orchestrator.ingest`), read back and grouped by file and version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from octomem.models import MemoryBase, keyed_hash

ROOT, PATH, SHA, SIZE, MTIME = (
    "ingest_root", "ingest_path", "ingest_sha256", "ingest_size", "ingest_mtime_ns"
)  # fmt: skip
KEY, ROOT_KEY = "ingest_key", "ingest_root_key"  # keyed hashes: what masking leaves alone
FIELDS = (ROOT, PATH, SHA, SIZE, MTIME, KEY, ROOT_KEY)
# an archive's record: what its conversation says (`archives.said_digest`), its own when
# the record is handed to another file (not a field of the file)
SAID = "ingest_said_sha256"
# an archive's record written before the last write of its version's read: each of its
# conversations is a write of its own, so a run stopped between them leaves the version
# part stored, and its sha256 alone would have the next run take it for read (`Stored.whole`)
PARTIAL = "ingest_partial"
ACTOR = "ingest"  # what ingested records' history events name as their writer


@dataclass(frozen=True)
class Names:
    """How the files of one root are named in their records' metadata."""

    root: str
    id_key: bytes | None

    @property
    def root_key(self) -> str:
        return keyed_hash(self.id_key, "octomem-ingest-root", self.root)

    def key(self, rel: str) -> str:
        return keyed_hash(self.id_key, "octomem-ingest", self.root, rel)

    def meta(self, rel: str, sha: str, size: int, mtime_ns: int) -> dict[str, Any]:
        return {
            ROOT: self.root,
            PATH: rel,
            SHA: sha,
            SIZE: size,
            MTIME: str(mtime_ns),
            KEY: self.key(rel),
            ROOT_KEY: self.root_key,
        }


@dataclass(frozen=True)
class Stored:
    """The current records of one ingested file, by the sha256 of the version they hold,
    and its path as stored (masked if it held a secret)."""

    by_sha: dict[str, list[MemoryBase]]
    path: str = ""

    @property
    def said(self) -> set[str]:
        """What the conversations of an archive stored say (`SAID`): none for a document."""
        return {
            str(r.metadata[SAID]) for rs in self.by_sha.values() for r in rs if SAID in r.metadata
        }

    def whole(self, sha: str) -> bool:
        """Whether version `sha` was stored by a read to its end: a record of it not marked
        `PARTIAL` (an archive's last write of the version; every record of a document)."""
        return any(not r.metadata.get(PARTIAL) for r in self.by_sha.get(sha, ()))

    def looks_unchanged(self, size: int, mtime_ns: int) -> bool:
        if len(self.by_sha) != 1:
            return False
        [(sha, records)] = self.by_sha.items()
        meta = records[0].metadata
        same = meta.get(SIZE) == size and meta.get(MTIME) == str(mtime_ns)
        return bool(same and self.whole(sha))


GetAll = Callable[..., Awaitable[list[MemoryBase]]]


async def stored_files(
    get_all: GetAll, names: Names, user_id: str | None, agent_id: str | None
) -> dict[str, Stored]:
    """The current records of every file ingested under the root before, by file key."""
    out: dict[str, dict[str, list[MemoryBase]]] = {}
    shown: dict[str, str] = {}
    filters = {f"metadata.{ROOT_KEY}": {"eq": names.root_key}}
    for record in await get_all(user_id=user_id, agent_id=agent_id, filters=filters):
        key, rel, sha = (record.metadata.get(name) for name in (KEY, PATH, SHA))
        if isinstance(key, str) and isinstance(rel, str) and isinstance(sha, str):
            out.setdefault(key, {}).setdefault(sha, []).append(record)
            shown.setdefault(key, rel)
    return {key: Stored(by_sha, shown[key]) for key, by_sha in out.items()}
