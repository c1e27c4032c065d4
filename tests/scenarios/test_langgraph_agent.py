"""The example agent (examples/langgraph_agent.py) as a compiled LangGraph graph, and the
tools and nodes of octomem.langgraph used the way an agent builder uses them."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph_sdk.auth.types import StudioUser

from examples.langgraph_agent import ScriptedChatModel, build_agent
from octomem import NotFoundError, Orchestrator
from octomem.langgraph import (
    NamespaceScope,
    create_manage_memory_tool,
    create_process_node,
    create_recall_node,
    create_search_memory_tool,
)


def _config(user: str, thread: str = "t1") -> Any:
    return {"configurable": {"user_id": user, "thread_id": thread}}


async def test_example_agent_remembers_across_turns_and_threads(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice, bob = shared_orch, uid("alice"), uid("bob")
    graph = build_agent(orch, checkpointer=InMemorySaver())
    config = _config(alice)

    out = await graph.ainvoke(
        {"messages": [HumanMessage("Hi, I'm Alice. I live in Paris.")]}, config
    )
    assert out["messages"][-1].content == "Noted."
    # the remember node processed the turn: the fact is extracted, the session is the thread
    facts = orch.get_all(user_id=alice, memory_types=["semantic"])
    assert any("Paris" in f.content for f in facts)
    turns = orch.get_all(user_id=alice, memory_types=["episodic"])
    assert {t.session_id for t in turns} == {"t1"}

    out = await graph.ainvoke(
        {"messages": [HumanMessage("Remember that my favourite tea is sencha.")]}, config
    )
    tool_calls = [m for m in out["messages"] if isinstance(m, AIMessage) and m.tool_calls]
    assert tool_calls[-1].tool_calls[0]["name"] == "manage_memory"
    assert out["messages"][-1].content.startswith("Done: created memory sem_")

    # a new thread: only long-term memory can answer
    other = _config(alice, "t2")
    out = await graph.ainvoke({"messages": [HumanMessage("What is my favourite tea?")]}, other)
    assert "sencha" in out["messages"][-1].content
    assert "sencha" in out["memories"], "the recall node put it into the prompt"
    search = next(m for m in out["messages"] if isinstance(m, ToolMessage))
    assert search.name == "search_memory" and "sencha" in str(search.content)

    # another user sees nothing of alice's
    bobs = _config(bob, "t3")
    out = await graph.ainvoke({"messages": [HumanMessage("What is my favourite tea?")]}, bobs)
    assert "sencha" not in out["messages"][-1].content


async def test_manage_tool_update_delete_and_errors(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    manage = create_manage_memory_tool(orch)
    search = create_search_memory_tool(orch, limit=3)
    config = _config(alice)
    created = await manage.ainvoke({"action": "create", "content": "Alice drinks oolong."}, config)
    memory_id = created.removeprefix("created memory ")
    assert orch.get(memory_id).content == "Alice drinks oolong."

    updated = await manage.ainvoke(
        {"action": "update", "id": memory_id, "content": "Alice drinks genmaicha."}, config
    )
    assert updated == f"updated memory {memory_id}"
    hits = json.loads(await search.ainvoke({"query": "what does alice drink?"}, config))
    assert hits[0]["id"] == memory_id and hits[0]["memory"] == "Alice drinks genmaicha."
    assert [e.operation.value for e in orch.history(memory_id)] == ["ADD", "UPDATE"]

    # extracted memories can be curated too
    orch.process("I live in Rome.", user_id=alice)
    rome = next(
        m for m in orch.get_all(user_id=alice, memory_types=["semantic"]) if "Rome" in m.content
    )
    await manage.ainvoke(
        {"action": "update", "id": rome.id, "content": "Alice lives in Milan."}, config
    )
    assert orch.get(rome.id).content == "Alice lives in Milan."
    assert (await manage.ainvoke({"action": "delete", "id": memory_id}, config)).startswith(
        "deleted"
    )
    after = json.loads(await search.ainvoke({"query": "genmaicha"}, config))
    assert all(hit["id"] != memory_id for hit in after)

    # errors go back to the model as text, not as exceptions
    assert "needs the id" in await manage.ainvoke({"action": "update", "content": "x"}, config)
    assert "no memory" in await manage.ainvoke({"action": "delete", "id": "sem_nope"}, config)
    assert "no user_id" in await search.ainvoke({"query": "tea"}, {"configurable": {}})
    create_only = create_manage_memory_tool(orch, actions_permitted=("create",))
    assert "not permitted" in await create_only.ainvoke(
        {"action": "delete", "id": memory_id}, config
    )
    # so are arguments of the wrong type, each named (not langchain's ValidationError)
    said = await manage.ainvoke({"action": "explode", "id": memory_id}, config)
    assert said.startswith("invalid arguments: action: Input should be 'create'"), said
    said = search.invoke({"query": None, "limit": "abc"}, config)
    assert said.startswith("invalid arguments: query: Input should be a valid string"), said
    assert "; limit: Input should be a valid integer" in said
    assert {"content", "action", "id"} == set(manage.args)  # config is injected, not an argument


def test_nodes_in_a_sync_graph(shared_orch: Orchestrator, uid: Callable[[str], str]) -> None:
    """The node helpers also run under `graph.invoke` (sync), with explicit scope."""
    orch, zoe = shared_orch, uid("zoe")

    class State(MessagesState):
        memories: str

    def reply(state: State) -> dict[str, Any]:
        return {"messages": [AIMessage(f"ok ({len(state['memories'])} chars of memory)")]}

    builder = StateGraph(State)
    builder.add_node("recall", create_recall_node(orch, user_id=zoe))
    builder.add_node("reply", reply)
    builder.add_node("remember", create_process_node(orch, user_id=zoe, result_key="ops"))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "reply")
    builder.add_edge("reply", "remember")
    graph = builder.compile()
    graph.invoke({"messages": [HumanMessage("I'm Zoe and I work at Initech.")]})
    out = graph.invoke({"messages": [HumanMessage("Where does Zoe work?")]})
    assert "Initech" in out["memories"]
    assert any("Initech" in m.content for m in orch.get_all(user_id=zoe))


def test_scripted_model_is_a_chat_model() -> None:
    model = ScriptedChatModel()
    call = model.invoke([HumanMessage("Where do I live?")])
    assert call.tool_calls[0]["name"] == "search_memory"
    assert model.invoke([HumanMessage("hello")]).content == "Noted."


@pytest.mark.parametrize("text", ["remember that I like tea", "Remember I like tea."])
def test_scripted_model_creates_memories(text: str) -> None:
    call = ScriptedChatModel().invoke([HumanMessage(text)])
    assert call.tool_calls[0]["args"] == {"action": "create", "content": "I like tea."}


@pytest.mark.parametrize("race", ["forget", "delete"])
async def test_a_tool_update_racing_a_forget_or_delete_brings_nothing_back(
    make_orch: Any, monkeypatch: pytest.MonkeyPatch, race: str
) -> None:
    """The manage tool's update of a store item checks the item where it writes it: an
    item deleted, or a user forgotten, between the tool's read and its write stays gone
    (NotFoundError to the model), as `Orchestrator.update` does for any memory."""
    orch = make_orch()
    manage = create_manage_memory_tool(orch)
    config = _config("bob")
    created = await manage.ainvoke({"action": "create", "content": "Bob drinks oolong."}, config)
    memory_id = created.removeprefix("created memory ")
    read = orch.aget

    async def read_then_erase(*args: Any, **kwargs: Any) -> Any:
        record = await read(*args, **kwargs)
        if race == "forget":  # lands between the tool's read and its write
            await orch.aforget(user_id="bob")
        else:
            await orch.adelete(memory_id, user_id="bob")
        return record

    monkeypatch.setattr(orch, "aget", read_then_erase)
    answer = await manage.ainvoke(
        {"action": "update", "id": memory_id, "content": "Bob drinks sencha."}, config
    )
    monkeypatch.undo()
    assert "no memory" in answer
    assert orch.get_all(user_id="bob", memory_types=["semantic"]) == []
    if race == "forget":
        with pytest.raises(NotFoundError):
            orch.history(memory_id)


def test_the_manage_tool_creates_only_in_the_runs_own_scope(make_orch: Any, tmp_path: Any) -> None:
    """A namespace that would put the memory outside the run's user and agent (a
    `namespace_scope` that does not match `namespace`, or an agent_id the namespace does not
    carry) is refused: such a memory would be nobody's, or the user's outside the agent,
    and survive a forget of the user or stay out of reach of the tool's own update."""
    data_dir = tmp_path / "scoped"
    orch = make_orch(data_dir=data_dir)
    mismatched = create_manage_memory_tool(
        orch, namespace_scope=NamespaceScope(("tenants", "{user_id}"))
    )
    answer = mismatched.invoke(
        {"action": "create", "content": "Bob's locker code is Quillfeather."}, _config("bob")
    )
    assert "namespace" in answer and "created" not in answer
    with_agent = {"configurable": {"user_id": "bob", "agent_id": "a1"}}
    manage = create_manage_memory_tool(orch)
    answer = manage.invoke({"action": "create", "content": "Bob hums Quillfeather."}, with_agent)
    assert "agent_id" in answer and "created" not in answer
    # a namespace that carries the agent puts the memory in the run's scope
    layout = ("memories", "{user_id}", "{agent_id}")
    scoped = create_manage_memory_tool(
        orch, namespace=layout, namespace_scope=NamespaceScope(layout)
    )
    created = scoped.invoke({"action": "create", "content": "Bob sings."}, with_agent)
    memory_id = created.removeprefix("created memory ")
    assert orch.get(memory_id, user_id="bob", agent_id="a1").content == "Bob sings."
    assert scoped.invoke({"action": "update", "id": memory_id, "content": "Bob hums."}, with_agent)
    assert orch.get(memory_id).content == "Bob hums."
    orch.forget(user_id="bob")
    orch.close()
    assert not [p for p in data_dir.rglob("*") if p.is_file() and b"Quillfeather" in p.read_bytes()]


async def test_a_retried_create_of_the_manage_tool_changes_nothing(make_orch: Any) -> None:
    """A tool call run again (a retried node, a client sending it twice) stores its
    content once; a create of other content, or after the memory changed, is a new one."""
    orch = make_orch()
    manage = create_manage_memory_tool(orch)
    config = _config("bob")
    call = {"action": "create", "content": "Bob's PIN is 4821 and he drinks oolong."}
    first, again = [await manage.ainvoke(call, config) for _ in range(2)]
    assert first == again and first.startswith("created memory ")
    memory_id = first.removeprefix("created memory ")
    assert [e.operation.value for e in orch.history(memory_id)] == ["ADD"]
    assert len(orch.get_all(user_id="bob", memory_types=["semantic"])) == 1
    await manage.ainvoke(
        {"action": "update", "id": memory_id, "content": "Bob drinks tea."}, config
    )
    other = await manage.ainvoke(call, config)
    assert other != first and len(orch.get_all(user_id="bob", memory_types=["semantic"])) == 2


def test_a_run_authenticated_as_one_user_cannot_reach_another_users_memories(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """On a LangGraph server with authentication, the client writes the run's configurable
    but the server sets the user it authenticated (`langgraph_auth_user_id`): a
    configurable user_id naming another user is refused by the tools and nodes, a run
    naming none works as the signed-in user, and LangGraph Studio's developer (StudioUser)
    may still debug as any user."""
    orch, ana, bob = shared_orch, uid("ana"), uid("bob")
    orch.process("My PIN hint is tangerine.", user_id=bob)
    orch.process("I play the cello.", user_id=ana)
    search = create_search_memory_tool(orch)
    recall = create_recall_node(orch)
    question = {"messages": [HumanMessage("What is my PIN hint? Do I play an instrument?")]}

    def run(user_id: str | None, auth: Any) -> dict[str, Any]:
        conf: dict[str, Any] = {"thread_id": "t1", "langgraph_auth_user_id": ana}
        conf.update({"langgraph_auth_user": auth} if auth is not None else {})
        return {"configurable": conf | ({"user_id": user_id} if user_id else {})}

    signed_in = {"identity": ana, "is_authenticated": True}

    def searched(config: Any) -> str:
        return str(search.invoke({"query": "PIN hint cello"}, config=config))

    def recalled(config: Any) -> str:
        return str(recall.invoke(question, config=config))

    assert "authenticated as user" in searched(run(bob, signed_in))  # the model is told
    with pytest.raises(Exception, match="authenticated as user"):
        recalled(run(bob, signed_in))
    for call in (searched, recalled):
        for named in (None, ana):
            found = call(run(named, signed_in))
            assert "cello" in found and "tangerine" not in found, (call, named)
    studio = StudioUser("langgraph-studio-user")
    assert "tangerine" in searched(run(bob, studio))
    # as a server's worker rebuilds it from its serialized form (a proxy over the dict)
    rebuilt = SimpleNamespace(kind="StudioUser", identity="langgraph-studio-user")
    assert "tangerine" in searched(run(bob, rebuilt))
    assert "tangerine" in searched(run(bob, {"kind": "StudioUser", "identity": "studio"}))
    # a user_id chosen in code is not the client's: it is not checked
    fixed = create_search_memory_tool(orch, user_id=bob)
    assert "tangerine" in str(fixed.invoke({"query": "PIN hint"}, config=run(ana, signed_in)))


@pytest.mark.parametrize("wrong", [None, "./om-data", {"data_dir": "x"}])
def test_the_store_and_factories_refuse_what_is_not_an_orchestrator(wrong: Any) -> None:
    """Settings, a path or None passed where the Orchestrator goes: an InvalidInputError
    naming what took it, when it is made - not an AttributeError at the first call."""
    from octomem import InvalidInputError
    from octomem.langgraph import OctomemStore

    for make, called in (
        (OctomemStore, "OctomemStore()"),
        (create_search_memory_tool, "create_search_memory_tool()"),
        (create_manage_memory_tool, "OctomemStore()"),
        (create_process_node, "create_process_node()"),
        (create_recall_node, "create_recall_node()"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            make(wrong)
        assert str(refused.value).startswith(f"{called} takes an octomem Orchestrator")
