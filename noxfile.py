"""The wheel on each supported Python: `make test-versions` (after `make dist`).

Each session makes a clean virtualenv, installs octomem's wheel from dist/ (and the
model's wheel beside it; no repository files, no torch), runs
tests/packaging/wheel_smoke.py from a temporary directory (the import, `octomem demo`,
`octomem serve` with a key) and the unit tests. The unit tests import octomem from the
repository (pytest puts it first on sys.path), on the dependencies the wheel resolved
for that Python.
"""

from __future__ import annotations

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
