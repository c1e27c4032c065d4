"""The memory inspector: server-rendered pages at /ui over the service's own keys, scopes,
user pinning and audit trail (docs/ui.md).

`session` signs the cookie a key is exchanged for and the forms' CSRF tokens; `pages`
renders the templates and turns errors into pages; `views` shapes records for them;
`routes_auth`, `routes_browse` and `routes_actions` are the pages themselves.
"""

PREFIX = "/ui"
STATIC = PREFIX + "/static/"  # the package's CSS, scripts and graph library: no session


def is_ui(path: str) -> bool:
    """Whether `path` is the inspector's (signed in by its session cookie, not a header)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def needs_session(path: str) -> bool:
    """Whether a request for `path` is read with its session (every inspector page; not
    its static files, which are the same for everyone)."""
    return is_ui(path) and not path.startswith(STATIC)
