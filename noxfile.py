"""Sessions in clean virtualenvs (after `make dist`, which puts the model's wheel in dist/).

- `wheel`, the wheel on each supported Python (`make test-versions`): installs octomem's
  wheel from dist/ (no repository files, no torch), runs tests/packaging/wheel_smoke.py
  from a temporary directory (the import, `octomem demo`, `octomem serve` with a key) and
  the unit tests. The unit tests import octomem from the repository (pytest puts it first
  on sys.path), on the dependencies the wheel resolved for that Python.
- `chroma`, the Chroma store on the lowest and the newest chromadb pyproject allows: its
  contract (embedded, and `chroma run` of the same version) and the file maintenance
  that purges deleted text from embedded Chroma's files, which reaches Chroma's
  internals (`octomem/stores/chroma_files.py`, `chroma_engine.py`).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

PYTHONS = ["3.11", "3.12", "3.13"]  # keep in step with pyproject's classifiers
TEST_TOOLS = [
    "pytest>=8.0",
    "pytest-asyncio>=0.23",
    "pytest-xdist>=3.5",
    "hypothesis>=6.100,<6.170.10",
]

nox.options.error_on_missing_interpreters = True


@nox.session(python=PYTHONS)
def wheel(session: nox.Session) -> None:
    wheels = sorted(Path("dist").glob("octomem-[0-9]*.whl"))
    if len(wheels) != 1:
        session.error(f"expected one wheel in dist/, found {wheels}: run `make dist` first")
    session.install("--find-links", "dist", str(wheels[0]))  # and the model's wheel from dist/
    session.run("python", "tests/packaging/wheel_smoke.py", session.virtualenv.location)
    session.install(f"{wheels[0]}[llm]", *TEST_TOOLS)  # the scripted test model is litellm's
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/unit", *session.posargs)


def _chromadb() -> dict[str, str]:
    """The requirement of chromadb at each end of pyproject's range."""
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    allowed = next(d for d in project["dependencies"] if re.match(r"chromadb\b", d))
    lowest = re.search(r">=\s*([\w.]+)", allowed)
    if lowest is None:
        raise ValueError(f"pyproject's {allowed!r} names no lowest version")
    return {"lowest": f"chromadb=={lowest[1]}", "newest": allowed}


CHROMA_TESTS = [
    "tests/contract/test_vector_contract.py",
    "tests/unit/test_chroma_files.py",
    "tests/unit/test_record_cache.py",
    "tests/scenarios/test_forget.py",  # no byte of a forgotten user left in any file
]


@nox.session(python=PYTHONS[0])
@nox.parametrize("chromadb", list(_chromadb()))
def chroma(session: nox.Session, chromadb: str) -> None:
    session.install("--find-links", "dist", ".", _chromadb()[chromadb], *TEST_TOOLS)
    session.run("python", "-c", "import chromadb; print('chromadb', chromadb.__version__)")
    # the forget on servers needs ArcadeDB (the dev extra); the Chroma server comes with
    # chromadb, at the version under test
    chroma_only = ["-k", "not server_mode", "-n", "0"]
    tests = session.posargs or CHROMA_TESTS
    session.run("pytest", "-q", "-p", "no:cacheprovider", *chroma_only, *tests)
