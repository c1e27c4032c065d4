"""`octomem ingest PATH`: the images, PDFs and Markdown or text files of a folder (a notes
vault, a folder of PDFs) or one file, stored as resource memories, incrementally; its
mailboxes, mails and Slack exports (zipped or unpacked) as conversations.

Each file goes through `process()` as one message with one file part, so it is read, masked,
journaled and forgotten like any attachment. What is known about each file lives in the
metadata of the records its message writes (`ingest_records`): no state file besides the
stores, so `forget` of the user removes it with the rest. A path holding a secret is
stored masked; the keyed hashes of the root and path, which masking leaves as they are
and which reveal nothing, are what a run finds its files' records by. A run compares:

- same size and mtime as stored: unchanged, the file is not even read;
- same sha256 as stored (a touched file): unchanged;
- another sha256: the new version is processed, then the records of the old one are
  closed (valid_to, superseded_by, a SUPERSEDE history event): history keeps both; a
  version stored before (a file edited, then reverted) is made current again;
- stored but no longer in the folder: its records are deleted (history stays readable),
  but those of a conversation another archive of the folder holds too (a mail as `.eml`
  and in an `.mbox`) are handed over to that archive, and only once it has been read, so
  no run stopped on the way loses the conversation; and a conversation no archive took
  over is deleted only by a run that read every archive of the folder that could hold it
  (a mailbox skipped, unreadable, over a limit or refused keeps it waiting: `kept`);
- at or below a symbolic link, which a run never follows, standing where it was (a
  subfolder or mailbox moved elsewhere and linked back): its records are kept
  (`ingest_links`), and what was ingested there may hold a gone file's conversation;
- empty, unreadable, too large, corrupt or not a supported kind: skipped with a reason;
  the rest of the run goes on and the file's stored version (if any) is left as it was.

The caller sees each file as it is started (`ingest_report.Progress`) and, in the report,
the seconds each took and what the reading libraries warned about (`media.notices`).

A changed file's new records and the closing of its old ones are one journaled write (the
turns' write of `process`), so no crash leaves both versions current.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octomem.errors import InvalidInputError
from octomem.media import archives, notices
from octomem.media.archives import Conversation
from octomem.models import HistoryEvent, MemoryBase, Operation, keyed_hash
from octomem.orchestrator import ingest_links
from octomem.orchestrator.commit import commit
from octomem.orchestrator.events import history_event
from octomem.orchestrator.ingest_records import (
    ACTOR,
    FIELDS,
    KEY,
    PARTIAL,
    SAID,
    SHA,
    GetAll,
    Names,
    Stored,
    stored_files,
)
from octomem.orchestrator.ingest_report import IngestReport, Progress, announcer
from octomem.orchestrator.ingest_scan import (
    ARCHIVES,
    LINK,
    NOT_UTF8,
    UNLISTED,
    is_utf8,
    kind_of,
    scan,
    shown_name,
    tree_stat,
)
from octomem.sensitive import mask_text, mask_value
from octomem.validation import printable

__all__ = ["Engine", "IngestReport", "Progress", "ingest_path"]

if TYPE_CHECKING:
    from octomem.messages import Messages
    from octomem.models import ProcessResult
    from octomem.orchestrator.process.state import ProcessInput
    from octomem.orchestrator.services import Services


@dataclass(frozen=True)
class Engine:
    """What a run uses of its Orchestrator (`Orchestrator.aingest`)."""

    services: Services
    process_input: Callable[..., ProcessInput]
    run: Callable[[ProcessInput], Awaitable[ProcessResult]]
    get_all: GetAll

    async def process(
        self,
        messages: Messages,
        *,
        closing: Sequence[MemoryBase] = (),
        version_of: dict[str, Any] | None = None,
        erasures: tuple[int, ...],
        **arguments: Any,
    ) -> ProcessResult:
        """`process` of a new version of an input, in the same journaled write as its
        turns: its records stored before and closed since are current again, and its other
        current records (`version_of`, a metadata filter naming it; `closing`) are closed
        (`versions`). `erasures`: the scope's erasure counts, read before `closing`."""
        inputs = self.process_input(messages, **arguments)
        inputs["closing"], inputs["version_of"] = list(closing), dict(version_of or {})
        inputs["erasures"] = erasures
        return await self.run(inputs)


async def ingest_path(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest a file or every supported file under a folder (see the module), for a scope
    `Orchestrator.ingest` checked. InvalidInputError, before anything is written, if the
    path does not exist or holds more than `ingest.max_files` files."""
    root = Path(path).expanduser()
    if not root.exists():
        raise InvalidInputError(f"{str(root)!r} does not exist: give a file or a folder")
    root = root.resolve()
    if not is_utf8(str(root)):
        raise InvalidInputError(
            f"{shown_name(str(root))!r}: {NOT_UTF8.replace('its name', 'the path')}"
        )
    config = engine.services.settings.ingest
    files, skipped = scan(root, hidden=config.hidden, max_files=config.max_files)
    names = Names(str(root), engine.services.id_key)
    # a forget of the scope from here on makes the run store nothing more (it has read
    # what was stored): each of its writes checks these under the lock
    erasures = await engine.services.locks.erasures(user_id, agent_id)
    run = _Run(engine, names, IngestReport(str(root), skipped=skipped), user_id, agent_id, erasures)
    stored = await stored_files(engine.get_all, names, user_id, agent_id)
    seen = {names.key(rel) for rel in [r for r, _ in files] + [r for r, _ in skipped]}
    # a file behind a link (never followed) that stands where it was is not gone, nor is
    # one in a folder that could not be listed: kept
    links = [rel for rel, reason in skipped if reason in (LINK, UNLISTED)]
    held = ingest_links.behind(root, stored, seen, links)
    unlisted = {rel for rel, reason in skipped if reason == UNLISTED}
    run.report.kept += [
        (stored[k].path, ingest_links.reason(link, listed=link not in unlisted))
        for k, link in held.items()
    ]
    there = seen | held.keys()  # the files still in the folder: their conversations too
    gone = sorted((k for k in stored if k not in there), key=lambda k: (stored[k].path, k))
    run.said = {said: (k, s.path) for k, s in stored.items() if k in there for said in s.said}
    for rel, reason in skipped:  # a mailbox named in Latin-1 may hold a gone file's mail
        if reason == NOT_UTF8:
            run.not_read(rel, kind_of(rel))
    for link, kind in ingest_links.standing_in(links, stored, names, held).items():
        run.not_read(link, kind)  # what was ingested there is still behind it
    for ident in gone:  # first: a renamed file's memories move to its new name below
        records = [r for rs in stored[ident].by_sha.values() for r in rs]
        # but a conversation no file left holds stays in them until an archive takes it
        # over or the run ends (below): a run stopped on the way loses none
        for record in records:
            if said := run.orphan(record):
                run.orphans.setdefault(said, []).append(record)
        await run.remove([r for r in records if not run.orphan(r)])
    budget, tell = config.max_total_bytes, announcer(progress)
    for done, (rel, file) in enumerate(files):
        tell(done, len(files), rel)
        started = time.perf_counter()
        # what pypdf or Pillow warn about while it is read: counted in the report
        with notices.captured() as notes:
            try:
                budget -= await run.one(rel, file, stored.get(names.key(rel)), budget)
            except InvalidInputError as exc:  # this file's fault: the others go on
                run.report.skipped.append((rel, str(exc)))
                # not read to its end: what a gone file said may be in it (`waiting`)
                if not isinstance(exc, archives.HoldsNothing):
                    run.not_read(rel, "slack" if file.is_dir() else kind_of(rel))
        run.report.seconds[rel] = round(time.perf_counter() - started, 3)
        run.report.note(rel, notes)
    # what no archive took: deleted, unless a file that may hold it was not read (`waiting`)
    waiting = {said: why for said, rs in run.orphans.items() if (why := run.waiting(said, rs))}
    await run.remove([r for said, rs in run.orphans.items() if said not in waiting for r in rs])
    kept = {r.id: why for said, why in waiting.items() for r in run.orphans[said]}
    for ident in gone:
        reasons = sorted(
            {kept[r.id] for rs in stored[ident].by_sha.values() for r in rs if r.id in kept}
        )
        if reasons:
            run.report.kept.append((stored[ident].path, "; ".join(reasons)))
        else:
            run.report.removed.append(stored[ident].path)
    run.report.kept.sort(key=lambda kept: kept[0])  # held behind links, and waiting
    tell(len(files), len(files), None)
    return run.report


@dataclass
class _Run:
    engine: Engine
    names: Names
    report: IngestReport
    user_id: str | None
    agent_id: str | None
    erasures: tuple[int, ...]  # the scope's, read before what was stored
    shas: dict[str, str] = field(default_factory=dict)  # sha256 -> the path that holds it
    # an archive's conversation (`archives.said_digest`) -> the file (key, path) it is
    # stored from: the same mail in an .eml and an .mbox is stored once
    said: dict[str, tuple[str, str]] = field(default_factory=dict)
    # what the conversations of the files gone from the folder said that no file left holds,
    # with the gone files' records of it: an unchanged archive that holds one too (skipped
    # as stored elsewhere) is read again for it, and takes these records over
    orphans: dict[str, list[MemoryBase]] = field(default_factory=dict)
    # the archives of the folder this run did not read to their end (skipped: unreadable,
    # over a limit, refused, a name not UTF-8, a link standing where one was ingested) ->
    # the kind of conversation they hold ("mail", "slack", `ingest_links.ANY` for a linked
    # folder): an orphan of that kind may be in one, so it waits (`waiting`)
    unread: dict[str, str] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)  # the archives whose conversations were all read
    # an orphan's conversation found in an archive that did not take it over (its write
    # refused) -> that archive: it waits for the next run
    held: dict[str, str] = field(default_factory=dict)

    def orphan(self, record: MemoryBase) -> str | None:
        """What the conversation of `record` (a gone file's) said, if no file left holds it."""
        said = record.metadata.get(SAID)
        return said if isinstance(said, str) and said not in self.said else None

    def not_read(self, rel: str, kind: str | None) -> None:
        """`rel` was not read to its end in this run: if it is an archive (of conversations
        of `kind`) whose conversations were not all read, a gone file's may be in it."""
        if kind and rel not in self.read:
            self.unread[rel] = kind

    def waiting(self, said: str, records: Sequence[MemoryBase]) -> str | None:
        """Why the records of a gone file's conversation `said` no archive took over are
        kept, not deleted: an archive of the folder that may hold it was not read to its
        end in this run, or holds it and did not take it over. None: no file holds it."""
        if said in self.held:
            return (
                f"its conversation is in {self.held[said]}, which did not take it over in this "
                "run: kept until a run does"
            )
        sessions = {str(r.session_id).partition(":")[0] for r in records if r.session_id}
        kind = next(iter(sessions)) if len(sessions) == 1 else None
        unread = sorted(
            p
            for p, k in self.unread.items()
            if kind not in ("mail", "slack") or k in (kind, ingest_links.ANY)
        )
        if not unread:
            return None
        named = ", ".join(unread[:3]) + (f" and {len(unread) - 3} more" if len(unread) > 3 else "")
        return (
            f"its conversations may be in {named}, not read in this run (skipped): kept until "
            "a run reads it, or it is gone"
        )

    async def process(self, messages: Messages, **arguments: Any) -> None:
        result = await self.engine.process(
            messages,
            user_id=self.user_id,
            agent_id=self.agent_id,
            erasures=self.erasures,
            **arguments,
        )
        self.report.memories += sum(
            1 for op in result.all_operations() if op.operation is Operation.ADD
        )

    async def one(self, rel: str, file: Path, known: Stored | None, budget: int) -> int:
        """Ingest one file; the bytes it read. InvalidInputError: skipped, with that reason."""
        config, report, shas = self.engine.services.settings, self.report, self.shas
        if file.is_dir():
            return await self.slack_folder(rel, file, known, budget)
        archive = file.suffix.lower() in ARCHIVES  # conversations, not a document
        limit = config.ingest.max_file_bytes
        limit = limit if archive else min(limit, config.media.max_bytes)
        try:
            stat = file.stat()
            if stat.st_size == 0:
                raise archives.HoldsNothing(EMPTY)
            if stat.st_size > limit:
                raise InvalidInputError(
                    f"{stat.st_size:,} bytes; the limit is {limit:,} (ingest.max_file_bytes, "
                    "media.max_bytes)"
                )
            reread = archive and self.orphans  # for what a gone file held (`orphans`)
            if known and known.looks_unchanged(stat.st_size, stat.st_mtime_ns) and not reread:
                shas.setdefault(next(iter(known.by_sha)), rel)
                report.unchanged.append(rel)
                return 0
            _within(stat.st_size, budget)
            data = archives.read_regular(file, limit + 1, self.below(file))
        except OSError as exc:
            raise _unreadable(exc) from None
        if not data.strip():  # 0 bytes, or blank lines and spaces only: nothing to keep
            raise archives.HoldsNothing(EMPTY if not data else BLANK)
        if len(data) > limit:
            raise InvalidInputError(f"it grew past {limit:,} bytes while being read")
        sha = hashlib.sha256(data).hexdigest()
        meta = self.names.meta(rel, sha, len(data), stat.st_mtime_ns)
        if archive:
            await self.archive(rel, lambda: self.conversations(rel, data), meta, known)
            return len(data)
        if known is not None and set(known.by_sha) == {sha}:
            shas.setdefault(sha, rel)
            report.unchanged.append(rel)
            return len(data)
        if sha in shas and shas[sha] != rel:
            raise InvalidInputError(f"same content as {shas[sha]} (stored once)")
        shas[sha] = rel
        old = [r for s, rs in (known.by_sha.items() if known else ()) if s != sha for r in rs]
        if known is None or sha not in known.by_sha:
            encoded = base64.b64encode(data).decode()
            part = {"type": "file", "file": {"file_data": encoded, "filename": rel}}
            await self.process(
                [{"role": "user", "content": [part]}],
                metadata=meta,
                timestamp=min(
                    datetime.fromtimestamp(stat.st_mtime_ns / 1e9, tz=UTC),
                    self.engine.services.clock.now(),
                ),
                memory_types=["resource"],
                # in the same journaled write as the new version's records, under the lock:
                # the file's other current records closed, this version's reopened if closed
                closing=old,
                version_of={KEY: self.names.key(rel)},
            )
        (report.updated if old else report.added).append(rel)
        return len(data)

    async def slack_folder(self, rel: str, folder: Path, known: Stored | None, budget: int) -> int:
        """A Slack export as unpacked from its zip: read like the zip, its version the
        sha256 of its conversations; not read at all if no file in it changed."""
        try:
            size, mtime_ns = tree_stat(folder)
        except OSError as exc:
            raise _unreadable(exc) from None
        if not self.orphans and known is not None and known.looks_unchanged(size, mtime_ns):
            self.report.unchanged.append(rel)
            return 0
        _within(size, budget)
        limits = self.engine.services.settings.ingest
        found = archives.slack_export(
            folder,
            max_members=limits.max_files,
            max_unpacked=limits.max_unpacked_bytes,
            below=self.below(folder),
        )
        meta = self.names.meta(rel, archives.digest(found), size, mtime_ns)
        await self.archive(rel, lambda: found, meta, known)
        return size

    def below(self, file: Path) -> Path | None:
        """The folder ingested, if `file` lies in it (not the one file ingested): a folder
        on the way swapped for a link since the scan is not read through (`read_regular`)."""
        root = Path(self.names.root)
        return root if file != root else None

    def conversations(self, rel: str, data: bytes) -> list[Conversation]:
        limits = self.engine.services.settings.ingest
        suffix = Path(rel).suffix.lower()
        if suffix == ".mbox":
            return archives.mbox(data, max_messages=limits.max_messages)
        if suffix == ".eml":
            return archives.eml(data)
        return archives.slack_export(
            data, max_members=limits.max_files, max_unpacked=limits.max_unpacked_bytes
        )

    async def archive(
        self,
        rel: str,
        read: Callable[[], list[Conversation]],
        meta: dict[str, Any],
        known: Stored | None,
    ) -> None:
        """A mailbox, a mail or a Slack export: each conversation processed by every agent.
        Archives grow, and what a conversation said stays said: a changed archive is read
        again (what was stored before changes nothing) and nothing of it is closed."""
        # a version some of whose conversations were stored by a run stopped on the way
        # (`PARTIAL`) is read again: those stored write nothing, the rest are stored
        unchanged = known is not None and known.whole(meta[SHA])
        if unchanged and not self.orphans:
            self.report.unchanged.append(rel)
            return
        conversations = read()
        limits = self.engine.services.settings.ingest
        if len(conversations) > limits.max_messages:
            raise InvalidInputError(
                f"more than {limits.max_messages:,} conversations (ingest.max_messages)"
            )
        self.read.add(rel)  # every conversation it holds is known
        elsewhere = []  # the file each conversation stored from another file is from
        todo = []  # (conversation, what it says, the file it is stored from)
        for conversation in conversations:
            said = archives.said_digest(conversation)
            if unchanged and said not in self.orphans:
                continue  # stored from this file, or held by another still there
            holder = self.said.get(said, (meta[KEY], rel))
            if holder[0] != meta[KEY]:  # stored from another file of the folder
                elsewhere.append(holder[1])
                continue
            todo.append((conversation, said, holder))
        # the version is marked read to its end by its last write: every conversation this
        # file does not hold yet is stored before it (one it holds writes nothing)
        had = known.said if known is not None else set()
        fresh = [
            i for i, (_, said, _) in enumerate(todo) if said in self.orphans or said not in had
        ]
        stored, whole = 0, unchanged
        for i, (conversation, said, holder) in enumerate(todo):
            session = self._session_id(conversation.session)
            mark = {PARTIAL: True} if fresh and i != fresh[-1] else {}
            whole_if_stored = bool(fresh) and i == fresh[-1]
            try:
                if said in self.orphans:  # a gone file's records of it: the same ids
                    self.held[said] = rel  # refused below: they wait for the next run
                    await self.take_over(self.orphans[said], {**meta, **mark})
                else:
                    await self.process(
                        conversation.messages,
                        session_id=session,
                        metadata={**meta, SAID: said, **mark},
                    )
            except InvalidInputError as exc:
                self.report.skipped.append((f"{rel}#{session}", str(exc)))
            else:
                self.orphans.pop(said, None)
                self.held.pop(said, None)
                self.said[said] = holder
                stored += 1
                whole = whole or whole_if_stored
        if not whole:  # the write that marks it was refused: one of its records says it
            await self.mark_whole(meta)
        if conversations and len(elsewhere) == len(conversations):
            held = ", ".join(sorted(set(elsewhere)))
            raise InvalidInputError(f"same conversations as {held} (stored once)")
        shown = self.report.unchanged if unchanged and not stored else self.report.updated
        (shown if known is not None else self.report.added).append(rel)

    async def mark_whole(self, meta: dict[str, Any]) -> None:
        """The archive version `meta` names, read to its end, marked so (`PARTIAL` off
        one record of it) where the write that was to mark it was refused: else every run
        would read it again. Nothing if none of its records is stored, or one is unmarked."""
        records = await self.engine.get_all(
            user_id=self.user_id,
            agent_id=self.agent_id,
            filters={f"metadata.{KEY}": meta[KEY], f"metadata.{SHA}": meta[SHA]},
        )
        if not records or any(not r.metadata.get(PARTIAL) for r in records):
            return
        with contextlib.suppress(InvalidInputError):  # the scope forgotten since: no more
            await self.take_over(records[:1], meta)  # `meta` unmarked: the mark comes off

    def _session_id(self, name: str) -> str:
        """A conversation's session id: its name (``mail:<Message-ID>``, ``slack:<channel>:
        <day>``), or - where the name holds a secret, as whatever a file says may - its kind
        and a keyed hash of it. Control characters or undecodable bytes in it (a mail's
        Message-ID, a Slack channel's name: the file's author's) are escaped (``\\x1b``):
        a session id is an id, which refuses them, and its conversation would be skipped."""
        name = name[:200]
        shown = printable(name)
        if not is_utf8(name) or shown != name:
            name = shown.encode("utf-8", "backslashreplace").decode("utf-8")[:200]
        if mask_text(name) == name:
            return name
        kind = name.partition(":")[0]
        return f"{kind}:{keyed_hash(self.engine.services.id_key, 'session', name)[:32]}"

    async def remove(self, records: Sequence[MemoryBase]) -> None:
        """The records of a file no longer in the folder, deleted (their history stays). A
        memory read from a file has an id that depends on its content, so the same bytes
        ingested under another path share it: such memories are handed over to that file (its
        `ingest_*` metadata, an UPDATE history event), not deleted."""
        if not records:
            return
        heirs: dict[str, dict[str, Any]] = {}
        for sha in {str(r.metadata.get(SHA)) for r in records}:
            mine = {r.metadata.get(KEY) for r in records}
            for other in await self.engine.get_all(
                user_id=records[0].user_id,
                agent_id=records[0].agent_id,
                filters={f"metadata.{SHA}": sha},
            ):
                if other.metadata.get(KEY) not in mine:
                    heirs[sha] = {k: other.metadata[k] for k in FIELDS if k in other.metadata}
                    break
        raw_turns = self.engine.services.turn_log.memory_type
        kept = [r for r in records if r.memory_type != raw_turns and r.metadata.get(SHA) in heirs]
        handed = [self._handed(r, heirs[str(r.metadata[SHA])]) for r in kept]
        await self._write(handed, deleted=[r for r in records if r not in kept])

    async def take_over(self, records: Sequence[MemoryBase], meta: dict[str, Any]) -> None:
        """The records a gone file holds of a conversation of this archive (`meta`), handed
        over to it, raw turns too: processing the conversation again would write the same
        ids (they depend on its content), which the gone file's removal would then delete."""
        # as `process` stores metadata; `PARTIAL` where `archive` marks the write so
        fields = mask_value({k: meta[k] for k in (*FIELDS, PARTIAL) if k in meta})
        await self._write([self._handed(r, fields) for r in records])

    def _handed(
        self, record: MemoryBase, fields: dict[str, Any]
    ) -> tuple[MemoryBase, HistoryEvent]:
        """`record` with the `ingest_*` metadata `fields` of the file it is handed over to
        (marked `PARTIAL` only if `fields` are)."""
        own = {k: v for k, v in record.metadata.items() if k not in (*FIELDS, PARTIAL)}
        moved = record.model_copy(update={"metadata": {**own, **fields}})
        at = self.engine.services.clock.now()
        return moved, history_event(moved, Operation.UPDATE, old=record, actor=ACTOR, at=at)

    async def _write(
        self,
        handed: Sequence[tuple[MemoryBase, HistoryEvent]],
        deleted: Sequence[MemoryBase] = (),
    ) -> None:
        """One journaled write of records handed over and deleted. The run's `erasures`
        were read before its records were: a forget since then makes this write nothing."""
        services = self.engine.services
        async with services.locks.hold(
            self.user_id, since={(self.user_id, self.agent_id): self.erasures}
        ) as fence:
            await commit(
                services, fence, handed, now=services.clock.now(), deleted=deleted, actor=ACTOR
            )


def _within(size: int, budget: int) -> None:
    """InvalidInputError if `size` more bytes would take the run past its budget."""
    if size > budget:
        raise InvalidInputError("over ingest.max_total_bytes for one run: the next run reads it")


def _unreadable(exc: OSError) -> InvalidInputError:
    return InvalidInputError(f"cannot read it: {exc.strerror or exc}")


EMPTY = "empty file (0 bytes): nothing to read"
BLANK = "empty file (only blank lines and spaces): nothing to read"
