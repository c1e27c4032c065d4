"""What an `ingest` run knows of the files it stored before: their records' `ingest_*`
metadata (see `octomem.orchestrator.ingest`), read back and grouped by file and version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from octomem.models import MemoryBase, keyed_hash

ROOT, PATH, SHA, SIZE, MTIME = (
    "ingest_root", "ingest_path", "ingest_sha256", "ingest_size", "ingest_mtime_ns"
)  # fmt: skip
KEY, ROOT_KEY = "ingest_key", "ingest_root_key"  # keyed hashes: what masking leaves alone
FIELDS = (ROOT, PATH, SHA, SIZE, MTIME, KEY, ROOT_KEY)
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

    def idents(self, rel: str) -> tuple[Ident, Ident]:
        """What the records of `rel` are found by: its key, or (records written before
        there were keys) the root and path."""
        return self.key(rel), (self.root, rel)

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


Ident = str | tuple[Any, Any]


def file_of(meta: dict[str, Any]) -> Ident:
    """The file a record was read from: its key (the root and path before there were keys)."""
    key = meta.get(KEY)
    return key if isinstance(key, str) else (meta.get(ROOT), meta.get(PATH))


@dataclass(frozen=True)
class Stored:
    """The current records of one ingested file, by the sha256 of the version they hold,
    and its path as stored (masked if it held a secret)."""

    by_sha: dict[str, list[MemoryBase]]
    path: str = ""

    @staticmethod
    def merged(parts: Sequence[Stored]) -> Stored | None:
        if len(parts) <= 1:
            return parts[0] if parts else None
        by_sha: dict[str, list[MemoryBase]] = {}
        for part in parts:
            for sha, records in part.by_sha.items():
                by_sha.setdefault(sha, []).extend(records)
        return Stored(by_sha, parts[0].path)

    def looks_unchanged(self, size: int, mtime_ns: int) -> bool:
        if len(self.by_sha) != 1:
            return False
        records = next(iter(self.by_sha.values()))
        meta = records[0].metadata
        return bool(meta.get(SIZE) == size and meta.get(MTIME) == str(mtime_ns))


GetAll = Callable[..., Awaitable[list[MemoryBase]]]


async def records_of(
    get_all: GetAll, user_id: str | None, agent_id: str | None, where: dict[str, Any]
) -> list[MemoryBase]:
    filters = {"AND": [{f"metadata.{k}": {"eq": v}} for k, v in where.items()]}
    return await get_all(user_id=user_id, agent_id=agent_id, filters=filters)


async def stored_files(
    get_all: GetAll, names: Names, user_id: str | None, agent_id: str | None
) -> dict[Ident, Stored]:
    """The current records of every file ingested under the root before, by file (`file_of`):
    found by the root's key, and by its path for records written before there were keys."""
    keyed = await records_of(get_all, user_id, agent_id, {ROOT_KEY: names.root_key})
    records = {r.id: r for r in keyed}
    for record in await records_of(get_all, user_id, agent_id, {ROOT: names.root}):
        if KEY not in record.metadata:
            records.setdefault(record.id, record)
    out: dict[Ident, dict[str, list[MemoryBase]]] = {}
    shown: dict[Ident, str] = {}
    for record in records.values():
        rel, sha = record.metadata.get(PATH), record.metadata.get(SHA)
        if isinstance(rel, str) and isinstance(sha, str):
            ident = file_of(record.metadata)
            out.setdefault(ident, {}).setdefault(sha, []).append(record)
            shown.setdefault(ident, rel)
    return {ident: Stored(by_sha, shown[ident]) for ident, by_sha in out.items()}
