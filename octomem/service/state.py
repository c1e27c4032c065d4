"""What the service's routes share: settings, the projects' Orchestrators, the keys, the
limits and the audit trail. One per app (and so per worker process)."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.routing import BaseRoute

from octomem.service.audit import AuditLog
from octomem.service.auth import Principal
from octomem.service.key_stores import open_keys
from octomem.service.limits import RateLimiter, WorkGate
from octomem.service.pool import ProjectPool
from octomem.settings import Settings


class State:
    """What the routes share: settings, projects, keys, limits, audit."""

    def __init__(self, settings: Settings, *, audit_per_worker: bool = False) -> None:
        self.settings = settings
        self.config = settings.service
        self.pool = ProjectPool(settings)
        self.keys = open_keys(settings)  # on the graph server in server mode
        self.rates = RateLimiter()
        self.gate = WorkGate(self.config.max_concurrent, self.config.slots_per_key)
        audit_path = Path(self.config.audit_log or settings.data_dir / "service" / "audit.log")
        if audit_per_worker:  # audit.log -> audit-<pid>.log
            audit_path = audit_path.with_name(f"{audit_path.stem}-{os.getpid()}{audit_path.suffix}")
        self.audit = AuditLog(audit_path, self.config)
        self.started = False
        self.routes: list[BaseRoute] = []  # the app's, for the audit line of early answers

    def charge(self, principal: Principal) -> None:
        """One request of `principal` against its key's rate (Problem 429 when spent)."""
        self.rates.check(
            principal.key_id, principal.rate_limit or self.config.rate_limit_per_minute
        )
