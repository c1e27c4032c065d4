"""The README stays short, and every link between the documents leads somewhere.

Relative links in README.md and docs/*.md must name a file that exists and, with a
`#fragment`, a heading of that file (GitHub's anchor rules). The configuration reference
must name every setting `octomem.settings.Settings` has, and every example of the secret
cue table in docs/operations.md is stored as the table says.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from octomem.sensitive import mask_text
from octomem.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DOCUMENTS = [README, *sorted(DOCS.glob("*.md"))]
README_LIMIT = 16 * 1024

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def _prose(path: Path) -> str:
    """The document without its code blocks (their brackets are code, not links)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for line in _prose(path).splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            base = _anchor(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            anchors.add(base if count == 0 else f"{base}-{count}")
    return anchors


def _relative_links(path: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(_prose(path))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def test_the_readme_reads_in_minutes() -> None:
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail into docs/"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    broken = []
    for target in _relative_links(document):
        file_part, _, fragment = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(ROOT)}")
        elif fragment and linked.suffix == ".md" and fragment not in _anchors(linked):
            broken.append(f"{target}: no heading #{fragment} in {linked.name}")
    assert not broken, f"{document.name}: " + "; ".join(broken)


def test_the_readme_links_every_document_in_docs() -> None:
    linked = {
        (README.parent / target.partition("#")[0]).resolve() for target in _relative_links(README)
    }
    missing = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"


def _models(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models a field's annotation allows (one, or each of a union's)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def _setting_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = _models(field.annotation)
        if nested:
            for sub in nested:
                paths |= _setting_paths(sub, f"{path}.")
        else:
            paths.add(path)
    return paths


def test_the_configuration_reference_names_every_setting() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_][a-z0-9_.]*)`", text))

    def documented(path: str) -> bool:
        parts = path.split(".")
        # a key, or the nested section that holds it (`recall.weights` for its three keys)
        return any(".".join(parts[:n]) in named for n in range(len(parts), 1, -1)) or (
            len(parts) == 1 and path in named
        )

    paths = _setting_paths(Settings)
    assert len(paths) > 40  # the walk reached the nested sections
    missing = sorted(p for p in paths if not documented(p))
    assert not missing, f"docs/configuration.md does not name {missing}"


def _cue_rows() -> list[tuple[str, str]]:
    """(example, stored as) of each row of the secret cue table in docs/operations.md."""
    text = (DOCS / "operations.md").read_text(encoding="utf-8")
    header = "| cue | what is masked | example | stored as |"
    assert header in text, "docs/operations.md has no secret cue table"
    rows = []
    for line in text.split(header, 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        example, stored = (re.fullmatch(r"`(.+)`", c) for c in cells[2:4])
        assert example and stored, f"example and stored form in backticks: {line}"
        # "\n" in a cell: a line break (a list after its cue)
        rows.append(tuple(m.group(1).replace("\\n", "\n") for m in (example, stored)))
    return rows


def test_every_example_of_the_secret_cue_table_is_stored_as_it_says() -> None:
    rows = _cue_rows()
    assert len(rows) >= 20
    wrong = [(ex, mask_text(ex), want) for ex, want in rows if mask_text(ex) != want]
    assert not wrong, "\n".join(
        f"{ex!r}: masked {got!r}, the table says {want!r}" for ex, got, want in wrong
    )
    assert sum("[MASKED " in want for _, want in rows) >= len(rows) - 1  # one row keeps its text
