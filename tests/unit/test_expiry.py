"""`MemoryBase.expiry` and `is_live`: a working memory's deadline, none for a type without
one, and a custom type's own `expires_at` - a declared field or one kept from its JSON."""

from __future__ import annotations

from datetime import datetime, timedelta

from octomem.models import CustomMemory, MemoryType, SemanticMemory, WorkingMemory, utcnow

NOW = utcnow()


class Coupon(CustomMemory):
    code: str
    expires_at: datetime


def test_a_working_memory_expires_at_its_deadline() -> None:
    task = WorkingMemory(id="wrk_1", content="t", key="k", value="v", expires_at=NOW)
    assert task.expiry() == NOW
    assert task.is_live(NOW - timedelta(seconds=1)) and not task.is_live(NOW)


def test_a_fact_never_expires_only_a_later_version_ends_it() -> None:
    fact = SemanticMemory(id="sem_1", content="c", subject="s", attribute="a", value="v")
    assert fact.expiry() is None
    assert fact.is_live(NOW + timedelta(days=3650))
    assert not fact.model_copy(update={"valid_to": NOW}).is_live(NOW)


def test_a_custom_types_expires_at_declared_or_kept_from_its_json() -> None:
    kind = MemoryType("coupon")
    declared = Coupon(id="cpn_1", memory_type=kind, content="c", code="X", expires_at=NOW)
    assert declared.expiry() == NOW and not declared.is_live(NOW)
    # read without its class: the field is an extra one, still the record's deadline
    kept = CustomMemory.model_validate(declared.model_dump())
    assert "expires_at" in (kept.model_extra or {})
    assert kept.expiry() is not None
    plain = CustomMemory(id="cpn_2", memory_type=kind, content="c")
    assert plain.expiry() is None and plain.is_live(NOW)
