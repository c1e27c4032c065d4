"""How long a stalled server holds up a caller, with the default bounds.

`python -m benchmarks.store_stall --server chroma|bolt`: a Chroma server and an ArcadeDB
Bolt server on loopback (`benchmarks.servers`), two hosts on them, host A reaching one of
them through the fault proxy (`benchmarks.tcp_proxy`). The proxy stalls in the middle of
A's write of a user (lease held, graph written, vectors not yet) and stays stalled while
host B writes the same user and A then tries a recall. Prints how long A's write took to
fail and with what, how long B waited, and how long A's recall took to fail.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.tcp_proxy import TcpProxy, proxy_to
from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings


def _stall_mid_write(orch: Orchestrator, proxy: TcpProxy) -> threading.Event:
    keyword = services_of(orch).keyword
    real_upsert = keyword.upsert
    stalled = threading.Event()

    async def upsert_then_stall(*args: Any, **kwargs: Any) -> None:
        await real_upsert(*args, **kwargs)
        if not stalled.is_set():
            proxy.set_mode("stall")
            stalled.set()

    keyword.upsert = upsert_then_stall  # type: ignore[method-assign]
    return stalled


def _timed(call: Any, *args: Any, **kwargs: Any) -> tuple[float, str]:
    began = time.monotonic()
    try:
        call(*args, **kwargs)
        said = "ok"
    except Exception as exc:
        said = f"{type(exc).__name__}: {exc}"
    return time.monotonic() - began, said


def measure(server: str, work: Path) -> dict[str, Any]:
    for part in ("chroma", "bolt"):
        (work / part).mkdir(parents=True, exist_ok=True)
    with (
        servers.chroma_server(work / "chroma") as chroma,
        servers.arcadedb_server(work / "bolt") as bolt,
    ):
        chroma_host, chroma_port = chroma.url.removeprefix("http://").split(":")
        bolt_host, bolt_port = bolt.uri.removeprefix("bolt://").split(":")
        upstream = (
            (chroma_host, int(chroma_port)) if server == "chroma" else (bolt_host, int(bolt_port))
        )
        stores: dict[str, Any] = {
            "deployment": "d" + uuid.uuid4().hex[:8],
            "id_key": "store-stall-" + "k" * 32,
            "vector": {"provider": "chroma", "mode": "http", "host": chroma_host},
            "graph": {
                "provider": "neo4j",
                "uri": bolt.uri,
                "user": bolt.user,
                "password": bolt.password,
                "database": bolt.database,
            },
        }
        stores["vector"]["port"] = int(chroma_port)
        with proxy_to(*upstream) as proxy:
            stalled_stores = {
                **stores,
                "vector": {**stores["vector"]},
                "graph": {**stores["graph"]},
            }
            if server == "chroma":
                stalled_stores["vector"]["port"] = proxy.port
            else:
                stalled_stores["graph"]["uri"] = f"bolt://127.0.0.1:{proxy.port}"
            a = Orchestrator(load_settings(data_dir=work / "a", **stalled_stores))
            b = Orchestrator(load_settings(data_dir=work / "b", **stores), embedder=a.embedder)
            try:
                a.process("I moved to Lisbon.", user_id="u")
                b.process("Hi.", user_id="someone-else")  # B's stores open
                stalled = _stall_mid_write(a, proxy)
                said: dict[str, Any] = {}

                def write() -> None:
                    said["a_write_s"], said["a_write"] = _timed(
                        a.process, "I moved to Oslo.", user_id="u"
                    )

                thread = threading.Thread(target=write)
                thread.start()
                stalled.wait(120)
                said["b_write_s"], said["b_write"] = _timed(
                    b.process, "I moved to Berlin.", user_id="u"
                )
                thread.join()
                said["a_recall_s"], said["a_recall"] = _timed(a.recall, "Where?", user_id="u")
                said["still_stalled"] = proxy.mode == "stall"
                proxy.set_mode("pass")
                return said
            finally:
                proxy.set_mode("pass")
                a.close()
                b.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["chroma", "bolt"], default="chroma")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        said = measure(args.server, Path(tmp))
    for name, value in said.items():
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)[:160]
        print(f"{name:>14}: {shown}")


if __name__ == "__main__":
    main()
