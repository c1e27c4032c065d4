"""`octomem ui --data-dir D`: the inspector alone on 127.0.0.1, with a key made for the run,
printed once and revoked when the command stops."""

from __future__ import annotations

import json
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.servers import answers, free_port, running
from tests.service_support import octomem

pytestmark = pytest.mark.integration


def test_octomem_ui_prints_a_key_for_the_run_and_revokes_it_at_the_end(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "om", free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "ui.log"
    cmd = [sys.executable, "-m", "octomem", "ui", "--data-dir", str(data_dir)]
    with running(
        [*cmd, "--port", str(port), "--read-only"],
        log_path=log,
        ready=lambda: answers(url + "/readyz"),
        timeout_s=120,
        what="octomem ui",
    ) as proc:
        found = re.search(r"^(om_[0-9a-f]{16}_\S+)$", log.read_text(), re.M)
        assert found, log.read_text()
        key = found.group(1)
        with httpx.Client(base_url=url, follow_redirects=True) as browser:
            form = browser.get("/ui/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert token
            signed = browser.post("/ui/login", data={"key": key, "csrf": token.group(1)})
            assert signed.status_code == 200 and "read-only" in signed.text
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    listed = json.loads(octomem("keys", "list", "--json", "--data-dir", str(data_dir)))
    [row] = [r for r in listed if r["name"] == "octomem ui (local)"]
    assert row["status"] == "revoked" and row["scopes"] == ["read"]
    assert key not in (data_dir / "service" / "audit.log").read_text()
