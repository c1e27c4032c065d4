"""The original bytes of image and file parts (`media.keep_originals`, off by default):
which are kept, read back, checked and carried by export/import; the blob store's writes
and removals are `octomem.orchestrator.write.blobs`'.

Each piece of text read from a part (`Turn.internal["media"]`, then the provenance of its
resource memory and of the raw turn) says what became of the part's bytes in
``"original"``: `KEPT` (a blob of the user named by the part's sha256), `WITHHELD_SECRET`
(masking found a secret in what was read from the part, its name or its metadata
(`parts.holds_secret`): the bytes, which hold it too, never reach disk),
`WITHHELD_BYTES` (masking found a secret in the text of the bytes no reader read: the
printable runs of a PNG's data after its end, of a private chunk, of an unreferenced PDF
object or comment; `media.strings`), or `WITHHELD_UNREAD` (text OCR did not read: it
could not be checked). An image shown to a vision model is `PENDING` until the model's
reply is masked: a secret found there (the model may read one OCR missed) withholds its
bytes, else they are kept (`write.blobs.settle`); they reach disk only then.

A blob lives as long as one of its user's records (current or superseded) says it was
kept. With a Chroma or Neo4j server there is no blob store: every function here is then a
no-op.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from octomem.errors import InvalidInputError
from octomem.media.parts import holds_secret, masked_piece, read_part
from octomem.media.parts import unread as not_read
from octomem.media.strings import holds_secret as bytes_hold_secret
from octomem.models import MemoryBase, StoreDifferences, Turn
from octomem.orchestrator.retrieval import every_record
from octomem.scopes import scope_filter
from octomem.settings import MediaConfig
from octomem.stores.blobs import is_sha256
from octomem.validation import validate_scope_id

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

KEPT = "kept"
WITHHELD_SECRET = "withheld: secret"
WITHHELD_UNREAD = "withheld: text not read"
WITHHELD_BYTES = "withheld: secret in its bytes"
PENDING = "pending: vision"  # shown to a vision model: kept or withheld once it replied

Record = MemoryBase | Mapping[str, Any]
_Item = TypeVar("_Item", MemoryBase, Turn)


def marked(turn: Turn, *, shown: bool = False) -> Turn:
    """`turn` (already masked) with each media piece's ``"original"``, and only the bytes
    that may be kept in `turn.originals`. With `shown` (the call shows images to a vision
    model), the images it may show (`turn.images`, screened) are `PENDING` instead of kept."""
    pieces = turn.internal.get("media") or []
    if not pieces:
        return turn
    fate = checked(fates(pieces), turn.originals)
    if shown:
        showable = {image.sha256 for image in turn.images}
        fate = {sha: PENDING if f == KEPT and sha in showable else f for sha, f in fate.items()}
    out = _remarked(turn, lambda piece: fate[piece["sha256"]])
    out._originals = {
        sha: data for sha, data in turn.originals.items() if fate.get(sha) in (KEPT, PENDING)
    }
    return out


def _remarked(item: _Item, fate: Callable[[Mapping[str, Any]], str | None]) -> _Item:
    """`item` with each media piece that `fate` gives a new ``"original"`` re-marked;
    `item` itself when none is."""
    media = item.internal.get("media")
    items = media if isinstance(media, list) else [media]
    fates_ = [fate(p) if isinstance(p, Mapping) else None for p in items]
    if not any(fates_):
        return item
    out = [{**p, "original": f} if f else p for p, f in zip(items, fates_, strict=True)]
    new = out if isinstance(media, list) else out[0]
    return item.model_copy(update={"internal": {**item.internal, "media": new}})


def pending(record: MemoryBase) -> bool:
    """Whether `record` names a piece that waits on a vision model's reply (`PENDING`)."""
    return settled(record, ()) is not record


def settled(item: _Item, withheld: Collection[str]) -> _Item:
    """`item` with its `PENDING` pieces settled: withheld if their sha256 is in `withheld`
    (a secret was found in the reply of a call shown them), else kept."""

    def fate(piece: Mapping[str, Any]) -> str | None:
        if piece.get("original") != PENDING:
            return None
        return WITHHELD_SECRET if piece.get("sha256") in withheld else KEPT

    return _remarked(item, fate)


def withdrawn(record: MemoryBase, shas: Collection[str]) -> MemoryBase:
    """`record` with each piece kept whose sha256 is in `shas` withheld instead."""
    return _remarked(
        record,
        lambda p: (
            WITHHELD_SECRET if p.get("original") == KEPT and p.get("sha256") in shas else None
        ),
    )


def items(media: Any) -> list[Mapping[str, Any]]:
    items = media if isinstance(media, list) else [media]
    return [p for p in items if isinstance(p, Mapping)]


def fates(pieces: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """What becomes of each part's bytes, by sha256, from the masked pieces read from it."""
    pieces = list(pieces)
    secret = {p["sha256"] for p in pieces if holds_secret(p)}
    unread = {p["sha256"] for p in pieces if not_read(p)}
    return {
        p["sha256"]: WITHHELD_SECRET
        if p["sha256"] in secret
        else WITHHELD_UNREAD
        if p["sha256"] in unread
        else KEPT
        for p in pieces
    }


def checked(fate: Mapping[str, str], data: Mapping[str, bytes]) -> dict[str, str]:
    """`fate` with each part it keeps withheld (`WITHHELD_BYTES`) when masking finds a
    secret in its bytes (`data`, by sha256) where no reader looked (`media.strings`)."""
    return {
        sha: WITHHELD_BYTES if f == KEPT and sha in data and bytes_hold_secret(data[sha]) else f
        for sha, f in fate.items()
    }


def kept_names(record: Record) -> list[Any]:
    """What `record` names each file it says was kept by (its sha256, unless edited)."""
    internal = record.internal if isinstance(record, MemoryBase) else record.get("internal")
    media = internal.get("media") if isinstance(internal, Mapping) else None
    return [item.get("sha256") for item in items(media) if item.get("original") == KEPT]


def kept(record: Record) -> set[str]:
    """The sha256 of every blob `record` says was kept."""
    return {name for name in kept_names(record) if isinstance(name, str)}


def user_of(record: Record) -> str | None:
    return record.user_id if isinstance(record, MemoryBase) else record.get("user_id")


async def read(services: Services, user_id: str, sha256: str) -> bytes | None:
    store = services.blobs
    if store is None:
        return None
    return await asyncio.to_thread(store.get, user_id, sha256)


async def referenced(services: Services, user_id: str | None) -> set[str]:
    """The blobs the user's stored records (every type, current or superseded) name."""
    where = scope_filter(user_id)
    foreign = (await services.vector.foreign_records(where)).values()
    found: list[Record] = [*await every_record(services, where), *(d for f in foreign for d in f)]
    return {sha for record in found for sha in kept(record)}


async def check(services: Services, records: Iterable[Record]) -> StoreDifferences | None:
    """How the blob directory differs from what the records name, as ``<user key>/<name>``:
    `extra` orphans (and temporary files a crash left), `missing`, `stale` (damaged). None
    when there is no blob directory and no record names a blob."""
    store = services.blobs
    if store is None:
        return None
    wanted = {(store.user_key(user_of(r)), sha) for r in records for sha in kept(r)}

    def compare() -> StoreDifferences | None:
        found = {(key, name) for key, names in store.listing().items() for name in names}
        if not found and not wanted:
            return None
        diff = StoreDifferences(store="blobs")
        diff.extra = sorted(f"{k}/{n}" for k, n in found - wanted)
        diff.missing = sorted(f"{k}/{n}" for k, n in wanted - found)
        diff.stale = sorted(
            f"{k}/{n}" for k, n in found & wanted if not store.intact(store.file(k, n))
        )
        return diff

    return await asyncio.to_thread(compare)


async def export_lines(services: Services, records: Iterable[Record]) -> list[dict[str, Any]]:
    """A ``blob`` line per kept blob the records name: ``{"type": "blob", "user_id",
    "sha256", "data": <base64>}`` (a missing or damaged blob is left out: doctor says so)."""
    store = services.blobs
    if store is None:
        return []
    wanted = sorted(
        {(user_of(r), sha) for r in records for sha in kept(r)},
        key=lambda pair: (pair[0] is not None, pair[0] or "", pair[1]),
    )

    def read_all() -> list[dict[str, Any]]:
        lines = []
        for user_id, sha in wanted:
            data = store.get(user_id, sha)
            if data is not None:
                encoded = base64.b64encode(data).decode("ascii")
                lines.append({"type": "blob", "user_id": user_id, "sha256": sha, "data": encoded})
        return lines

    return await asyncio.to_thread(read_all)


def parse_blob_line(line: Mapping[str, Any], media: MediaConfig) -> tuple[str | None, str, bytes]:
    """(user, sha256, bytes) of an export's ``blob`` line, checked against its sha256 and
    read again as a part is (`screen`); InvalidInputError for a bad one."""
    sha, user_id, encoded = line.get("sha256"), line.get("user_id"), line.get("data")
    if not is_sha256(sha) or not isinstance(encoded, str):
        raise InvalidInputError(
            "a blob line of the export needs 'sha256' (64 lowercase hex digits) and "
            "'data' (base64); nothing was imported"
        )
    if user_id is not None:
        validate_scope_id("user_id", user_id)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(
            f"blob {sha} of the export is not valid base64 ({exc}); nothing was imported"
        ) from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise InvalidInputError(
            f"blob {sha} of the export (user {user_id!r}) does not hash to its sha256: "
            "the file is damaged or was edited; nothing was imported"
        )
    screen(str(sha), data, media)
    return user_id, str(sha), data


def screen(sha: str, data: bytes, media: MediaConfig) -> None:
    """InvalidInputError unless `data` is what `process()` would have kept: an export
    written by another tool, or edited, may name as kept the bytes of a file whose text
    holds a secret, and the records' text says nothing of what the bytes hold. The part is
    read again (OCR, PDF text: the `media` extra) and its text masked, and its bytes
    checked, as `marked` sees them."""
    encoded = base64.b64encode(data).decode("ascii")
    try:
        attachment = read_part({"type": "file", "file": {"file_data": encoded}}, 0, media)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"blob {sha} of the export cannot be read again to check it ({exc}); nothing "
            "was imported"
        ) from None
    pieces = [masked_piece(chunk) for chunk in attachment.chunks]
    found = set(checked(fates(pieces), {sha: data}).values())
    if found != {KEPT}:
        reason = ", ".join(sorted(found - {KEPT})) or "no text read"
        raise InvalidInputError(
            f"blob {sha} of the export would not have been kept ({reason}): its bytes are "
            "not written; remove its line, nothing was imported"
        )
