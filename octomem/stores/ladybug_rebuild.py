"""`python -m octomem.stores.ladybug_rebuild FILE`: write a new graph database FILE from
the rows pickled on stdin (see `ladybug._rebuild`, which runs it in a fresh process)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from octomem.stores.ladybug import write_database


def main() -> None:
    data = pickle.loads(sys.stdin.buffer.read())  # written by our own parent process
    write_database(Path(sys.argv[1]), data)


if __name__ == "__main__":
    main()
