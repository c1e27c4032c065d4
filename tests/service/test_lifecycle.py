"""Stopping and crashing `octomem serve` loses and doubles nothing.

- SIGTERM: new connections are refused at once; a request already in flight finishes and
  is stored; every acknowledged write is there after a restart; the process exits even
  with a request that never completes (cut at service.shutdown_grace_s).
- kill -9 during a stream of writes, restart on the same data directory, retry every
  call: each memory is stored once (the journal completes or rolls back the cut write,
  and a retried call's ids come from its content, never from the clock).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.service.holding import Held
from tests.service_support import Service

GRACE_S = 5
ENV = {"OCTOMEM_SERVICE__SHUTDOWN_GRACE_S": str(GRACE_S)}


def message(n: int) -> str:
    return f"Note {n}: my locker number at gym {n} is {1000 + n}."


def records(http: httpx.Client, user_id: str) -> list[dict[str, Any]]:
    answer = http.get(
        "/v1/records", params={"user_id": user_id, "include_superseded": "true", "limit": 1000}
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


class Writer(threading.Thread):
    """Process calls one after another until the server stops answering; what came back."""

    def __init__(self, svc: Service, key: str, user_id: str, start: int) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=svc.url, headers=svc.auth(key), timeout=60)
        self.user_id, self.n = user_id, start
        self.acknowledged: dict[int, list[str]] = {}  # message number -> raw-turn ids
        self.refused: list[int] = []  # answered 503: must store nothing
        self.unknown: list[int] = []  # cut off without an answer: either way
        self.unexpected: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with self.http:
            while not self.stop.is_set():
                body = {"messages": message(self.n), "user_id": self.user_id}
                try:
                    answer = self.http.post("/v1/process", json=body)
                except httpx.TransportError:
                    self.unknown.append(self.n)
                    return
                if answer.status_code == 200:
                    self.acknowledged[self.n] = answer.json()["turn_memory_ids"]
                else:  # 503 while stopping; anything else fails the test (`unexpected`)
                    self.refused.append(self.n)
                    if answer.status_code != 503:
                        self.unexpected.append(answer.text)
                    return
                self.n += 1

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 120
        while len(self.acknowledged) < count and self.is_alive():
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.05)


def test_sigterm_finishes_in_flight_writes_refuses_new_connections_and_loses_nothing(
    tmp_path: Path,
) -> None:
    with Service.start(tmp_path, env=ENV) as svc:
        key = svc.key()
        writers = [Writer(svc, key, f"writer-{i}", start=100 * i) for i in range(2)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.wait_for(2)
        # one write in flight for sure: its body half sent, the server waiting for the rest
        whole = json.dumps({"messages": "My sister's name is Ingrid.", "user_id": "held"})
        half = len(whole) // 2
        held = Held(
            svc.url,
            "/v1/process",
            {**svc.auth(key), "Content-Type": "application/json"},
            whole[:half].encode(),
        )
        stuck = Held(
            svc.url,
            "/v1/process",
            {**svc.auth(key), "Content-Type": "application/json"},
            b'{"messages": "never finished", ',
        )
        try:
            held.read_by_server()  # else SIGTERM could find it idle and close it
            stuck.read_by_server()
            svc.signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            deadline = stopped_at + 30
            while True:  # the listening socket closes at once
                try:
                    httpx.get(svc.url + "/healthz", timeout=5)
                except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                    break  # refused, or reset as the listener closed under it
                assert time.monotonic() < deadline, "still accepting after SIGTERM"
                time.sleep(0.05)
            status, body = held.finish(whole[half:].encode())
            assert status == 200, body
            held_ids = body["turn_memory_ids"]
            for writer in writers:
                writer.stop.set()
                writer.join(timeout=60)
            # `stuck` never completes: the process still exits, cutting it after the grace
            svc.proc.wait(timeout=GRACE_S * 3 + 30)
            print(f"exited {time.monotonic() - stopped_at:.1f} s after SIGTERM")
            # and it was told so in a problem body, not the server's bare-text 500
            status, problem = stuck.answer()
            assert status == 503 and problem["title"] == "Shutting down", problem
        finally:
            held.close()
            stuck.close()
        assert "timeout graceful shutdown exceeded" in svc.log()
        assert "Exception in ASGI application" not in svc.log()  # an answer, not a crash

    with (
        Service.start(tmp_path, env=ENV) as again,
        httpx.Client(base_url=again.url, headers=again.auth(again.key()), timeout=60) as http,
    ):
        assert held_ids and {r["id"] for r in records(http, "held")} >= set(held_ids)
        for writer in writers:
            assert writer.unexpected == []
            assert writer.acknowledged, "the writer wrote nothing before SIGTERM"
            stored = {r["id"]: r["content"] for r in records(http, writer.user_id)}
            for n, ids in writer.acknowledged.items():
                assert set(ids) <= set(stored), f"acknowledged write {n} lost"
            for n in writer.refused:
                assert not any(message(n) in text for text in stored.values())


def test_kill_9_mid_write_then_retry_stores_each_memory_once(tmp_path: Path) -> None:
    calls = 30
    with Service.start(tmp_path, env=ENV) as svc:
        key = svc.key(scopes="admin")
        writer = Writer(svc, key, "crash", start=0)
        writer.start()
        writer.wait_for(8)
        svc.signal(signal.SIGKILL)  # most likely mid-write: the writer never pauses
        svc.proc.wait(timeout=30)
        writer.join(timeout=60)
    first = dict(writer.acknowledged)
    assert writer.unexpected == []
    assert first and len(first) < calls

    with (
        Service.start(tmp_path, env=ENV) as again,
        httpx.Client(base_url=again.url, headers=again.auth(key), timeout=120) as http,
    ):
        assert http.get("/v1/doctor").json()["pending_writes"] == 0  # the journal recovered
        retried: dict[int, list[str]] = {}
        for n in range(calls):  # the client retries every call, answered or not
            for user_id in ("crash", "clean"):  # "clean": the same calls, once, no crash
                answer = http.post("/v1/process", json={"messages": message(n), "user_id": user_id})
                assert answer.status_code == 200, answer.text
                if user_id == "crash":
                    retried[n] = answer.json()["turn_memory_ids"]
                    if n in first:  # acknowledged before the crash: nothing new stored
                        assert answer.json()["added_turn_ids"] == [], n
        for n, ids in first.items():
            assert retried[n] == ids, f"call {n}: its retry made other ids"
        crashed, clean = records(http, "crash"), records(http, "clean")
        contents = Counter((r["memory_type"], r["content"]) for r in crashed)
        assert [c for c, times in contents.items() if times > 1] == []
        assert len({r["id"] for r in crashed}) == len(crashed)
        assert Counter(r["memory_type"] for r in crashed) == Counter(
            r["memory_type"] for r in clean
        )
        assert sorted(r["content"] for r in crashed) == sorted(r["content"] for r in clean)
        crash_stats = http.get("/v1/stats", params={"user_id": "crash"}).json()
        clean_stats = http.get("/v1/stats", params={"user_id": "clean"}).json()
        for part in ("memories", "history_events"):  # the retries wrote no history either
            assert crash_stats[part] == clean_stats[part], part
        report = http.get("/v1/doctor").json()
        assert report["pending_writes"] == 0
        differences = [s for s in report["stores"] if s["missing"] or s["extra"] or s["stale"]]
        assert differences == [], report
        # message ids: the same words in two messages are two turns, a retried id one
        first_yes, second_yes = same_words_again(http, "m-1"), same_words_again(http, "m-2")
        assert first_yes != second_yes
        assert same_words_again(http, "m-1") == first_yes
        assert len(records(http, "ids")) == 2


def test_serve_refuses_several_workers_on_embedded_stores(tmp_path: Path) -> None:
    data_dir = tmp_path / "om-data"
    done = subprocess.run(
        [sys.executable, "-m", "octomem", "serve", "--workers", "2", "--port", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "OCTOMEM_DATA_DIR": str(data_dir)},
        timeout=120,
    )
    assert done.returncode != 0
    assert "--workers 2 needs server stores" in done.stderr
    assert "Run one worker" in done.stderr and "docs/service.md" in done.stderr
    assert not data_dir.exists()  # refused before anything was opened


def same_words_again(http: httpx.Client, message_id: str) -> list[str]:
    body = {"messages": [{"id": message_id, "role": "user", "content": "Yes."}], "user_id": "ids"}
    answer = http.post("/v1/process", json=body)
    assert answer.status_code == 200, answer.text
    ids: list[str] = answer.json()["turn_memory_ids"]
    return ids
