"""The files an `ingest` run reads under its root, and what a Slack export folder is made
of (`octomem.orchestrator.ingest`)."""

from __future__ import annotations

import os
from pathlib import Path

from octomem.errors import InvalidInputError
from octomem.media.archives import NOT_REGULAR, is_slack_folder

# an archive's suffix -> the conversations it holds: a mailbox, a mail, a Slack export
ARCHIVE_KINDS = {".mbox": "mail", ".eml": "mail", ".zip": "slack"}
ARCHIVES = frozenset(ARCHIVE_KINDS)
SUFFIXES = ARCHIVES | frozenset(
    ".md .markdown .mdx .txt .text .rst .pdf .png .jpg .jpeg .gif .webp .bmp .tif .tiff".split()
)


def scan(
    root: Path, *, hidden: bool, max_files: int
) -> tuple[list[tuple[str, Path]], list[tuple[str, str]]]:
    """The files to read under `root` (or `root` itself), sorted, and those skipped with
    the reason; InvalidInputError past `max_files`. A Slack export folder is one entry,
    the folder (its files are read together)."""
    unlisted: list[OSError] = []  # folders os.walk could not list: skipped, not empty
    if root.is_file() or is_slack_folder(root):
        candidates = [(root.name, root)]
    else:
        candidates = []
        for top, dirs, names in os.walk(root, onerror=unlisted.append, followlinks=False):
            dirs[:] = sorted(d for d in dirs if hidden or not d.startswith("."))
            for name in list(dirs):
                # a link to a folder (never walked) is one entry too, skipped below: a
                # folder ingested before that is now a link keeps its files' memories
                link = (Path(top) / name).is_symlink()
                if link or is_slack_folder(Path(top) / name):
                    dirs.remove(name)  # not walked: one entry
                    names.append(name)
            for name in names:
                if hidden or not name.startswith("."):
                    path = Path(top) / name
                    candidates.append((path.relative_to(root).as_posix(), path))
                if len(candidates) > max_files:
                    raise InvalidInputError(
                        f"{str(root)!r} holds more than {max_files:,} files (ingest.max_files): "
                        "ingest a smaller folder or raise the limit"
                    )
    files, skipped = [], []
    for exc in unlisted:
        folder = Path(exc.filename or root)
        if folder == root:  # every file would look gone
            raise InvalidInputError(f"cannot list {str(root)!r}: {exc.strerror or exc}")
        rel = folder.relative_to(root).as_posix()
        skipped.append((rel if is_utf8(rel) else shown_name(rel), UNLISTED))
    for rel, path in sorted(candidates):
        if not is_utf8(rel):  # bytes the file system keeps, as Python shows them: escaped
            skipped.append((shown_name(rel), NOT_UTF8))
        elif path.is_symlink():
            skipped.append((rel, LINK))
        elif path.is_dir():  # a Slack export
            files.append((rel, path))
        elif not path.is_file():
            skipped.append((rel, NOT_REGULAR))
        elif path.suffix.lower() not in SUFFIXES:
            kinds = ", ".join(sorted(SUFFIXES))
            skipped.append((rel, f"not a supported kind ({kinds}, Slack export folders)"))
        else:
            files.append((rel, path))
    return files, skipped


def kind_of(rel: str) -> str | None:
    """The conversations a file of the folder named `rel` may hold: "mail", "slack", or
    None for a document."""
    return ARCHIVE_KINDS.get(Path(rel).suffix.lower())


# a link may point outside the folder: never followed (`ingest_links`: what it keeps)
LINK = "a symbolic link (not followed)"
# a folder the run could not list (no permission, an I/O error): its files are not gone
UNLISTED = "a folder that cannot be listed (no permission, or an I/O error): not read"
NOT_UTF8 = "its name is not UTF-8 (an older encoding, such as Latin-1): rename it to read it"


def is_utf8(name: str) -> bool:
    """Whether a path's name, as os gives it, was valid UTF-8: bytes that were not are
    lone surrogates (surrogateescape), which no store, hash or JSON encoder takes."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(name: str) -> str:
    """`name` as text: each byte that was not UTF-8 as the replacement character."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def tree_stat(folder: Path) -> tuple[int, int]:
    """The bytes of the files under `folder` and the latest mtime (ns) of them and of its
    folders (a file added or removed changes its folder's): what tells a changed export."""
    size, latest = 0, folder.stat().st_mtime_ns
    for top, dirs, names in os.walk(folder, followlinks=False):
        for name in dirs:
            latest = max(latest, (Path(top) / name).lstat().st_mtime_ns)
        for name in names:
            info = (Path(top) / name).lstat()
            size, latest = size + info.st_size, max(latest, info.st_mtime_ns)
    return size, latest
