"""A fact's text rewritten by a caller (`update()`), read back into its structured value.

`update(fact_id, "Alice lives in Munich")` must change the fact's `value` too, or the
fact, its core line and its graph edge would disagree. The new text is read with the
semantic agent's own rules; a sentence about the user by name or as "The user" is read
as if the user said it ("Alice lives in Munich" -> "I live in Munich").
"""

from __future__ import annotations

import re

from octomem.language import entities_in, job_title, user_facts
from octomem.models import SemanticMemory

_JOB = re.compile(r"\b(?:I am|I'm|I work as|works as)\s+(an?\s+[\w -]+)", re.IGNORECASE)
_IRREGULAR = {"is": "am", "has": "have", "was": "was", "does": "do"}


def as_first_person(text: str, name: str | None) -> str:
    """ "Alice lives in Munich" / "The user lives in Munich" -> "I live in Munich"."""
    subjects = ["The user", "the user", *([re.escape(name)] if name else [])]
    pattern = rf"\b(?:{'|'.join(subjects)})(?:'s)?\s+(\w+)"

    def first(match: re.Match[str]) -> str:
        if re.match(r"\S+(?: user)?'s\s", match.group(0)):
            return f"my {match[1]}"  # "Alice's sister is Maria" -> "my sister is Maria"
        verb = match[1]
        if verb in _IRREGULAR:
            return f"I {_IRREGULAR[verb]}"
        if re.search(r"(?:ch|sh|x|ss)es$", verb):
            return f"I {verb[:-2]}"
        return f"I {verb[:-1]}" if verb.endswith("s") and not verb.endswith("ss") else f"I {verb}"

    return re.sub(pattern, first, text)


def reread(fact: SemanticMemory, text: str, user_name: str | None) -> SemanticMemory:
    """`fact` with `content=text` and the value (and relation) the text states for the
    fact's attribute; a text the rules cannot read keeps the fact's attribute and takes
    the text itself as the value, so no view keeps saying the old value."""
    about_user = fact.subject == "user"
    candidates = user_facts(text)
    if about_user:
        candidates += user_facts(as_first_person(text, user_name))
    same = (c for c in candidates if c.attribute == fact.attribute and c.is_user == about_user)
    found = next(same, None)
    internal = dict(fact.internal)
    job = _JOB.search(as_first_person(text, user_name)) if fact.attribute == "job" else None
    if found is None and job and (named_job := job_title(job[1], strict=False)):
        value = named_job  # the caller names the job: any noun ("midwife") will do
    elif found is not None:
        value = found.value
        if found.relation:
            internal["relation"] = found.relation
    elif named := _named_value(fact, text, user_name):
        value = named  # "The user's wife is Marta": the name the text gives
    else:
        value = " ".join(text.split()).rstrip(" .!")
    return fact.model_copy(update={"content": text, "value": value, "internal": internal})


def _named_value(fact: SemanticMemory, text: str, user_name: str | None) -> str | None:
    """For a fact whose value is a name (a person, a place): the last name in `text` that
    is not its subject's."""
    if not entities_in(fact.value):
        return None
    others = {fact.subject.lower(), (user_name or "").lower()}
    names = [e for e in entities_in(text) if e.lower() not in others]
    return names[-1] if names else None
