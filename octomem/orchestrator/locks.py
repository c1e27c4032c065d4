"""Scope locks: one writer at a time per user, however many callers.

Every write path reads what is stored, decides and writes inside `ScopeLocks.hold`, so
two callers can never both see "no current value" and both add one. The lock is per
user_id: all of a user's agents share it (they share the user's graph entities).

Two layers, taken in this order:

- in this process: a FIFO lock per (graph location, user) shared by every Orchestrator,
  thread and event loop of the process (`_acquire_local`);
- across processes: a lease in the graph store, taken by polling, renewed every third of
  its TTL while held (not while a store call of the holder is stuck past its bound:
  `octomem.stores.stuck`), and free again `lease_ttl_s` after a holder dies. Its fencing token
  is part of the `Fence` the hold gives its holder, which hands it to every write it makes
  (`octomem.stores.fence`): a holder that stalled past its lease and lost it has its next
  write refused. The graph is the store every process that shares data must share, so
  the lease reaches exactly as far as the data does.

Once held, and before the holder reads anything, the writes of these users that an earlier
holder left unfinished in the journal are completed (`settle`): completed later, an old
write would land on top of newer ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field

from octomem import retries
from octomem.errors import ConflictError, StoreError
from octomem.logs import get_logger
from octomem.models import stable_hash
from octomem.stores import gather, stuck
from octomem.stores.base import Leases
from octomem.stores.fence import Fence, LandedLate

log = get_logger(__name__)


Settle = Callable[[set[str | None], Fence], Awaitable[object]]
Restore = Callable[[Mapping[str, Sequence[str]], Fence], Awaitable[object]]


@dataclass
class _LocalLock:
    held: bool = False
    users: int = 0  # the holder and the waiters; the entry is dropped at zero
    waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=deque
    )


_LOCKS: dict[tuple[str, str], _LocalLock] = {}
_MUTEX = threading.Lock()  # guards _LOCKS and every _LocalLock's fields


def scope_key(user_id: str | None) -> str:
    """The lock key of a user's memories (stable across processes and versions)."""
    return "scope_" + stable_hash("user", user_id)[:32]


def erasure_keys(user_id: str | None, agent_id: str | None) -> list[str]:
    """The keys whose erasure counts a write of this scope depends on: the user's (a forget
    of the whole user) and, for an agent's memories, that agent scope's."""
    keys = [scope_key(user_id)]
    if agent_id is not None:
        keys.append("erased_" + stable_hash("user", user_id, "agent", agent_id)[:32])
    return keys


Erasures = tuple[int, ...]
# the erasure counts a write read when it began, per (user_id, agent_id) scope it writes
Seen = Mapping[tuple[str | None, str | None], Erasures]


GIVE_BACK_S = 5.0  # the longest a lease's release is waited for (`ScopeLocks._give_back`)
_RELEASING: set[asyncio.Future[None]] = set()  # releases not waited for, until they end


def _released(release: asyncio.Future[None], key: str, wait_s: float) -> None:
    if release.cancelled():
        return
    if (exc := release.exception()) is not None:
        error = str(exc) or f"no answer within {wait_s:g} s"
        log.warning("scope lease release failed; it expires by itself", key=key, error=error)


class ScopeBusyError(StoreError):
    """A scope's lock stayed held by another caller for the whole wait."""


class NeedsLocks(Exception):  # noqa: N818 - a request, not an error
    """Raised by `settle` for a leftover write that also writes users whose locks are held
    by someone else right now: waiting for them while holding its own could deadlock (the
    holder of those may be settling the same write and waiting for these). `hold_many`
    lets go of what it holds and takes all of them, in the one global order."""

    def __init__(self, users: set[str | None]) -> None:
        super().__init__(f"needs the locks of {len(users)} more users")
        self.users = users


async def _acquire_local(name: tuple[str, str]) -> None:
    loop = asyncio.get_running_loop()
    with _MUTEX:
        lock = _LOCKS.setdefault(name, _LocalLock())
        lock.users += 1
        if not lock.held:
            lock.held = True
            return
        waiter: asyncio.Future[None] = loop.create_future()
        lock.waiters.append((loop, waiter))
    try:
        await waiter
    except BaseException:
        with _MUTEX:
            granted = waiter.done() and not waiter.cancelled()
            if not granted:
                with contextlib.suppress(ValueError):
                    lock.waiters.remove((loop, waiter))
        if granted:  # handed over just as this caller was cancelled: pass it on
            _release_local(name)
        else:
            _leave(name, lock)
        raise


def _leave(name: tuple[str, str], lock: _LocalLock) -> None:
    with _MUTEX:
        lock.users -= 1
        if lock.users == 0:
            _LOCKS.pop(name, None)


def _release_local(name: tuple[str, str]) -> None:
    with _MUTEX:
        lock = _LOCKS[name]
        lock.users -= 1
        _pass_on(name, lock)


def _pass_on(name: tuple[str, str], lock: _LocalLock) -> None:
    """Hand the lock to the first waiter (on its own loop), or mark it free. Under _MUTEX."""
    while lock.waiters:
        loop, waiter = lock.waiters.popleft()
        if waiter.cancelled() or loop.is_closed():
            continue
        loop.call_soon_threadsafe(_grant, name, lock, waiter)
        return
    lock.held = False
    if lock.users == 0:
        _LOCKS.pop(name, None)


def _grant(name: tuple[str, str], lock: _LocalLock, waiter: asyncio.Future[None]) -> None:
    if waiter.done():  # cancelled after it was chosen: the next one gets it
        with _MUTEX:
            _pass_on(name, lock)
    else:
        waiter.set_result(None)


@contextlib.asynccontextmanager
async def local_lock(name: tuple[str, str]) -> AsyncIterator[None]:
    """Hold the process-wide FIFO lock `name` alone (no lease), from any thread or loop."""
    await _acquire_local(name)
    try:
        yield
    finally:
        _release_local(name)


@dataclass(eq=False)
class ScopeLocks:
    """Per-scope write locks over the leases of one graph backend."""

    graph: Leases
    _: KW_ONLY
    lease_ttl_s: float
    timeout_s: float
    settle: Settle | None = None
    restore: Restore | None = None

    @contextlib.asynccontextmanager
    async def hold(self, user_id: str | None, *, since: Seen | None = None) -> AsyncIterator[Fence]:
        """`hold_many` of one user (None: the memories stored without a user)."""
        async with self.hold_many([user_id], since=since) as fence:
            yield fence

    @contextlib.asynccontextmanager
    async def hold_many(
        self,
        user_ids: Iterable[str | None],
        *,
        settle: bool = True,
        timeout_s: float | None = None,
        since: Seen | None = None,
        within: Fence | None = None,
    ) -> AsyncIterator[Fence]:
        """Hold several users' locks, taken in one global order (no two callers deadlock),
        then (with `settle`) complete the writes of theirs that were left unfinished.
        `ScopeBusyError` if one cannot be had within `timeout_s`. `since`: the erasure counts
        the write read when it began, per scope - ConflictError, nothing written, if one of
        them was forgotten since. Gives the `Fence` of these leases (and of `within`'s: a
        hold taken while holding others), which every write made under them carries."""
        wait_s = self.timeout_s if timeout_s is None else timeout_s
        users = sorted(set(user_ids), key=scope_key)
        yielded = False  # a NeedsLocks from the caller's own body is not this hold's
        try:
            while True:
                try:
                    async with contextlib.AsyncExitStack() as stack:
                        held = within or Fence((), self.graph.fence_holds)
                        owners: dict[str, str] = {}
                        for user_id in users:
                            hold = self._hold(user_id, wait_s, owners)
                            token = await stack.enter_async_context(hold)
                            held = held.with_token(
                                self.graph.lease_key(scope_key(user_id)), token, user_id=user_id
                            )
                        if settle and self.settle is not None and users:
                            await self.settle(set(users), held)
                        for (user_id, agent_id), seen in (since or {}).items():
                            await self.check_erasures(user_id, agent_id, seen)
                        yielded = True
                        # the writes' graph transactions gathered, the last with the
                        # leases' release (`octomem.stores.gather`)
                        release = functools.partial(self._release, owners)
                        async with gather.gathered(held, last=release):
                            yield held
                    return
                except NeedsLocks as more:
                    if within is not None or yielded:
                        raise  # the outermost hold lets go and takes them all
                    log.info("taking the locks a leftover needs, in order", more=len(more.users))
                    users = sorted(set(users) | more.users, key=scope_key)
        except LandedLate as late:
            late.users.update(users)
            if self.restore is None or within is not None:
                raise  # the outermost hold restores, once every lease here is released
            # a vector write landed after the lease was lost: take the leases anew, put
            # back what the fenced stores say, then tell the caller
            log.warning("a write landed after its lease was lost; restoring", written=late.written)
            async with self.hold_many(late.users) as fence:
                await self.restore(late.written, fence)
            raise

    def no_leftovers(self, user_ids: Iterable[str | None]) -> bool:
        """Whether, as this process took these users' leases (which it holds), the journal
        held no unfinished write of anyone's (`Leases.no_leftovers`)."""
        return all(self.graph.no_leftovers(scope_key(user_id)) for user_id in user_ids)

    async def _release(self, owners: Mapping[str, str]) -> None:
        for key, owner in owners.items():
            await self.graph.release_later(key, owner)

    @contextlib.asynccontextmanager
    async def _hold(
        self, user_id: str | None, wait_s: float, owners: dict[str, str]
    ) -> AsyncIterator[int]:
        """Hold one user's lock: its lease's fencing token (its owner put in `owners`)."""
        key = scope_key(user_id)
        name = (self.graph.location, key)
        try:
            async with asyncio.timeout(wait_s):
                await _acquire_local(name)
        except TimeoutError:
            raise self._busy(user_id, "another caller in this process", wait_s) from None
        try:
            owner = owners[key] = uuid.uuid4().hex
            try:
                token = await self._take_lease(key, owner, user_id, wait_s)
            except asyncio.CancelledError:  # a claim may have landed, its answer unseen
                await self._give_back(key, owner)
                raise
            with stuck.watching() as watch:
                renewing = asyncio.ensure_future(self._renew(key, owner, watch))
                failed = True
                try:
                    yield token
                    failed = False
                finally:
                    renewing.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewing
                    # a failed holder's caller is not kept waiting for the release (after a
                    # stalled server's bound, it would stall as long again)
                    await self._give_back(key, owner, wait=not failed)
        finally:
            _release_local(name)

    async def _take_lease(self, key: str, owner: str, user_id: str | None, wait_s: float) -> int:
        wait = retries.lease_wait(wait_s)
        token: int = await wait(self.graph.acquire_lease, key, owner, self.lease_ttl_s)
        if not token:
            raise self._busy(user_id, "another process", wait_s)
        return token

    async def _renew(self, key: str, owner: str, watch: stuck.Watch) -> None:
        """Renew the lease every third of its TTL while the holder makes progress: not
        while one of its store calls is stuck past its bound (`octomem.stores.stuck`), so
        that a stuck holder does not lock the scope for longer than its TTL."""
        while True:
            await asyncio.sleep(self.lease_ttl_s / 3)
            if (late_s := watch.overdue()) > 0:
                log.error(
                    "scope lease not renewed: a store call of its holder is stuck past its "
                    "bound; the lease expires and another writer may take the scope",
                    key=key,
                    overdue_s=round(late_s, 1),
                )
                continue
            try:
                kept = await self.graph.acquire_lease(key, owner, self.lease_ttl_s)
            except StoreError as exc:
                log.warning("scope lease renewal failed", key=key, error=str(exc))
                continue
            if not kept:
                log.error("scope lease lost while held; another writer may interleave", key=key)

    async def _give_back(self, key: str, owner: str, *, wait: bool = True) -> None:
        """Release the lease, in a task of its own that waits at most `GIVE_BACK_S` (or a
        third of the TTL; past it the lease expires by itself): awaited (shielded: a
        cancelled caller still frees it, else others wait for its TTL) unless not `wait`."""
        wait_s = min(GIVE_BACK_S, self.lease_ttl_s / 3)
        release = asyncio.ensure_future(
            asyncio.wait_for(self.graph.release_lease(key, owner), wait_s)
        )
        release.add_done_callback(lambda done: _released(done, key, wait_s))
        if not wait:
            _RELEASING.add(release)  # kept until done (the loop holds tasks weakly)
            release.add_done_callback(_RELEASING.discard)
            return
        with contextlib.suppress(StoreError, TimeoutError):  # logged by `_released`
            await asyncio.shield(release)

    async def erasures(self, user_id: str | None, agent_id: str | None) -> Erasures:
        """The erasure counts of a scope: read when a multi-step write begins, compared by
        `check_erasures` at each of its steps."""
        return tuple([await self.graph.erasures(key) for key in erasure_keys(user_id, agent_id)])

    async def count_erasure(self, user_id: str, agent_id: str | None, fence: Fence) -> None:
        """A forget of this scope begins (under the user's lock, whose `fence` it carries):
        every write of it that began before fails at its next step instead of storing what
        was forgotten."""
        await self.graph.count_erasure(
            erasure_keys(user_id, agent_id)[-1], fence.stamp(user_id) or 0, fence=fence
        )

    async def erased_at(self, user_id: str | None, agent_id: str | None) -> int:
        """The token of the latest forget of this scope (or of its whole user): a vector
        entry of the scope stamped with an older one was written before it (a late write)."""
        return max([await self.graph.erased_at(key) for key in erasure_keys(user_id, agent_id)])

    async def check_erasures(
        self, user_id: str | None, agent_id: str | None, seen: Erasures
    ) -> None:
        """ConflictError if the scope was forgotten since `seen` was read; call while holding
        the user's lock, before writing."""
        if await self.erasures(user_id, agent_id) != seen:
            raise ConflictError(
                f"the memories of user_id={user_id!r}"
                + (f", agent_id={agent_id!r}" if agent_id is not None else "")
                + " were forgotten while this call was running, so nothing of it was stored;"
                " send it again if it should be remembered"
            )

    def _busy(self, user_id: str | None, holder: str, wait_s: float) -> StoreError:
        return ScopeBusyError(
            f"the memories of user_id={user_id!r} stayed locked by {holder} for "
            f"{wait_s:g} s (concurrency.lock_timeout_s); nothing was written - retry, "
            "or raise the timeout if writes for one user take that long"
        )
