"""How a LangGraph namespace maps onto an octomem scope (`OctomemStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from octomem.errors import InvalidInputError
from octomem.langgraph.checks import InvalidNamespace
from octomem.messages import validate_scope_id

_PLACEHOLDERS = {"{user_id}": "user_id", "{agent_id}": "agent_id", "{session_id}": "session_id"}


@dataclass(frozen=True)
class NamespaceScope:
    """How a namespace maps onto an octomem scope.

    `template` is matched against the start of a namespace: literal labels must be equal,
    ``{user_id}``, ``{agent_id}`` and ``{session_id}`` take the label at their position.
    A namespace that does not match belongs to `default_user_id` / `default_agent_id`.
    """

    template: tuple[str, ...] = ("memories", "{user_id}")
    default_user_id: str | None = None
    default_agent_id: str | None = "langgraph"

    def scope(self, namespace: Sequence[str], *, existing: bool = False) -> dict[str, str | None]:
        """The scope of `namespace`'s items; InvalidNamespace (an InvalidInputError, and
        LangGraph's InvalidNamespaceError) if an id it maps to is not one, such as a blank
        label (`existing`: the namespace of a read or an erasure, whose ids may hold a bidi
        control: `validate_scope_id`)."""
        found: dict[str, str | None] = {}
        if len(namespace) >= len(self.template):
            for label, pattern in zip(namespace, self.template, strict=False):
                field = _PLACEHOLDERS.get(pattern)
                if field is not None:
                    found[field] = label
                elif pattern not in ("*", label):
                    found = {}
                    break
        if not found.get("user_id") and not found.get("agent_id"):
            found = {"user_id": self.default_user_id, "agent_id": self.default_agent_id}
        scope = {name: found.get(name) for name in _PLACEHOLDERS.values()}
        for name, value in scope.items():
            try:
                validate_scope_id(name, value, existing=existing)
            except InvalidInputError as exc:  # a bad namespace, as LangGraph's callers catch it
                raise InvalidNamespace(
                    f"namespace {tuple(namespace)!r} maps onto no scope of {self.template!r}: {exc}"
                ) from None
        return scope

    def prefix_scope(self, prefix: Sequence[str]) -> dict[str, str | None] | None:
        """The scope every namespace under `prefix` has, when the prefix decides it (a
        prefix only selects what is stored: `scope`'s `existing`)."""
        if len(prefix) < len(self.template):
            return None
        return self.scope(prefix, existing=True)
