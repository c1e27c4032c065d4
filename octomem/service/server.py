"""`octomem serve`: run the service on uvicorn.

Embedded stores (files in the data directory, opened by one process) are served by one
worker; several workers need server stores (Chroma's server and Neo4j), which they
share. SIGTERM stops accepting, gives in-flight requests `service.shutdown_grace_s` to
finish, then closes the stores.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

from fastapi import FastAPI

from octomem.errors import ConfigurationError
from octomem.settings import Settings, config_file_from_env, load_settings

_CONFIG_ENV = "OCTOMEM_CONFIG_FILE"


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise ConfigurationError(f"--workers must be at least 1; got {workers}")
    if workers > 1 and not (settings.vector.shared and settings.graph.shared):
        raise ConfigurationError(
            f"--workers {workers} needs server stores: embedded Chroma and the embedded graph "
            "are files one process opens, so one worker serves them. Run one worker, or "
            "configure Chroma's server and Neo4j (configs/server.yaml, docs/service.md)"
        )


def app_from_env() -> FastAPI:
    """The app of one uvicorn worker, from the settings `serve` passed in the environment.
    Each worker writes an audit file of its own: one file rotated by several processes
    would lose lines."""
    from octomem.service.app import create_app

    return create_app(load_settings(config_file_from_env()), audit_per_worker=True)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8420,
    config: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    workers: int = 1,
    access_log: bool = True,
) -> None:
    import uvicorn

    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    settings = load_settings(config, **overrides)
    check_workers(settings, workers)
    run = functools.partial(
        uvicorn.run,
        host=host,
        port=port,
        log_level="info",
        # uvicorn takes whole seconds
        timeout_graceful_shutdown=math.ceil(settings.service.shutdown_grace_s),
        proxy_headers=False,
        access_log=access_log,
    )
    if workers == 1:
        from octomem.service.app import create_app

        run(create_app(settings))
        return
    # each worker process builds its app from the same settings
    if config is not None:
        os.environ[_CONFIG_ENV] = str(Path(config).resolve())
    os.environ["OCTOMEM_DATA_DIR"] = str(settings.data_dir.resolve())
    run("octomem.service.server:app_from_env", factory=True, workers=workers)
