"""The audit trail: one JSON line per request - time, request id, key id, project, method,
route template, user id, status, duration and counts. Never memory text, queries,
metadata values or secrets: the route is its template (``/v1/records/{memory_id}``), not
the path, and counts are numbers. Appended to a file that rotates by size
(`logging.handlers.RotatingFileHandler`); the same fields go onto the request's
OpenTelemetry span when tracing is on."""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from octomem.sensitive import mask_text
from octomem.service.context import RequestInfo
from octomem.settings import ServiceConfig

MB = 1024 * 1024


class AuditLog:
    def __init__(self, path: Path, config: ServiceConfig) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._logger = logging.getLogger(f"octomem.audit.{id(self)}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._handler = logging.handlers.RotatingFileHandler(
            path,
            maxBytes=config.audit_max_mb * MB,
            backupCount=config.audit_backups,
            encoding="utf-8",
        )
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._logger.addHandler(self._handler)

    def record(
        self, info: RequestInfo, *, method: str, route: str, status: int, duration_ms: float
    ) -> dict[str, Any]:
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": info.request_id,
            "key_id": info.key_id,
            "project": info.project,
            "method": method,
            "route": route,
            # an id is stored as given, but one shaped like a secret is masked, as the
            # access log masks it
            "user_id": mask_text(info.user_id) if info.user_id else info.user_id,
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "counts": info.counts,
        }
        self._logger.info(json.dumps(line, ensure_ascii=False))
        return line

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._handler.close()
