"""The memory types one Orchestrator knows: the eight built-in ones and its custom
agents', each with its id prefix and record class.

Nothing here is global: every Orchestrator builds its own `TypeRegistry` from its agents,
so two Orchestrators in one process may have different custom agents, even a custom type
of the same name with different record classes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from octomem.errors import InvalidInputError
from octomem.models import (
    BUILTIN_TYPES,
    ID_PREFIX,
    RECORD_CLASS,
    RECORD_TYPES,
    CustomMemory,
    MemoryBase,
    MemoryType,
    check_type_name,
    id_prefix_hint,
    make_memory_id,
    record_from_dict,
    record_from_json,
)


@dataclass(frozen=True)
class TypeSpec:
    """One memory type as an Orchestrator knows it."""

    memory_type: MemoryType
    prefix: str  # ids of its records are "{prefix}_{hash}"
    record_class: type[MemoryBase]

    @classmethod
    def custom(
        cls,
        memory_type: MemoryType | str,
        record_class: type[MemoryBase] = CustomMemory,
        prefix: str | None = None,
    ) -> TypeSpec:
        """A custom type, checked: a valid name that is not built in, a record class
        derived from `CustomMemory`, a valid id prefix (default: `id_prefix_hint`)."""
        mtype = MemoryType(check_type_name(str(memory_type)))
        if mtype in BUILTIN_TYPES:
            raise InvalidInputError(f"memory type {mtype.value!r} is built in, not custom")
        if not isinstance(record_class, type) or not issubclass(record_class, CustomMemory):
            raise InvalidInputError(
                f"the record class of memory type {mtype.value!r} is {record_class!r}: "
                "derive it from octomem.models.CustomMemory (or use CustomMemory itself)"
            )
        named = memory_type if isinstance(memory_type, MemoryType) else mtype
        start = id_prefix_hint(named) if prefix is None else prefix
        check_type_name(start, f"id prefix of memory type {mtype.value!r}")
        return cls(mtype, start, record_class)


_BUILTIN_SPECS = tuple(TypeSpec(t, ID_PREFIX[t], RECORD_CLASS[t]) for t in BUILTIN_TYPES)


class TypeRegistry:
    """The built-in memory types plus `custom` ones, in that order; immutable. Iterating
    gives the types."""

    def __init__(self, custom: Iterable[TypeSpec] = ()) -> None:
        specs: dict[str, TypeSpec] = {spec.memory_type: spec for spec in _BUILTIN_SPECS}
        prefixes = {spec.prefix: spec.memory_type for spec in _BUILTIN_SPECS}
        for spec in custom:
            if spec.memory_type in specs:
                known = "built in" if spec.memory_type in BUILTIN_TYPES else "declared twice"
                raise InvalidInputError(f"memory type {spec.memory_type.value!r} is {known}")
            if (taken := prefixes.get(spec.prefix)) is not None:
                raise InvalidInputError(
                    f"id prefix {spec.prefix!r} of memory type {spec.memory_type.value!r} is "
                    f"taken by {taken.value}: give its agent another `id_prefix`"
                )
            specs[spec.memory_type] = spec
            prefixes[spec.prefix] = spec.memory_type
        self._specs = specs  # by name: a custom type is equal to its name
        self._types = tuple(spec.memory_type for spec in specs.values())
        self._prefixes = prefixes
        self._longest = max(len(p) for p in prefixes)
        self.context: dict[str, Any] = {RECORD_TYPES: self}  # pydantic validation context
        # reads records of types it lacks as `CustomMemory` instead of refusing them: for
        # the journal, shared with other Orchestrators
        self.reading_context: dict[str, Any] = {RECORD_TYPES: _Reading(self)}

    def __iter__(self) -> Iterator[MemoryType]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, memory_type: object) -> bool:
        return isinstance(memory_type, str) and memory_type in self._specs

    def __repr__(self) -> str:
        return f"TypeRegistry({', '.join(t.value for t in self)})"

    def spec(self, memory_type: MemoryType | str) -> TypeSpec:
        """The type's spec; InvalidInputError naming it if this registry lacks it."""
        found = self._specs.get(memory_type) if isinstance(memory_type, str) else None
        if found is None:
            raise InvalidInputError(
                f"memory type {str(memory_type)!r} is not one this Orchestrator knows "
                f"({', '.join(t.value for t in self)}): give it the agent of that type"
            )
        return found

    def prefix(self, memory_type: MemoryType) -> str:
        return self.spec(memory_type).prefix

    def record_class(self, memory_type: MemoryType) -> type[MemoryBase]:
        return self.spec(memory_type).record_class

    def lacks(self, records: Iterable[MemoryBase]) -> set[str]:
        """The names of the records' types this registry lacks (another Orchestrator's)."""
        return {r.memory_type.value for r in records if r.memory_type not in self}

    def type_of(self, memory_id: str) -> MemoryType | None:
        """The type whose prefix starts the id ("{prefix}_{rest}", the longest prefix that
        fits), or None for an id of no known type."""
        end = min(len(memory_id) - 2, self._longest)
        for cut in range(end, 0, -1):
            if memory_id[cut] == "_" and (found := self._prefixes.get(memory_id[:cut])):
                return found
        return None

    def make_id(self, memory_type: MemoryType, *key: object, id_key: bytes | None = None) -> str:
        """`octomem.models.make_memory_id` with this registry's prefix of the type."""
        return make_memory_id(memory_type, *key, id_key=id_key, prefix=self.prefix(memory_type))

    def record_from_json(
        self, payload: str | bytes, memory_type: MemoryType | None = None
    ) -> MemoryBase:
        """A stored record, as the class of its type (a type not known fails).
        `memory_type`: the type it is expected to be (a collection's), validated as that
        built-in class directly - a third faster than finding the class from the payload;
        a payload of another type is still read as its own."""
        if memory_type is not None and memory_type in self:
            cls = self.record_class(memory_type)
            if RECORD_CLASS.get(memory_type) is cls:
                with contextlib.suppress(ValidationError):
                    return cls.model_validate_json(payload)
        return record_from_json(payload, self)

    def record_from_dict(self, payload: dict[str, Any]) -> MemoryBase:
        return record_from_dict(payload, self)

    def check_record(self, record: MemoryBase) -> None:
        """InvalidInputError unless the record is of a known type, as its class."""
        expected = self.record_class(record.memory_type)
        if not isinstance(record, expected):
            raise InvalidInputError(
                f"record {record.id!r} of memory type {record.memory_type.value!r} is a "
                f"{type(record).__name__}, not a {expected.__name__} (the record class its "
                "agent declares)"
            )


class _Reading:
    """A registry's record classes, `CustomMemory` for the types it lacks."""

    def __init__(self, types: TypeRegistry) -> None:
        self._types = types

    def record_class(self, memory_type: MemoryType) -> type[MemoryBase]:
        known = memory_type in self._types
        return self._types.record_class(memory_type) if known else CustomMemory


BUILTIN_REGISTRY = TypeRegistry()  # the built-in types alone (a store given no registry)
