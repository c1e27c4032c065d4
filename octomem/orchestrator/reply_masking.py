"""What a model wrote, masked as one reply before it is stored.

Masking runs on every text octomem is given, but a model's reply is text octomem did not
see before: a model that saw pixels may have read a secret OCR missed, and any model may
give a cue to a value its input named without one ("what is your wifi password?"
answered on a turn of its own becomes "the user's wifi password is X"). So every record
of one model call is masked, and a secret found in any of them is masked in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from octomem.models import MemoryBase, content_hash
from octomem.sensitive import mask_value, replace_found, replaceable, secret_key, secrets_across

# a record's fields that are not text: never masked
_STRUCTURE = frozenset(
    "id memory_type user_id agent_id session_id content_hash conflict_key superseded_by "
    "metadata internal source".split()
)


def masked_reply(records: Sequence[MemoryBase]) -> tuple[list[MemoryBase], bool]:
    """`records` (all those of one model call) with every secret in their text masked, and
    whether one was (so in what the model was shown: an image shown in that call may hold
    it, `originals.settle`). A secret found anywhere in the call's output (a fact's
    statement: "the wifi password is X") is masked in every field of every record of it
    (the fact's value, which alone has no cue; an image's description)."""
    texts = [_texts(record) for record in records]
    # each string on its own: joined, a field's name ("password") would be a cue for the
    # next field's text
    found = secrets_across((s for fields in texts for s in _strings(fields)), joined=False)
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
        value = getattr(record, "value", None)
        names = [getattr(record, field, None) for field in ("attribute", "key")]
        if not any(isinstance(n, str) and ":" not in n and secret_key(n) for n in names):
            return []
    if not isinstance(value, str) or not replaceable(value.strip()):
        return []
    return [value.strip()]


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
    if "content" in update:
        update["content_hash"] = content_hash(update["content"])
    if "sensitive" in type(record).model_fields:
        update["sensitive"] = True
    return record.model_copy(update=update)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []
