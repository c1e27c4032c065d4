"""mem0-compatible routes (filled in by the mem0 work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["mem0"])
