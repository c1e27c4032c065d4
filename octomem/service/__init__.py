"""The HTTP memory service (`octomem serve`): mem0-compatible routes, octomem's own /v1
API and MCP at /mcp, with API keys, projects, limits and an audit trail."""

from octomem.service.app import create_app
from octomem.service.server import serve

__all__ = ["create_app", "serve"]
