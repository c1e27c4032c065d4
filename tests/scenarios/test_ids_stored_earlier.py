"""Ids stored before octomem refused the bidi controls in them (U+202A-U+202E,
U+2066-U+2069, refused as control characters are): what was stored under such an id can
still be read, listed, deleted and forgotten completely - through the Orchestrator, the
mem0 facade, the CLI and HTTP - while no new memory is stored under it.

An earlier build is this one with the checks as they were (`earlier_build`): the bidi
controls were neither refused in ids nor removed from text, and nothing else differed."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from octomem import Memory, Orchestrator, validation
from octomem.cli import app
from octomem.errors import InvalidInputError
from octomem.service.app import create_app
from octomem.settings import load_settings
from tests.contract.test_write_primitive import _state
from tests.scenarios.test_forget import ZOE, _assert_zoe_gone, _fill, _leaks
from tests.service.test_tenancy_http import A, make_key
from tests.service.test_ui_http import CSRF, sign_in

ZOE_ID, BOB_ID = "zoe\u202e", "bob\u202e"  # _fill's users, under ids an earlier build took
AGENT, SESSION = "help\u202ber", "s\u2066x"
NOTHING = {"vector": {}, "history": {}, "keyword": [], "graph": [], "relations": []}


@contextmanager
def earlier_build() -> Iterator[None]:
    """`octomem.validation` as it was before ids refused the bidi controls."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "_CONTROL", re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]"))
        patch.setattr(validation, "_ANY_CONTROL", re.compile("[\x00-\x1f\x7f-\x9f]"))
        yield


def _stored_earlier(orch: Orchestrator) -> None:
    with earlier_build():
        _fill(orch, suffix="\u202e")  # zoe and bob, zoe with an agent "helper" too
        orch.process("I keep my kayak at Quibbleton pier.", user_id=ZOE_ID, agent_id=AGENT)
        orch.process("I live in Bobtown.", user_id=BOB_ID, session_id=SESSION)
    with pytest.raises(InvalidInputError, match="control character"):
        validation.validate_scope_id("user_id", ZOE_ID)  # today's rule is back


def _in_files(data_dir: Path, text: str) -> list[str]:
    return [str(p) for p in data_dir.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_a_user_stored_earlier_under_a_bidi_id_is_read_and_forgotten_completely(
    make_orch: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    _stored_earlier(orch)
    assert {ZOE_ID, BOB_ID} <= set(orch.users())
    memories = orch.get_all(user_id=ZOE_ID, include_superseded=True)
    assert len(memories) >= len(ZOE) and {m.user_id for m in memories} == {ZOE_ID}
    assert orch.get(memories[0].id, user_id=ZOE_ID).id == memories[0].id
    assert orch.history(memories[0].id, user_id=ZOE_ID)
    assert orch.recall("where does she live?", user_id=ZOE_ID).hits
    assert orch.get_all(user_id=ZOE_ID, agent_id=AGENT)
    assert orch.stats(user_id=ZOE_ID).totals.memories == len(memories)
    assert orch.browse(user_id=ZOE_ID, memory_type="semantic").records
    exported = io.StringIO()
    orch.export_jsonl(exported, user_id=ZOE_ID)
    assert len(exported.getvalue().splitlines()) > len(memories)
    report = orch.check()
    assert report.consistent
    assert {"zoe\\u202e", "bob\\u202e", "help\\u202ber", "s\\u2066x"} <= set(report.bidi_ids)

    assert orch.delete_all(user_id=ZOE_ID, agent_id=AGENT) >= 1
    orch.delete(memories[0].id, user_id=ZOE_ID)
    forgotten = orch.forget(user_id=ZOE_ID)

    assert forgotten.total_memories >= len(ZOE) and forgotten.history_events > len(ZOE)
    assert _state(orch, ZOE_ID) == NOTHING  # every store, history and graph too
    _assert_zoe_gone(orch, ZOE_ID, BOB_ID)  # and bob, of a bidi id too, untouched
    assert orch.check().consistent
    orch.close()
    assert _leaks(data_dir) == {}
    assert _in_files(data_dir, ZOE_ID) == []
    assert _in_files(data_dir, BOB_ID)


def test_no_new_memory_is_stored_under_a_bidi_id_stored_earlier(orch: Orchestrator) -> None:
    _stored_earlier(orch)
    memory = orch.get_all(user_id=BOB_ID)[0]
    before = orch.stats(user_id=BOB_ID).totals
    for write in (
        lambda: orch.process("I moved to Newtown.", user_id=BOB_ID),
        lambda: orch.update(memory.id, "I live in Newtown.", user_id=BOB_ID),
        lambda: Memory(orch).add("I moved to Newtown.", user_id=BOB_ID),
        lambda: orch.process("I moved to Newtown.", user_id="bob", agent_id=AGENT),
        lambda: orch.reprocess(user_id=BOB_ID),
    ):
        with pytest.raises(InvalidInputError, match="control character"):
            write()
    assert orch.stats(user_id=BOB_ID).totals == before
    with pytest.raises(InvalidInputError, match="control character"):  # C0/C1 never were ids
        orch.forget(user_id="bob\x1b")


def test_the_mem0_facade_reads_and_forgets_a_bidi_id_stored_earlier(orch: Orchestrator) -> None:
    _stored_earlier(orch)
    memory = Memory(orch)
    items = memory.get_all(user_id=ZOE_ID)["results"]
    assert items and memory.get_all(filters={"user_id": ZOE_ID})["results"]  # mem0 2.x
    assert memory.get(items[0]["id"], user_id=ZOE_ID)["id"] == items[0]["id"]
    assert memory.history(items[0]["id"], user_id=ZOE_ID)
    assert memory.search("Bobtown", user_id=BOB_ID, run_id=SESSION)["results"]
    memory.delete(items[0]["id"], user_id=ZOE_ID)
    memory.delete_all(user_id=BOB_ID, run_id=SESSION)
    assert memory.forget(user_id=ZOE_ID)["history_events"] >= len(items)
    assert memory.get_all(user_id=ZOE_ID)["results"] == []
    assert _state(orch, ZOE_ID) == NOTHING


def test_the_cli_lists_and_forgets_a_bidi_id_stored_earlier(make_orch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    _stored_earlier(orch)
    memory_id = orch.get_all(user_id=ZOE_ID, memory_types="semantic")[0].id  # not a view
    orch.close()
    cli = CliRunner()
    store = ["--data-dir", str(data_dir)]
    listed = cli.invoke(app, ["list", "-u", ZOE_ID, "--json", *store])
    assert listed.exit_code == 0, listed.output
    assert {m["user_id"] for m in json.loads(listed.output)} == {ZOE_ID}
    for command in (["get", memory_id], ["history", memory_id], ["delete", memory_id]):
        done = cli.invoke(app, [*command, "-u", ZOE_ID, *store])
        assert done.exit_code == 0, done.output
    doctor = cli.invoke(app, ["doctor", *store])
    assert doctor.exit_code == 0 and "zoe\\u202e" in doctor.output, doctor.output
    forgot = cli.invoke(app, ["forget", "-u", ZOE_ID, "--yes", *store])
    assert forgot.exit_code == 0, forgot.output
    assert "forgot zoe\\u202e:" in forgot.output and "\u202e" not in forgot.output
    assert _leaks(data_dir) == {}
    assert _in_files(data_dir, ZOE_ID) == []


def test_http_reads_and_forgets_a_bidi_id_stored_earlier(tmp_path: Path) -> None:
    data_dir = tmp_path / "om"
    key = {"Authorization": f"Token {make_key(data_dir, project=A)}"}
    with TestClient(create_app(load_settings(data_dir=data_dir))) as http:
        with earlier_build():
            for text in ZOE[:2]:
                body = {"messages": text, "user_id": ZOE_ID}
                assert http.post("/v1/process", json=body, headers=key).status_code == 200
        refused = http.post(
            "/v1/process", json={"messages": "I moved.", "user_id": ZOE_ID}, headers=key
        )
        assert refused.status_code == 422, refused.text
        listed = http.get("/v1/records", params={"user_id": ZOE_ID}, headers=key)
        assert listed.status_code == 200, listed.text
        records = listed.json()
        assert records and {r["user_id"] for r in records} == {ZOE_ID}
        memory_id = records[0]["id"]
        got = http.get(f"/v1/records/{memory_id}", params={"user_id": ZOE_ID}, headers=key)
        assert got.status_code == 200, got.text
        body = {"user_id": ZOE_ID}
        forgot = http.post("/v1/forget", json=body, headers=key)
        assert forgot.status_code == 200, forgot.text
        assert forgot.json()["history_events"] >= len(records)
        after = http.get("/v1/records", params={"user_id": ZOE_ID}, headers=key)
        assert after.status_code == 200 and after.json() == []
    assert _leaks(data_dir) == {}


def test_the_inspector_shows_and_forgets_a_bidi_id_stored_earlier(tmp_path: Path) -> None:
    data_dir = tmp_path / "om"
    admin = make_key(data_dir, project=A, scopes=["read", "write", "delete", "admin"])
    with TestClient(create_app(load_settings(data_dir=data_dir))) as http:
        with earlier_build():
            body = {"messages": "I keep my kayak at Quibbleton pier.", "user_id": ZOE_ID}
            headers = {"Authorization": f"Token {admin}"}
            assert http.post("/v1/process", json=body, headers=headers).status_code == 200
        http.cookies.clear()
        sign_in(http, admin)
        page = f"/ui/users/{quote(ZOE_ID, safe='')}"
        assert page in http.get("/ui/users").text
        shown = http.get(page)
        assert shown.status_code == 200 and "Quibbleton" in shown.text, shown.text
        assert http.get(f"{page}/graph").status_code == 200
        token = CSRF.findall(http.get(f"{page}/forget").text)[-1]
        done = http.post(f"{page}/forget", data={"csrf": token, "confirm": ZOE_ID})
        assert done.status_code == 200, done.text
        assert "Quibbleton" not in http.get(page).text
    assert _leaks(data_dir) == {}
