"""normalize, store_turns and read_turns: the input validated and masked, then every raw
turn written before any extraction (nothing said is lost), then what is known of the user
(their stored name) and what the language layer reads in each turn, once per call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from octomem import offload
from octomem.agents.base import ExtractionContext, InputRecords, MemoryAgent, TurnLog
from octomem.agents.base import read_turns as read_readings
from octomem.at_once import together
from octomem.media.parts import TEXT_FIELDS, masked_piece
from octomem.messages import normalize_messages
from octomem.models import MemoryBase, Operation, Turn
from octomem.orchestrator import (
    edits,
    extracted,
    originals,
    projections,
    rules_read,
    versions,
    vision,
)
from octomem.orchestrator.events import all_changes
from octomem.orchestrator.ingest_records import ACTOR as INGEST_ACTOR
from octomem.orchestrator.process.context import context, holding, scope_of, with_caller_metadata
from octomem.orchestrator.process.state import (
    Normalized,
    NormalizeUpdate,
    ProcessInput,
    ReadUpdate,
    StoreUpdate,
    TurnsStored,
)
from octomem.orchestrator.reprocess import words
from octomem.orchestrator.retrieval import by_ids
from octomem.orchestrator.services import Services
from octomem.orchestrator.write import blobs, write
from octomem.plans import Decision
from octomem.scopes import ANY
from octomem.sensitive import mask, mask_value, replace_found, secrets_in_value
from octomem.telemetry import span


async def normalize(state: ProcessInput, deps: Services) -> NormalizeUpdate:
    """Validate and normalise the messages; secrets are masked here, before anything is
    stored, embedded or sent anywhere. Bad input fails before any write."""
    settings = deps.settings

    def validated() -> tuple[list[Turn], dict[str, Any] | None]:
        # CPU work (validation, masking): in a worker thread
        shows_images = state.get("infer", True) and vision.enabled(settings.media.vision, deps.llm)
        turns = state.get("turns_in") or normalize_messages(
            state["messages"],
            session_id=state.get("session_id"),
            timestamp=state.get("timestamp"),
            now=deps.clock.now(),
            max_message_chars=settings.input.max_message_chars,
            media=settings.media,
            vision=shows_images,
        )
        metadata = state.get("metadata")
        masked = [_masked(turn) for turn in turns]
        masked_metadata = metadata and mask_value(metadata)
        # a value masked in one text of the call, masked in all of them (`_masked_across`;
        # the texts masking found nothing in are not read again)
        found = secrets_in_value([[t.content, t.name, t.metadata] for t in turns] + [metadata])
        masked = [_masked_across(turn, found) for turn in masked]
        masked = [vision.screened(turn, settings.media.vision) for turn in masked]
        if settings.media.keep_originals:  # which parts' bytes may be kept
            masked = [originals.marked(turn, shown=shows_images) for turn in masked]
        return masked, masked_metadata and replace_found(masked_metadata, found)

    with span("node.normalize", user_id=state.get("user_id")) as current:
        turns, metadata = await asyncio.to_thread(validated)
        # a forget of this scope from here on makes the call store nothing (reprocess
        # reads them before the stored turns it brings: `erasures` given)
        erasures = state.get("erasures")
        if erasures is None:
            erasures = await deps.locks.erasures(state.get("user_id"), state.get("agent_id"))
        current.set_attribute("octomem.turns", len(turns))
    return {
        "turns": turns,
        "metadata": metadata,
        "erasures": erasures,
        "started": time.perf_counter(),
    }


async def store_turns(state: Normalized, deps: Services) -> StoreUpdate:
    """Persist every raw turn before any extraction: nothing said is ever lost (under the
    call's one hold, `graph.run`, they are left to the commit's write, and written before
    an extraction's error is raised). Turn ids never depend on the clock, so a retried
    call stores no turn twice."""
    turn_log = deps.turn_log  # stores every turn as its own record
    scope = scope_of(state)
    with span("node.store_turns", user_id=scope.user_id, turns=len(state["turns"])):
        ctx = ExtractionContext(
            scope=scope, now=deps.clock.now(), id_key=deps.id_key, types=deps.types
        )
        turns: list[Turn] = state["turns"]

        def raw_records() -> list[MemoryBase]:
            records = turn_log.turn_records(turns, ctx)
            metadata = state.get("metadata")
            return [
                with_caller_metadata(record, [turn], metadata)
                for record, turn in zip(records, turns, strict=True)
            ] + [  # what the input itself held (images, files), even with infer=False
                with_caller_metadata(record, turns, metadata)
                for mtype in deps.enabled_agents
                if mtype in (state.get("memory_types") or deps.enabled_agents)
                for record in _input_records(deps.agents[mtype], turns, ctx)
            ]

        records = await offload.cpu(len(turns), raw_records)  # CPU work: off the loop
        ids = [r.id for r in records if r.memory_type == turn_log.memory_type]
        async with holding(deps, state) as fence:
            stored, user_name = await together(  # a read per type: a collection each
                by_ids(deps, ((r.memory_type, r.id) for r in records)),
                _stored_name(state, deps, turns),
            )
            # a turn stored before (a retried call) keeps the time it was first said, so
            # what it restated is judged by what held then (`reconcile.said_while`)
            turns = [
                _first_said(turn, stored.get(record.id), turn_log)
                for turn, record in zip(turns, records, strict=False)
            ]
            # what the model extracted from each turn before (a turn sent again under
            # its id with other words than it read is extracted again): see `route`
            sent = {r.id: words(r) for r in records if r.id in ids}
            by_model = extracted.read_types(stored, sent, [t.value for t in deps.agents])
            # turns stored before: sent with these words before (a replay) or not (an edit)
            before = [
                (t.id, r.id, sent[r.id] in edits.seen(stored[r.id]))
                for t, r in zip(turns, records, strict=False)
                if r.id in stored
            ]
            # the types the rules read in each stored turn with these words (`rules_read`)
            read = {i: rules_read.read(stored[i], sent[i]) for i in ids if i in stored}
            asked_before = [] if state.get("turns_in") else extracted.asked_before(by_model, ids)
            fresh = [
                Decision(
                    operation=Operation.ADD,
                    record=r,
                    reason="raw turn" if r.memory_type == turn_log.memory_type else "input",
                )
                for r in records
                if r.id not in stored
            ]
            changes = await offload.cpu(len(fresh), lambda: all_changes(fresh))
            if "closing" in state:  # a new version of an input: see `versions`
                changes += versions.reopened(
                    records, stored, actor=INGEST_ACTOR, at=deps.clock.now()
                )
                changes += await versions.closed(
                    deps,
                    (scope.user_id, scope.agent_id),
                    state.get("version_of"),
                    state["closing"],
                    records,
                    actor=INGEST_ACTOR,
                )
            # the parts' original bytes before the records that name them: a crash
            # between the two leaves an orphan blob, never a record without its blob
            await blobs.keep(deps, scope.user_id, records, turns)
            pending = [(r.memory_type, r.id) for r in records if originals.pending(r)]
            # under the call's one hold, written by its commit with what is extracted
            unwritten = changes if "held" in state and not pending else []
            if not unwritten:
                await write(deps, fence, changes=changes)
    inputs = [d for d in fresh if d.record.memory_type != turn_log.memory_type]
    return {
        "turns": turns,
        "stored_turns": ids,
        "added_turns": [i for i in ids if i not in stored],
        "asked_before": asked_before,
        "turn_words": sent,
        "edited_turns": {turn: record for turn, record, replay in before if not replay},
        "repeated_turns": [turn for turn, _, replay in before if replay],
        "rules_read": read,
        "retold_turns": {turn: read[raw] for turn, raw, replay in before if replay and read[raw]},
        "inputs": inputs,
        "pending_originals": pending,
        "unwritten": unwritten,
        "candidates": [],
        "fell_back": [],
        "user_name": user_name,
    }


async def _stored_name(state: Normalized, deps: Services, turns: Sequence[Turn]) -> str | None:
    """The user's stored name, which the turns are read with (`read_turns`), read beside
    the turns: none with `infer=False` (no agent reads the turns). Facts learned only from
    these turns are left out, so a call made again reads them as its first run did."""
    if not state.get("infer", True):
        return None
    scope = scope_of(state)
    exclude = {turn.id for turn in turns}
    return await projections.user_name(deps, scope.user_id, ANY, deps.clock.now(), exclude=exclude)


async def read_turns(state: TurnsStored, deps: Services) -> ReadUpdate:
    """The language layer's reading of every turn, with the user's stored name (none with
    `infer=False`: no agent reads the turns)."""
    if not state.get("infer", True):
        return {"readings": []}
    scope = scope_of(state)
    with span("node.read_turns", user_id=scope.user_id):
        ctx = context(deps, scope, user_name=state["user_name"])
        # parsing is CPU work: off the event loop
        readings = await asyncio.to_thread(read_readings, state["turns"], ctx)
    return {"readings": readings}


def _masked(turn: Turn) -> Turn:
    """The turn with secrets masked in its content, name and metadata (keys too); the kinds
    found go to `internal["masked"]`."""
    found = mask(turn.content)
    # kinds masked as the turn's images and files were read (`octomem.media.parts`) first
    kinds = list(dict.fromkeys([*turn.internal.get("masked", []), *found.kinds]))
    name = mask_value(turn.name, kinds) if turn.name else turn.name
    metadata = mask_value(turn.metadata, kinds) if turn.metadata else turn.metadata
    internal = dict(turn.internal)
    if "media" in internal:  # the text read from images and files, their names and URIs
        internal["media"] = [masked_piece(chunk, kinds) for chunk in internal["media"]]
    if not kinds:
        return turn
    return turn.model_copy(
        update={
            "content": found.text,
            "name": name,
            "metadata": metadata,
            "internal": {**internal, "masked": kinds},
        }
    )


def _masked_across(turn: Turn, found: Mapping[str, str]) -> Turn:
    """`turn` (masked) with every value masked in any text of its call (`found`: its
    messages' content, names and metadata, the call's metadata) masked wherever it is in
    its own: "my wifi password is X" in one message, "write X on the card" in the next (or
    in the same one's metadata, or in the text read from its image, which is then not
    shown to a vision model). The turn keeps them, in memory only (`Turn.secrets`), for
    what a model replies (`reply_masking`)."""
    if not found:
        return turn
    kinds = list(turn.internal.get("masked", []))
    internal = dict(turn.internal)
    if "media" in internal:  # the text read from its images and files, their names
        internal["media"] = [
            {k: replace_found(v, found, kinds) if k in TEXT_FIELDS else v for k, v in p.items()}
            for p in internal["media"]
        ]
    update: dict[str, Any] = {
        "content": replace_found(turn.content, found, kinds),
        "name": replace_found(turn.name, found, kinds),
        "metadata": replace_found(turn.metadata, found, kinds),
    }
    if kinds:
        update["internal"] = {**internal, "masked": kinds}
    changed = any(getattr(turn, k) != v for k, v in update.items())
    return (turn.model_copy(update=update) if changed else turn).with_secrets(found)


def _input_records(
    agent: MemoryAgent, turns: list[Turn], ctx: ExtractionContext
) -> list[MemoryBase]:
    """The agent's records of what the input held, if it plays `InputRecords`."""
    return list(agent.input_records(turns, ctx)) if isinstance(agent, InputRecords) else []


def _first_said(turn: Turn, stored: MemoryBase | None, turn_log: TurnLog) -> Turn:
    """`turn` with the time of its record stored before, if any (same id: the same
    message, which a caller's own timestamp is part of)."""
    before = None if stored is None else turn_log.stored_turn(stored)
    if before is None or before.timestamp == turn.timestamp:
        return turn
    return turn.model_copy(update={"timestamp": before.timestamp})
