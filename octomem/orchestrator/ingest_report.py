"""What an `ingest` run tells its caller: the report, and progress as it goes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from octomem.media.notices import Notes

# progress(done, total) after each file; or, if the callback takes a third argument,
# progress(done, total, path) as each file is started (`done` files finished, `path` the
# one being read) and progress(total, total, None) when the run is over
Progress = Callable[[int, int], None] | Callable[[int, int, str | None], None]
Announce = Callable[[int, int, str | None], None]


def announcer(progress: Progress | None) -> Announce:
    """`progress` called as `Progress` says, whichever of its two forms it is."""
    if progress is None:
        return lambda done, total, path: None
    try:
        inspect.signature(progress).bind(0, 0, None)
    except (TypeError, ValueError):  # two arguments (or no signature to tell)
        two: Callable[[int, int], None] = progress  # type: ignore[assignment]
        return lambda done, total, path: two(done, total) if done else None
    return progress  # type: ignore[return-value]


@dataclass
class IngestReport:
    """What one run did, file by file (paths relative to `root`)."""

    root: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # files gone from the folder whose memories are kept, not removed (path, reason): an
    # archive of the folder that may hold their conversation was not read in this run, or
    # they are behind a symbolic link, never followed, standing where they were
    kept: list[tuple[str, str]] = field(default_factory=list)
    memories: int = 0  # records written for the added and updated files
    seconds: dict[str, float] = field(default_factory=dict)  # each file looked at, in order
    # what the reading libraries (pypdf, Pillow) warned about: (library, message) ->
    # {path: times}; never printed as it happens (`octomem.media.notices`)
    warnings: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        kinds = ("added", "updated", "unchanged", "removed", "skipped", "kept")
        return {kind: len(getattr(self, kind)) for kind in kinds}

    def note(self, path: str, notes: Notes) -> None:
        for key, times in sorted(notes.items()):
            found = self.warnings.setdefault(key, {})
            found[path] = found.get(path, 0) + times

    def warnings_line(self) -> str | None:
        """The library warnings in one line, or None if there were none."""
        if not self.warnings:
            return None
        total = sum(sum(by_path.values()) for by_path in self.warnings.values())
        files = {path for by_path in self.warnings.values() for path in by_path}
        (library, message), _ = max(self.warnings.items(), key=lambda kv: sum(kv[1].values()))
        return (
            f"{total} warning{'s' * (total != 1)} from the file readers in {len(files)} "
            f"file{'s' * (len(files) != 1)}; most: {library}: {message}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            **self.counts(),
            "memories": self.memories,
            "files": {
                "added": self.added,
                "updated": self.updated,
                "removed": self.removed,
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
                "kept": [{"path": p, "reason": r} for p, r in self.kept],
            },
            "seconds": self.seconds,
            "warnings": [
                {
                    "library": library,
                    "message": message,
                    "count": sum(by_path.values()),
                    "files": by_path,
                }
                for (library, message), by_path in self.warnings.items()
            ],
        }
