"""`langgraph dev` serves the process and recall graphs from langgraph.json, offline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import answers, executable, free_port, running

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    langgraph = executable("langgraph")
    if langgraph is None:
        pytest.fail("`langgraph` CLI not installed: pip install 'langgraph-cli[inmem]'")
    work = tmp_path_factory.mktemp("studio")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OCTOMEM_DATA_DIR": str(work / "data")}
    cmd = [langgraph, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1"]
    with running(
        [*cmd, "--port", str(port)],
        log_path=work / "server.log",
        ready=lambda: answers(f"{url}/ok"),
        timeout_s=120,
        what="langgraph dev",
        cwd=ROOT,
        env=env,
    ):
        yield url


async def test_studio_runs_both_graphs(studio_url: str) -> None:
    from langgraph_sdk import get_client

    client = get_client(url=studio_url)
    graphs = {assistant["graph_id"] for assistant in await client.assistants.search()}
    assert {"process", "recall"} <= graphs

    processed = await client.runs.wait(
        None,
        "process",
        input={
            "messages": [{"role": "user", "content": "I'm Alice. I live in Paris."}],
            "user_id": "alice",
            "session_id": "s1",
        },
    )
    assert processed["routing"]["semantic"] == "selected"
    assert any("Paris" in c["content"] for c in processed["candidates"])
    semantic = processed["result"]["operations"]["semantic"]
    assert {op["operation"] for op in semantic} == {"ADD"}

    recalled = await client.runs.wait(
        None,
        "recall",
        input={
            "query": "where does alice live?",
            "user_id": "alice",
        },
    )
    assert "Paris" in recalled["result"]["hits"][0]["memory"]["content"]
    assert recalled["ranked"], "each retriever's ranked list is visible in the state"


async def test_studio_runs_the_example_agent(studio_url: str) -> None:
    from langgraph_sdk import get_client

    client = get_client(url=studio_url)
    graphs = {assistant["graph_id"] for assistant in await client.assistants.search()}
    assert "agent" in graphs
    config = {"configurable": {"user_id": "bob"}}

    saved = await client.runs.wait(
        None,
        "agent",
        input={
            "messages": [{"role": "user", "content": "Remember that my favourite tea is sencha."}]
        },
        config=config,
    )
    assert saved["messages"][-1]["content"].startswith("Done: created memory")

    thread = await client.threads.create()
    answered = await client.runs.wait(
        thread["thread_id"],
        "agent",
        input={"messages": [{"role": "user", "content": "What is my favourite tea?"}]},
        config=config,
    )
    assert "sencha" in answered["messages"][-1]["content"]
    assert "sencha" in answered["memories"], "the recall node's prompt text is in the state"

    recalled = await client.runs.wait(
        None, "recall", input={"query": "favourite tea", "user_id": "bob"}
    )
    assert any("sencha" in hit["memory"]["content"] for hit in recalled["result"]["hits"])
