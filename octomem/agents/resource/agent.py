"""Resource agent: links, files and titled documents mentioned in a conversation.

A URL's id comes from its normalised form, a file named without a URL from the hash of
its normalised name, a titled document from its title; mentioning it again updates it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from octomem.agents.base import (
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    NoNearMerge,
    read_turns,
    record_fields,
)
from octomem.agents.registry import register
from octomem.agents.resource import prompt as resource_prompt
from octomem.agents.resource.media import (
    actor_of,
    description_record,
    media_records,
    without_markers,
)
from octomem.language import (
    entities_in,
    norm_key,
    normalize_uri,
    split_sentences,
    third_person,
    words,
)
from octomem.models import (
    AttachedImage,
    MemoryBase,
    MemoryType,
    ResourceMemory,
    Turn,
    content_hash,
)

EXTENSIONS: dict[str, str] = {}
for _type, _exts in {
    "pdf": "pdf",
    "document": "doc docx odt rtf txt md rst tex pages",
    "spreadsheet": "xls xlsx csv tsv ods numbers",
    "presentation": "ppt pptx key odp",
    "code": "py js ts tsx jsx java go rs rb cpp cc c h hpp cs swift kt sh sql ipynb php scala "
    "html css vue",
    "data": "json yaml yml toml xml parquet ini cfg",
    "image": "png jpg jpeg gif svg webp heic bmp tiff",
    "video": "mp4 mov avi mkv webm",
    "audio": "mp3 wav m4a flac ogg",
    "archive": "zip tar gz tgz rar 7z",
}.items():
    EXTENSIONS.update(dict.fromkeys(_exts.split(), _type))
DOMAINS = {
    "youtube.com": "video",
    "youtu.be": "video",
    "vimeo.com": "video",
    "github.com": "repo",
    "gitlab.com": "repo",
    "bitbucket.org": "repo",
    "arxiv.org": "paper",
    "figma.com": "design",
    "notion.so": "document",
    "wikipedia.org": "article",
    "medium.com": "article",
}
_GOOGLE_DOCS = {"/spreadsheets": "spreadsheet", "/presentation": "presentation"}  # else a document
_LABELS = {"pdf": "PDF", "code": "code file", "repo": "repository", "data": "data file"}
_NOT_FILES = words("node.js vue.js next.js nuxt.js react.js express.js three.js d3.js")
_NOT_FILES |= words("chart.js socket.io ember.js backbone.js angular.js")
_URL = re.compile(  # a masked password in a link is part of it
    r"\b(?:https?://|www\.)(?:\[MASKED [^\]]*\]|[^\s<>\"'`\])])+", re.IGNORECASE
)
_FILE = re.compile(
    rf"(?<![\w/.@-])([\w][\w-]*(?:\.[\w-]+)*\.({'|'.join(EXTENSIONS)}))\b(?![\w/.-]*\w)",
    re.IGNORECASE,
)
_KINDS = {
    "document": "document doc memo proposal essay notes note report",
    "article": "article post",
    "paper": "paper",
    "book": "book",
    "presentation": "presentation slides deck",
    "spreadsheet": "spreadsheet sheet",
    "video": "video",
    "audio": "podcast",
}
KIND_TYPE = {kind: rtype for rtype, kinds in _KINDS.items() for kind in kinds.split()}
_TITLED = re.compile(
    r"\b(?:the|my|our|this|a|your|his|her)\s+(?:(?:new|latest|draft|final|blog)\s+)?"
    rf"(?P<kind>{'|'.join(KIND_TYPE)})\s+(?:(?:called|titled|named|entitled)\s+)?"
    r"[\"“‘'](?P<title>[^\"”’']{2,80})[\"”’']",
    re.IGNORECASE,
)
_SHARE = re.compile(
    r"\b(?:here(?:'s| is| are)|attached|attaching|sharing|shared|sent|sending|uploaded|"
    r"check out|take a look|have a look|link|see)\b",
    re.IGNORECASE,
)
_ABOUT = re.compile(r"\b(?:about|regarding|covering|explaining|describing)\s+(?P<a>[^.,;!?]+)")


_SECRET_LEAD = re.compile(
    r"(?P<what>[\w' -]{0,40}?\b(?:password|passcode|pin|key|token|card))\b", re.IGNORECASE
)


def url_type(uri: str) -> str:
    parts = urlsplit(uri)
    host = parts.netloc.removeprefix("www.")
    if host == "docs.google.com":
        found = (t for p, t in _GOOGLE_DOCS.items() if parts.path.startswith(p))
        return next(found, "document")
    for domain, rtype in DOMAINS.items():
        if host == domain or host.endswith("." + domain):
            return rtype
    ext = parts.path.rsplit(".", 1)[-1].lower() if "." in parts.path.rsplit("/", 1)[-1] else ""
    rtype = EXTENSIONS.get(ext, "link")
    return "link" if rtype == "code" and host not in DOMAINS else rtype  # .html, .php pages


def url_title(uri: str, rtype: str) -> str:
    parts = urlsplit(uri)
    host = parts.netloc.removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s]
    if rtype == "repo" and len(segments) >= 2:
        return "/".join(segments[:2])
    if not segments or rtype == "video":
        return host
    last = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", segments[-1])
    words_ = re.sub(r"[-_+]+", " ", last).strip()
    return f"{words_} ({host})" if words_ and not words_.isdigit() else host


@register
class ResourceAgent(NoNearMerge, BaseAgent):
    memory_type = MemoryType.RESOURCE
    record_type = ResourceMemory
    policy = ConflictPolicy.UPDATE
    prompt = resource_prompt.PROMPT
    query_cue = re.compile(
        r"\b(documents?|docs?|files?|links?|urls?|shared|sent|pdfs?|spreadsheets?|slides?|"
        r"attachments?|images?|photos?|repo(sitory)?)\b",
        re.I,
    )

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        records: dict[str, MemoryBase] = {}
        for turn, reading in zip(turns, read_turns(turns, ctx), strict=True):
            actor = reading.speaker or actor_of(turn, reading.user_name)
            for sentence in split_sentences(without_markers(turn.content)):
                for record in self._resources(sentence, actor, turn, ctx):
                    records.setdefault(record.id, record)
                if "[MASKED " in sentence:
                    secret = self._secret(sentence, actor, turn, ctx)
                    records.setdefault(secret.id, secret)
        return list(records.values())

    def _secret(
        self, sentence: str, actor: str, turn: Turn, ctx: ExtractionContext
    ) -> ResourceMemory:
        """A secret the conversation mentioned, kept only in its masked form."""
        lead = _SECRET_LEAD.search(sentence)
        title = " ".join(lead["what"].split()[-4:]) if lead else "secret"
        return ResourceMemory(
            id=ctx.memory_id(self.memory_type, f"secret:{norm_key(title)}"),
            content=f"{actor} shared a secret ({title}), stored masked: {sentence.strip()}",
            title=title,
            resource_type="secret",
            summary=f"{actor} shared the {title}.",
            excerpt=sentence.strip(),
            sensitive=True,
            **record_fields(turn, ctx, "resource"),
        )

    def _resources(
        self, sentence: str, actor: str, turn: Turn, ctx: ExtractionContext
    ) -> list[ResourceMemory]:
        found: list[tuple[str, str, str | None, str]] = []  # key, title, uri, type
        taken: list[tuple[int, int]] = []
        for m in _URL.finditer(sentence):
            raw = m.group().rstrip(".,;:!?)'\"")
            try:
                uri = normalize_uri(raw)
                rtype = url_type(uri)
            except ValueError:  # not a URL after all ("http://[bad", an unclosed IPv6 host)
                continue
            found.append((f"uri:{uri}", url_title(uri, rtype), uri, rtype))
            taken.append((m.start(), m.start() + len(raw)))
        for m in _FILE.finditer(sentence):
            name = m[1]
            inside = any(a <= m.start() < b for a, b in taken)
            if inside or name.lower() in _NOT_FILES or "@" in sentence[max(0, m.start() - 1)]:
                continue
            rtype = EXTENSIONS[m[2].lower()]
            found.append((f"file:{content_hash(name)}", name, None, rtype))
            taken.append(m.span())
        for m in _TITLED.finditer(sentence):
            title = m["title"].strip()
            found.append((f"title:{norm_key(title)}", title, None, KIND_TYPE[m["kind"].lower()]))
            taken.append(m.span())
        context = sentence
        for a, b in sorted(taken, reverse=True):
            context = context[:a] + context[b:]
        about = _ABOUT.search(context)
        topic = third_person(" ".join(about["a"].split()[:8]), actor) if about else ""
        verb = "shared" if _SHARE.search(sentence) else "mentioned"
        records = []
        for key, name, link, rtype in found:
            label = _LABELS.get(rtype, rtype)
            summary = f"{actor} {verb} the {label} {name}"
            summary += f" about {topic}." if topic else f': "{sentence.strip()}"'
            records.append(
                ResourceMemory(
                    id=ctx.memory_id(self.memory_type, key),
                    content=summary,
                    title=name,
                    resource_type=rtype,
                    uri=link,
                    summary=summary,
                    excerpt=sentence.strip()[:500],
                    sensitive=False,
                    entities=entities_in(context),
                    internal={"resource_key": key, "shared_by": actor},
                    **record_fields(turn, ctx, "resource"),
                )
            )
        return records

    def input_records(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """The text read from each image and file part, one record per page, section or
        chunk: kept whatever extracts the rest (rules, the LLM, or nothing)."""
        return [r for t in turns for r in media_records(t, actor_of(t, ctx.user_name), ctx)]

    def image_records(
        self, turn: Turn, image: AttachedImage, description: str, ctx: ExtractionContext
    ) -> list[MemoryBase]:
        """What a vision model said an image shows: one record beside its OCR text's."""
        record = description_record(turn, image, description, actor_of(turn, ctx.user_name), ctx)
        return [record] if record is not None else []

    def conflict_key(self, record: MemoryBase) -> str | None:
        if not isinstance(record, ResourceMemory):
            return None
        return record.internal.get("resource_key") or record.uri
