"""`OctomemStore`: octomem as a LangGraph `BaseStore` (docs/integrations.md).

Every item is one octomem semantic memory: its id is deterministic from namespace and key
(`make_memory_id`), so a retried put is idempotent; its scope comes from the namespace
(`NamespaceScope`); its value, secrets masked, is kept with its namespace and key in
``internal`` and its text (`StoreIndex.text`) is what octomem embeds and indexes. A search
with a query scores items as LangGraph's stores do (`octomem.langgraph.ranking`). Every put
and delete is a history event, and the record has a conflict key of its own, so extraction
never supersedes it. In a batch every read sees the store as it was before the batch and
the writes follow, the last put of a namespace and key winning, as in LangGraph's stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

from octomem.embeddings import embed_for
from octomem.errors import InvalidInputError, NotFoundError
from octomem.filters import document_predicate
from octomem.langgraph import checks, ranking
from octomem.langgraph.index import Indexed, StoreIndex
from octomem.langgraph.namespaces import NamespaceScope
from octomem.langgraph.ranking import MARK, MARK_FILTER
from octomem.models import (
    KEPT_BY,
    MemoryBase,
    MemoryType,
    Operation,
    SourceRef,
)
from octomem.orchestrator.engine import Orchestrator, checked
from octomem.orchestrator.events import history_event
from octomem.orchestrator.locks import Seen
from octomem.scopes import ANY, equals, scope_filter
from octomem.sensitive import mask_together
from octomem.stores import parsed
from octomem.stores.fence import Fence
from octomem.validation import clean_text, shown

EXTRACTOR = "langgraph-store"
RANKINGS = ("hybrid", "vector")
# a batch's query embeddings: per query, the one call embedding them all and its index
Embedded = dict[str, tuple["asyncio.Future[list[list[float]]]", int]]


def _masked_puts(puts: list[PutOp]) -> list[PutOp]:
    """The puts with secrets masked in every string of their values (keys too), a value
    found in one field masked in the others."""
    return [
        op if op.value is None else op._replace(value=mask_together(dict(op.value))) for op in puts
    ]


def _same_value(item: MemoryBase, value: dict[str, Any]) -> bool:
    """Whether the item holds `value`, compared as stored JSON (1, 1.0 and True differ
    there, not under ==)."""

    def as_json(data: Any) -> str:
        return json.dumps(data, sort_keys=True, default=str)

    return as_json(item.internal.get("langgraph_value")) == as_json(value)


def _unchanged(old: MemoryBase, value: dict[str, Any], put: Indexed) -> bool:
    """Whether a put would store what the item already holds."""
    stored = old.internal
    return (
        old.content == put.text
        and stored.get("langgraph_indexed", True) == put.ranked
        # an item put before its paths were kept (none stored) is taken at its word
        and stored.get("langgraph_fields", put.paths) == put.paths
        and _same_value(old, value)
    )


class RankedItem(SearchItem):
    """A result of a search with a query under ``ranking="hybrid"``: `score` is LangGraph's
    (`octomem.langgraph.ranking.best_fields`), `hybrid_score` the fused recall score that
    ordered it (None for an item recall did not return, which follows those it did)."""

    __slots__ = ("hybrid_score",)

    def __init__(self, *, hybrid_score: float | None, **fields: Any) -> None:
        super().__init__(**fields)
        self.hybrid_score = hybrid_score

    def dict(self) -> dict[str, Any]:
        return {**super().dict(), "hybrid_score": self.hybrid_score}


def _fields(record: MemoryBase) -> dict[str, Any]:
    meta = record.internal
    return {
        "namespace": tuple(meta["langgraph_namespace"]),
        "key": meta["langgraph_key"],
        "value": copy.deepcopy(meta["langgraph_value"]),  # the record may be shared
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _affixes(kwargs: dict[str, Any]) -> dict[str, Any]:
    """list_namespaces' arguments with its prefix and suffix checked (`checks.namespace`)."""
    for name in ("prefix", "suffix"):
        if kwargs.get(name) is not None:
            kwargs[name] = checks.namespace(kwargs[name], name, existing=True)
    return kwargs


def _matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    pairs = (
        zip(namespace, path, strict=False)
        if condition.match_type == "prefix"
        else zip(reversed(namespace), reversed(path), strict=False)
    )
    return all(p == "*" or n == p for n, p in pairs)


class OctomemStore(BaseStore):
    """A LangGraph `BaseStore` backed by an octomem `Orchestrator`:
    ``graph.compile(store=OctomemStore(orch))``."""

    def __init__(
        self,
        orchestrator: Orchestrator,
        *,
        namespace_scope: NamespaceScope | None = None,
        index: IndexConfig | None = None,
        ranking: Literal["hybrid", "vector"] = "hybrid",
    ) -> None:
        """`index`: LangGraph's `IndexConfig` (`octomem.langgraph.index`); `ranking`: the
        order of a search with a query (`octomem.langgraph.ranking`)."""
        if ranking not in RANKINGS:
            raise InvalidInputError(
                f"ranking must be one of {list(RANKINGS)}, got {shown(ranking)}"
            )
        self.ranking = ranking
        self.orchestrator = checked(orchestrator, "OctomemStore()")
        self.namespace_scope = namespace_scope or NamespaceScope()
        self.index = StoreIndex(index)
        self.index.check_dims(orchestrator.embedder)
        # as LangGraph's stores have it: what is embedded (always: octomem indexes every
        # item with the Orchestrator's embedder), its dimension, and the fields if given
        self.index_config: dict[str, Any] = {
            **(dict(index) if index else {}),
            "dims": orchestrator.embedder.dimension,
        }
        self._parsed = parsed.Memo()  # the records searches read, parsed once (`_search`)

    # --- BaseStore ---------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self.orchestrator.run_sync(self.abatch(ops))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        if isinstance(ops, str | bytes | Mapping) or not isinstance(ops, Iterable):
            raise InvalidInputError(f"batch takes a list of operations, got {shown(ops)}")
        ops = list(ops)
        async with self.orchestrator.running_call():  # close() waits for it, then refuses
            return await self._abatch(ops)

    async def _abatch(self, ops: list[Op]) -> list[Result]:
        """Every op is checked first; then the reads, then the writes (module docstring)."""
        limit = self.orchestrator.settings.input.max_message_chars

        def check() -> list[Op]:
            return [checks.checked_op(op, limit) for op in ops]

        # a value may be large: checked off the event loop, as a message is
        values = any(isinstance(op, PutOp) and op.value is not None for op in ops)
        ops = await asyncio.to_thread(check) if values else check()
        await self.orchestrator.aopen()
        # the batch begins: a forget of a scope it writes from here on makes it store nothing
        since = await self.orchestrator.records.erasures(
            self._scope_of(op.namespace) for op in ops if isinstance(op, PutOp)
        )
        await self.index.check(self.orchestrator.embedder)
        results: list[Result] = [None] * len(ops)
        puts = {(op.namespace, op.key): op for op in ops if isinstance(op, PutOp)}  # last wins
        async with self._embedding_queries(ops) as embedded:
            for index, op in enumerate(ops):
                if isinstance(op, GetOp):
                    record = await self._record(tuple(op.namespace), op.key)
                    results[index] = None if record is None else Item(**_fields(record))
                elif isinstance(op, SearchOp):
                    results[index] = await self._search(op, embedded)
                elif isinstance(op, ListNamespacesOp):
                    results[index] = await self._list_namespaces(op)
        if puts:  # secrets masked first: they never reach a store
            masked = await asyncio.to_thread(_masked_puts, list(puts.values()))
            async with self._holding([op.namespace for op in masked], since) as fence:
                await self._write_puts(masked, fence)
        return results

    @contextlib.asynccontextmanager
    async def _embedding_queries(self, ops: list[Op]) -> AsyncIterator[Embedded]:
        """The batch's search queries embedded, in one call, while its items are read: each
        search awaits its query's vector from that call (`_query_vector`) instead of
        embedding it again while the call is still running."""
        queries = list(
            dict.fromkeys(
                op.query for op in ops if isinstance(op, SearchOp) and op.query and op.query.strip()
            )
        )
        if not queries:
            yield {}
            return
        task = asyncio.ensure_future(self.orchestrator.embedder.embed(queries))
        try:
            yield {query: (task, n) for n, query in enumerate(queries)}
        finally:
            if not task.done():
                task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    async def _query_vector(self, query: str, embedded: Embedded) -> list[float]:
        """The vector of `query`: the batch's call's (`_embedding_queries`), else embedded
        here - a failure of that call recurs here, with its error."""
        if query in embedded:
            task, n = embedded[query]
            with contextlib.suppress(Exception):
                return (await asyncio.shield(task))[n]
        [vector] = await self.orchestrator.embedder.embed([query])
        return vector

    # --- the convenience methods: arguments checked before LangGraph's own code would
    # iterate the namespace or convert the key (a TypeError or ValueError there)

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        ns, key = checks.namespace(namespace, existing=True), checks.key(key, existing=True)
        return super().get(ns, key, refresh_ttl=refresh_ttl)

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        ns, key = checks.namespace(namespace, existing=True), checks.key(key, existing=True)
        return await super().aget(ns, key, refresh_ttl=refresh_ttl)

    def search(self, namespace_prefix: tuple[str, ...], /, **kwargs: Any) -> list[SearchItem]:
        prefix = checks.namespace(namespace_prefix, "namespace prefix", existing=True)
        return super().search(prefix, **kwargs)

    async def asearch(
        self, namespace_prefix: tuple[str, ...], /, **kwargs: Any
    ) -> list[SearchItem]:
        prefix = checks.namespace(namespace_prefix, "namespace prefix", existing=True)
        return await super().asearch(prefix, **kwargs)

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        ns, key = checks.namespace(namespace, put=True), checks.key(key)
        super().put(ns, key, value, index, **kwargs)

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        ns, key = checks.namespace(namespace, put=True), checks.key(key)
        await super().aput(ns, key, value, index, **kwargs)

    def delete(self, namespace: tuple[str, ...], key: str) -> None:
        ns, key = checks.namespace(namespace, existing=True), checks.key(key, existing=True)
        super().delete(ns, key)

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        ns, key = checks.namespace(namespace, existing=True), checks.key(key, existing=True)
        await super().adelete(ns, key)

    def list_namespaces(self, **kwargs: Any) -> list[tuple[str, ...]]:
        return super().list_namespaces(**_affixes(kwargs))

    async def alist_namespaces(self, **kwargs: Any) -> list[tuple[str, ...]]:
        return await super().alist_namespaces(**_affixes(kwargs))

    # --- operations --------------------------------------------------------------------

    def item_id(self, namespace: Sequence[str], key: str) -> str:
        """The memory id of the item at `namespace` / `key`."""
        records = self.orchestrator.records
        return records.memory_id(MemoryType.SEMANTIC, EXTRACTOR, list(namespace), key)

    async def _record(
        self, namespace: tuple[str, ...], key: str, *, writing: bool = False
    ) -> MemoryBase | None:
        """The item at `namespace` / `key`: a read by key within its scope, which also finds
        it under the id it kept when imported from a data directory with another id key.
        `writing` (under the write lock of the scope's user): the same read also takes the
        record stored at the item's id in any scope (by its conflict key), and a record
        there of another scope is InvalidNamespace (`_foreign`), since writing that id would
        replace another scope's item without its user's lock."""
        scope = self.namespace_scope.scope(namespace, existing=True)
        owner = (scope["user_id"], scope["agent_id"])
        own = self.item_id(namespace, key)
        # a literal: "*" is a key too. A filter's strings are cleaned (`clean_text`): a key
        # cleaning changes (a zero-width space, an accent not in NFC) is found by the exact
        # comparison below alone, among the scope's items
        by_key = equals("internal.langgraph_key", key) if clean_text(key, "key") == key else None
        where = scope_filter(scope["user_id"], scope["agent_id"], ANY, MARK_FILTER, by_key)
        if writing:
            at_id = {"AND": [MARK_FILTER, equals("conflict_key", f"{EXTRACTOR}:{own}")]}
            where = {"OR": [where, at_id]}
        found = await self.orchestrator.records.list(MemoryType.SEMANTIC, where=where)
        if writing:
            for r in found:
                if r.id == own and (r.user_id, r.agent_id) != owner:
                    raise self._foreign(namespace, r)
        # an item belongs to the namespace (and so the scope) it was put in, nothing else
        mine = [
            r
            for r in found
            if (r.user_id, r.agent_id) == owner
            and tuple(r.internal["langgraph_namespace"]) == namespace
            and r.internal["langgraph_key"] == key
        ]
        mine.sort(key=lambda r: r.id != own)  # its own id first, as a read by id found it
        return mine[0] if mine else None

    def _foreign(self, namespace: tuple[str, ...], record: MemoryBase) -> checks.InvalidNamespace:
        """The error of a write to `namespace` whose item id `record`, of another scope,
        holds: it names the templates, never the other scope's ids (another tenant's)."""
        ours = self.namespace_scope.template
        theirs = record.internal.get("langgraph_template")
        if theirs is None:
            by = "by a store with another NamespaceScope, or before this one changed"
        elif tuple(theirs) == ours:
            by = f"through template {ours!r} with other default_user_id/default_agent_id"
        else:
            by = f"through template {tuple(theirs)!r}"
        return checks.InvalidNamespace(
            f"an item of namespace {namespace!r} under this key is another scope's: it was "
            f"put {by}, and this store's template {ours!r} maps the namespace to another "
            "user or agent; nothing was stored. Write it through the store that put it, or "
            "give this store that store's NamespaceScope"
        )

    def _scope_of(self, namespace: Sequence[str]) -> tuple[str | None, str | None]:
        """The (user_id, agent_id) whose items `namespace` holds, ids stored before they
        refused the bidi controls too: what is put is checked strictly (`checks`, and the
        record's own scope: `_storable`)."""
        scope = self.namespace_scope.scope(tuple(namespace), existing=True)
        return scope["user_id"], scope["agent_id"]

    async def aedit(
        self,
        memory_id: str,
        edit: Callable[[dict[str, Any]], Mapping[str, Any] | None],
    ) -> None:
        """Change the item whose memory id is `memory_id` to ``edit(its value)`` (None:
        delete it), reading it under its user's write lock: an item deleted, or a user
        forgotten, since the caller last read it is NotFoundError, never put back."""
        if not isinstance(memory_id, str) or not memory_id:
            raise InvalidInputError(f"memory id must be a non-empty string, got {shown(memory_id)}")
        async with self.orchestrator.running_call():
            await self.orchestrator.aopen()
            stored = await self.orchestrator.records.get(MemoryType.SEMANTIC, [memory_id])
            found = [r for r in stored if r.internal.get(MARK)]
            if not found:
                raise NotFoundError(f"no memory with id {memory_id!r}")
            namespace = tuple(found[0].internal["langgraph_namespace"])
            key = found[0].internal["langgraph_key"]
            async with self._holding([namespace]) as fence:
                current = await self._record(namespace, key)
                if current is None or current.id != memory_id:
                    raise NotFoundError(f"no memory with id {memory_id!r}")
                value = edit(dict(current.internal["langgraph_value"]))
                await self._write_puts(await self._checked(namespace, key, value), fence)

    async def acreate(self, namespace: tuple[str, ...], value: Mapping[str, Any]) -> str:
        """Store `value` as a new item of `namespace` (under a fresh key) unless an item of
        the namespace holds it already (as stored: secrets masked), so that a create run
        again changes nothing; the memory id of the item that holds it."""
        namespace = checks.namespace(namespace, put=True)
        async with self.orchestrator.running_call():
            await self.orchestrator.aopen()
            since = await self.orchestrator.records.erasures([self._scope_of(namespace)])
            async with self._holding([namespace], since) as fence:
                key = str(uuid.uuid4())
                (put,) = await self._checked(namespace, key, value)
                assert put.value is not None
                for record in await self._items(namespace):
                    if tuple(record.internal["langgraph_namespace"]) == namespace and _same_value(
                        record, dict(put.value)
                    ):
                        return record.id
                await self._write_puts([put], fence)
                return self.item_id(namespace, key)

    def _holding(
        self, namespaces: list[tuple[str, ...]], since: Seen | None = None
    ) -> contextlib.AbstractAsyncContextManager[Fence]:
        """The write locks of the users whose items `namespaces` hold (`Records.hold`)."""
        users = [self._scope_of(namespace)[0] for namespace in namespaces]
        return self.orchestrator.records.hold(users, since=since)

    async def _checked(
        self, namespace: tuple[str, ...], key: str, value: Mapping[str, Any] | None
    ) -> list[PutOp]:
        """The put of `value` at `namespace` / `key`, checked and masked as a batch's."""
        limit = self.orchestrator.settings.input.max_message_chars
        put = checks.checked_op(PutOp(namespace, key, value and dict(value)), limit)
        assert isinstance(put, PutOp)
        return await asyncio.to_thread(_masked_puts, [put])

    async def _write_puts(self, puts: list[PutOp], fence: Fence) -> None:
        """Every put's record is built (checked) before any is written, then all are one
        journaled write under the users' locks (`fence`)."""
        changes = []
        deletes: list[MemoryBase] = []
        now = self.orchestrator.records.now()
        for op in puts:
            namespace = tuple(op.namespace)
            old = await self._record(namespace, op.key, writing=True)
            if op.value is None:
                if old is not None:
                    deletes.append(old)
                continue
            value = dict(op.value)
            put = self.index.text(value, op.index)
            if old is not None and _unchanged(old, value, put):
                continue  # a retried put: no new version, no history event
            record = self._storable(op, namespace, value, put, old, now)
            operation = Operation.UPDATE if old else Operation.ADD
            changes.append(
                (record, history_event(record, operation, old=old, actor=EXTRACTOR, at=now))
            )
        await self._embed_fields([record for record, _ in changes])
        await self.orchestrator.records.write(fence, changes, deletes=deletes, actor=EXTRACTOR)

    async def _embed_fields(self, records: list[MemoryBase]) -> None:
        """The texts of items of several (each scored on its own, `ranking.best_fields`)
        embedded with the items' own texts in one call, into the embedder's cache, where
        the write and the next searches find them."""
        several = [(r, texts) for r in records if len(texts := ranking.texts_of(r)) > 1]
        if several:
            texts = [text for r, its in several for text in [r.content, *its]]
            users = [r.user_id for r, its in several for _ in range(len(its) + 1)]
            await embed_for(self.orchestrator.embedder, texts, users)

    def _storable(
        self,
        op: PutOp,
        namespace: tuple[str, ...],
        value: dict[str, Any],
        put: Indexed,
        old: MemoryBase | None,
        now: datetime,
    ) -> MemoryBase:
        """The record a put of `value` writes; InvalidInputError if it cannot be stored."""
        text = put.text
        record_id = old.id if old else self.item_id(namespace, op.key)
        scope = self.namespace_scope.scope(namespace)
        try:
            record = self.orchestrator.records.build(
                MemoryType.SEMANTIC,
                id=record_id,
                **scope,
                content=text,
                subject="/".join(namespace),
                attribute=op.key,
                value=text[:500],
                conflict_key=f"{EXTRACTOR}:{record_id}",
                created_at=old.created_at if old else now,
                updated_at=now,
                valid_from=old.valid_from if old else now,
                version=old.version + 1 if old else 1,
                source=SourceRef(extractor=EXTRACTOR),
                internal={
                    MARK: True,
                    KEPT_BY: "OctomemStore",
                    "langgraph_namespace": list(namespace),
                    "langgraph_key": op.key,
                    "langgraph_value": value,
                    "langgraph_indexed": put.ranked,
                    "langgraph_template": list(self.namespace_scope.template),
                    **({"langgraph_fields": put.paths} if put.paths else {}),
                },
            )
            record.model_dump_json()  # what the journal and the stores will write
        except ValueError as exc:  # pydantic's validation and serialization errors
            raise InvalidInputError(
                f"the value put at {namespace!r}, key {op.key!r} cannot be stored: it must be "
                f"JSON (strings, numbers, booleans, None, lists, dicts) - {exc}"
            ) from exc
        return record

    async def _items(
        self, prefix: tuple[str, ...], *, memo: parsed.Memo | None = None
    ) -> list[MemoryBase]:
        """Every item whose namespace starts with `prefix` (read within the scope the prefix
        decides, if it does; `memo`: the records read with it before, not parsed again)."""
        scope = self.namespace_scope.prefix_scope(prefix) if prefix else None
        where = (
            scope_filter(scope["user_id"], scope["agent_id"], ANY, MARK_FILTER)
            if scope is not None
            else MARK_FILTER
        )
        records = await self.orchestrator.records.list(MemoryType.SEMANTIC, where=where, memo=memo)
        size = len(prefix)
        return [
            r
            for r in records
            if tuple(r.internal["langgraph_namespace"][:size]) == prefix and self._owns(r)
        ]

    def _owns(self, record: MemoryBase) -> bool:
        """Whether `record` is an item of the scope its namespace maps to: one imported
        for another user under this namespace (an edited export) is not this scope's item,
        so a wide search or list_namespaces never shows it as theirs."""
        try:
            scope = self._scope_of(record.internal["langgraph_namespace"])
        except InvalidInputError:  # a label no scope id may be: not an item of any
            return False
        return scope == (record.user_id, record.agent_id)

    async def _search(self, op: SearchOp, embedded: Embedded) -> list[SearchItem]:
        """Records read are parsed once and kept for the next searches (`self._parsed`);
        the listing says which kept ones are gone."""
        prefix = tuple(op.namespace_prefix)
        records = await self._items(prefix, memo=self._parsed)
        listed = {r.id for r in records}
        self._parsed.drop(
            lambda r: (
                not r.internal.get(MARK)  # a memory the recall read, not an item
                or (
                    r.id not in listed
                    and tuple(r.internal["langgraph_namespace"][: len(prefix)]) == prefix
                )
            )
        )
        if op.filter:
            wanted = document_predicate(op.filter)
            records = [r for r in records if wanted(r.internal["langgraph_value"])]
        records.sort(key=lambda r: (r.updated_at, r.id), reverse=True)
        if not (op.query and records):
            page = records[op.offset : op.offset + op.limit]
            return [SearchItem(**_fields(r)) for r in page]
        return await self._ranked(op, records, embedded)

    async def _ranked(
        self, op: SearchOp, records: list[MemoryBase], embedded: Embedded
    ) -> list[SearchItem]:
        """The page of `records` (most recently updated first) for a search with a query:
        the ranked (`self.ranking`), then the rest without a score."""
        assert op.query
        page_end = op.offset + op.limit
        vector = await self._query_vector(op.query, embedded)
        if self.ranking == "vector":
            scores = await ranking.best_fields(self.orchestrator, vector, records, self._parsed)
            by_score = sorted(
                (r for r in records if r.id in scores), key=lambda r: scores[r.id], reverse=True
            )
            rest = [r for r in records if r.id not in scores]
            page = [*by_score, *rest][op.offset : page_end]
            return [SearchItem(**_fields(r), score=scores.get(r.id)) for r in page]
        near: dict[str, float] = {}  # stored-vector cosines recall and the rest computed
        fused = (  # a blank query is scored as LangGraph's stores score it, not recalled
            await ranking.rank(self.orchestrator, op.query, records, self._parsed, cosines=near)
            if op.query.strip()
            else []
        )
        hybrid = {r.id: score for r, score in fused}
        ordered = [r for r, _ in fused]
        if page_end > len(ordered):  # the page reaches past recall's: by stored vector
            rest = [r for r in records if r.id not in hybrid]
            indexed = [r for r in rest if ranking.indexed(r)]
            near |= await ranking.stored_similarities(
                self.orchestrator, vector, indexed, self._parsed
            )
            indexed.sort(key=lambda r: near.get(r.id, -2.0), reverse=True)  # stable
            ordered += [*indexed, *(r for r in rest if not ranking.indexed(r))]
        page = ordered[op.offset : page_end]
        # the page's items only are scored by their best text: a cold embedder cache costs
        # the texts of one page, not of every item; a stored vector's cosine that recall's
        # vector search (or the rest's) gave is not asked of the store again
        scores = await ranking.best_fields(
            self.orchestrator, vector, page, self._parsed, known=near
        )
        return [
            RankedItem(**_fields(r), score=scores.get(r.id), hybrid_score=hybrid.get(r.id))
            for r in page
        ]

    async def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        records = await self._items(())
        namespaces = {tuple(r.internal["langgraph_namespace"]) for r in records}
        if op.match_conditions:
            namespaces = {
                ns for ns in namespaces if all(_matches(c, ns) for c in op.match_conditions)
            }
        if op.max_depth is not None:
            namespaces = {ns[: op.max_depth] for ns in namespaces}
        return sorted(namespaces)[op.offset : op.offset + op.limit]
