"""What a model wrote, masked as one reply before it is stored.

Masking runs on every text octomem is given, but a model's reply is text octomem did not
see before: a model that saw pixels may have read a secret OCR missed, and any model may
give a cue to a value its input named without one ("what is your wifi password?"
answered on a turn of its own becomes "the user's wifi password is X"). So every record
of one model call is masked, and a secret found in any of them is masked in all: in the
lines of a list read together too (a procedure's steps: "Type the admin password:", then
the value as a step of its own), and in what a record keeps made of a masked field (a
knowledge edge's `subject_key`, from which its conflict key is made). So is every value
masked in the call's input (`Turn.secrets`): the model was shown it masked, but may read
it in an image, and a value alone ("Enter Zq9xT!pw7" as a procedure's step, an entity
named by it) has no cue to find it by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from octomem.language import norm_key
from octomem.models import MemoryBase, content_hash
from octomem.sensitive import mask_value, replace_found, replaceable, secret_key, secrets_across

# a record's fields that are not text: never masked
_STRUCTURE = frozenset(
    "id memory_type user_id agent_id session_id content_hash conflict_key superseded_by "
    "metadata internal source".split()
)
# a record's name fields and the field holding the value each names (`_named_secrets`)
_NAMED = (("attribute", "value"), ("key", "value"), ("predicate", "object"))
# a predicate's last word that makes its object an entity, not the value it names
# (SHARED_PASSWORD_WITH Bob, KNOWS_PIN_OF Alice)
_RELATION_ENDS = frozenset("with of for to from by at in on about".split())


def masked_reply(
    records: Sequence[MemoryBase], given: Mapping[str, str] | None = None
) -> tuple[list[MemoryBase], bool]:
    """`records` (all those of one model call) with every secret in their text masked, and
    whether one was (so in what the model was shown: an image shown in that call may hold
    it, `originals.settle`). A secret found anywhere in the call's output (a fact's
    statement: "the wifi password is X") is masked in every field of every record of it
    (the fact's value, which alone has no cue; an image's description), as is each of
    `given` (value -> kind: those masked in what the model was asked about,
    `Turn.secrets`)."""
    texts = [_texts(record) for record in records]
    # each string on its own: joined, a field's name ("password") would be a cue for the
    # next field's text
    strings = [s for fields in texts for s in _strings(fields)]
    # the lines of one list (steps, persona lines) are one text: a cue and its value may
    # be two of its lines, each without a secret of its own
    lines = ["\n".join(items) for fields in texts for items in _lists(fields)]
    found = {**(given or {}), **secrets_across([*strings, *lines], joined=False)}
    for record in records:
        found.update({value: "secret" for value in _named_secrets(record) if value not in found})
    out = [_masked(r, fields, found) for r, fields in zip(records, texts, strict=True)]
    return out, any(new is not old for new, old in zip(out, records, strict=True))


def _named_secrets(record: MemoryBase) -> list[str]:
    """The value of a record that names what it holds (a fact's `attribute`, a task's
    `key`) when that name names a secret: `wifi_password: Quokka...` says what "the wifi
    password is Quokka..." says, with no cue in any one string. A name with a prefix
    (`todo:change_password`, `preference:...`) names a topic, not its value. And the
    excerpt of what the model itself called a secret (`resource_type="secret"`)."""
    if getattr(record, "resource_type", None) == "secret":
        # the model said it is a secret: its excerpt is the value (to be the masked one)
        value = getattr(record, "excerpt", None)
    else:
        named = [(getattr(record, n, None), getattr(record, v, None)) for n, v in _NAMED]
        values = [v for n, v in named if isinstance(n, str) and _names_a_secret(n)]
        if not values:
            return []
        value = values[0]
    if not isinstance(value, str) or not replaceable(value.strip()):
        return []
    return [value.strip()]


def _names_a_secret(name: str) -> bool:
    """Whether a fact's attribute, a task's key or an edge's predicate names the secret its
    value is (`wifi_password`, `HAS_WIFI_PASSWORD`), not a topic (`todo:change_password`)
    or a relation to an entity (`SHARED_PASSWORD_WITH`)."""
    last = name.replace("-", "_").split("_")[-1].strip().lower()
    return ":" not in name and last not in _RELATION_ENDS and secret_key(name)


def _texts(record: MemoryBase) -> dict[str, Any]:
    return {name: value for name, value in record if name not in _STRUCTURE}


def _masked(record: MemoryBase, texts: dict[str, Any], found: dict[str, str]) -> MemoryBase:
    update = {}
    for name, value in texts.items():
        new = replace_found(mask_value(value), found)
        if new != value:
            update[name] = new
    if not update:
        return record
    subject_key = record.internal.get("subject_key")
    if "subject" in update and subject_key not in (None, "user"):
        # made of the subject as the model wrote it: made again of its masked form
        internal = {**record.internal, "subject_key": norm_key(update["subject"])}
        update["internal"] = internal
    if "content" in update:
        update["content_hash"] = content_hash(update["content"])
    if "sensitive" in type(record).model_fields:
        update["sensitive"] = True
    return record.model_copy(update=update)


def _lists(value: Any) -> list[list[str]]:
    """The lists of two strings or more in `value`, at any depth."""
    if isinstance(value, dict):
        return [found for item in value.values() for found in _lists(item)]
    if isinstance(value, list | tuple):
        strings = [item for item in value if isinstance(item, str)]
        inner = [found for item in value for found in _lists(item)]
        return [strings, *inner] if len(strings) > 1 else inner
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []
