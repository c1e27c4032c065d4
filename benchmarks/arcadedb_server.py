"""Run an ArcadeDB server with its Bolt plugin until terminated: the Bolt + Cypher server
the tests and `python -m benchmarks scale` start (`servers.arcadedb_server`).

    python benchmarks/arcadedb_server.py ROOT_DIR BOLT_PORT HTTP_PORT READY_FILE

The root password comes from the environment (ARCADEDB_TEST_ROOT_PASSWORD), not the
command line. The server listens on 127.0.0.1 only, serves one database, ``neo4j`` (also
the one a session that names no database gets, as on Neo4j), and writes READY_FILE once
that database exists. SIGTERM or SIGINT (or the end of the parent process) stops the
server and ends the process without running the interpreter's shutdown, where the JVM
bridge can crash: run it in a subprocess of its own (the working directory receives
ArcadeDB's ``log/``).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

DATABASE = "neo4j"
HEAP = "1g"


def main(argv: list[str]) -> None:
    root, bolt_port, http_port, ready_file = argv
    password = os.environ["ARCADEDB_TEST_ROOT_PASSWORD"]

    from arcadedb_embedded.server import ArcadeDBServer

    server = ArcadeDBServer(
        str(Path(root).resolve()),
        password,
        config={
            "host": "127.0.0.1",
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt_port": int(bolt_port),
            "bolt_defaultDatabase": DATABASE,  # -> arcadedb.bolt.defaultDatabase
            "http_port": int(http_port),
        },
        jvm_kwargs={"heap_size": HEAP},
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # After the JVM has started, so that these handlers are the ones in force.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    server.create_database(DATABASE)
    Path(ready_file).write_text("ready\n")
    print(f"arcadedb ready: bolt 127.0.0.1:{bolt_port}, database {DATABASE}", flush=True)
    parent = os.getppid()
    while not stop.wait(0.5) and os.getppid() == parent:
        pass  # stop when told to, or when the run that started us is gone
    print("arcadedb stopping", flush=True)
    server.stop()
    print("arcadedb stopped", flush=True)
    os._exit(0)  # skip interpreter shutdown: the JVM bridge may crash in it


if __name__ == "__main__":
    main(sys.argv[1:])
