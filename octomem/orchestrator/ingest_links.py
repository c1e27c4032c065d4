"""The symbolic links of an ingested folder (`octomem.orchestrator.ingest`). A run never
follows one: a link may point outside the folder. But one may stand where files were
ingested before - a subfolder or a mailbox moved elsewhere and linked back, a folder that
is now a link - and their content is then still there, behind it: their memories are kept
(`IngestReport.kept`), not removed as those of files gone from the folder, for as long as
the link stands there. Removing the link (or putting the files back) settles them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from octomem.orchestrator.ingest_records import Names, Stored
from octomem.orchestrator.ingest_scan import kind_of
from octomem.sensitive import MARK
from octomem.validation import clean_text

# the conversations a link to a folder may hold: any kind (`_Run.waiting`)
ANY = "any"


def under(path: str, link: str) -> bool:
    """Whether the file stored as `path` (relative to the root) may lie at or below `link`.
    A path that held a secret is stored masked (`[MASKED ...]`, which may swallow the rest
    of it): only the part before the mask is known, and it may lie below if that part
    does not say otherwise."""
    cut = path.find(MARK)
    if cut < 0:
        return path == link or path.startswith(link + "/")
    known = path[:cut]
    return known.startswith(link + "/") or (link + "/").startswith(known)


def behind(
    root: Path, stored: Mapping[str, Stored], seen: set[str], links: Sequence[str]
) -> dict[str, str]:
    """The files ingested before that the run did not find (keys not `seen`) but that may
    lie below one of the folder's `links` (relative to `root`) -> that link. Nothing lies
    below a link to a file; one that points nowhere may stand for a folder (on a disk not
    mounted) and is taken for one."""
    folders = [(link, stored_as(link)) for link in links if not _to_a_file(root / link)]
    found = {}
    for key, files in stored.items():
        if key not in seen:
            link = next((link for link, as_ in folders if under(files.path, as_)), None)
            if link is not None:
                found[key] = link
    return found


def stored_as(rel: str) -> str:
    """A name of the folder as a stored path has it: metadata text is cleaned (composed
    Unicode, no control or bidi characters: `validation.clean_text`), so a folder named in
    decomposed form (as macOS writes accents) or with a control character is stored under
    another spelling than the link that now stands there has."""
    return clean_text(rel, "a path")


def _to_a_file(link: Path) -> bool:
    """Whether `link` points to a file: a stat of what it points to, nothing read."""
    try:
        return link.is_file()
    except OSError:  # not allowed to look: taken for a folder, which keeps more
        return False


def standing_in(
    links: Sequence[str], stored: Mapping[str, Stored], names: Names, held: Mapping[str, str]
) -> dict[str, str | None]:
    """The links that stand where files were ingested before -> the conversations what is
    behind them may hold ("mail", "slack", `ANY` for a folder, None for a document): a gone
    file's conversation may be in it, as in an archive not read (`_Run.not_read`). A link
    where nothing was ingested holds none: its content was never read."""
    found: dict[str, str | None] = {}
    for link in links:
        own = stored.get(names.key(link))
        if own is not None:  # a file (or a Slack export folder) stood there
            found[link] = kind_of(link) or ("slack" if own.said else None)
        elif link in held.values():  # a folder stood there
            found[link] = ANY
    return found


def reason(link: str, *, listed: bool = True) -> str:
    """Why a file behind `link` keeps its memories (`IngestReport.kept`); `listed` False:
    `link` is a folder the run could not list."""
    if not listed:
        return f"{link} could not be listed in this run: kept until a run lists it"
    return (
        f"{link} is now a symbolic link, which ingest does not follow: kept while the link "
        "is there (put the files back, or remove the link to remove these memories)"
    )
