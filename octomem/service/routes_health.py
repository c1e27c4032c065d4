"""`/healthz`: the process lives. `/readyz`: the embedder is loaded and every open
project's stores answer (their journals recovered), answered within about a second with
each store's check ("ok", or what is wrong: `readiness`). Neither needs a key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from octomem.service.deps import state_of

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process lives")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The stores are reachable",
    responses={503: {"description": "not ready yet, or a store does not answer"}},
)
async def readyz(request: Request) -> JSONResponse:
    state = state_of(request)
    if not state.started or state.pool.closing:
        return JSONResponse({"status": "starting" if not state.started else "stopping"}, 503)
    try:
        checks = await state.pool.ready()
    except Exception as exc:  # any store failing means not ready; the reason stays in the log
        from octomem.service.problems import log

        log.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
        return JSONResponse({"status": "unavailable"}, 503, headers={"Retry-After": "5"})
    ready = all(v == "ok" for v in checks.values())
    loading = checks.get("embedder") == "loading"
    body = {
        "status": "ok" if ready else "starting" if loading else "unavailable",
        "checks": checks,
        "open_projects": state.pool.open_projects,
    }
    headers = None if ready or loading else {"Retry-After": "5"}
    return JSONResponse(body, 200 if ready else 503, headers=headers)
