"""A LangGraph agent with octomem as its long-term memory.

    recall -> agent <-> tools (search_memory, manage_memory) -> remember -> END

- `recall` puts what octomem recalls for the user's message into the prompt;
- the model may search and curate memory itself with the two tools;
- `remember` hands the finished turn to `process()`, so the eight memory agents extract
  facts, events, preferences... from it.

It runs offline: `ScriptedChatModel` stands in for an LLM (swap in any LangChain chat model
that supports tool calling, e.g. ``ChatOpenAI(model="gpt-4o-mini")``). Run it:

    python examples/langgraph_agent.py

or open it in LangGraph Studio (`langgraph dev`, graph id ``agent``) and pass
``{"configurable": {"user_id": "alice"}}`` as the run's config.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from octomem import Orchestrator
from octomem.langgraph import (
    create_manage_memory_tool,
    create_process_node,
    create_recall_node,
    create_search_memory_tool,
)

SYSTEM = "You are a helpful assistant with a long-term memory.\n\n{memories}"


class AgentState(MessagesState):
    memories: str


class ScriptedChatModel(BaseChatModel):
    """A rule-based stand-in for a tool-calling LLM (deterministic, offline).

    "Remember ..." -> manage_memory(create); a question -> search_memory; after a tool
    result -> an answer built from it; anything else -> "Noted."
    """

    @property
    def _llm_type(self) -> str:
        return "octomem-scripted"

    def bind_tools(
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self  # the script knows the two tools by name

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages))])

    def _reply(self, messages: list[BaseMessage]) -> AIMessage:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            if last.name == "search_memory":
                hits = json.loads(str(last.content)) if str(last.content).startswith("[") else []
                if not hits:
                    return AIMessage("I don't remember anything about that.")
                return AIMessage("From memory: " + " ".join(hit["memory"] for hit in hits[:3]))
            return AIMessage(f"Done: {last.content}.")
        text = str(last.content).strip()
        remember = re.match(r"(?i)^remember( that)?\s+(.+)$", text)
        call: dict[str, Any] | None = None
        if remember:
            content = remember.group(2).rstrip(".") + "."
            call = {"name": "manage_memory", "args": {"action": "create", "content": content}}
        elif text.endswith("?"):
            call = {"name": "search_memory", "args": {"query": text}}
        if call is None:
            return AIMessage("Noted.")
        call_id = f"call_{len(messages)}"
        return AIMessage("", tool_calls=[{**call, "id": call_id, "type": "tool_call"}])


def build_agent(
    orch: Orchestrator,
    model: BaseChatModel | None = None,
    *,
    checkpointer: Any = None,
) -> CompiledStateGraph:
    """The agent graph over `orch`; `model` defaults to the scripted one."""
    tools: list[BaseTool] = [create_search_memory_tool(orch), create_manage_memory_tool(orch)]
    llm = (model or ScriptedChatModel()).bind_tools(tools)

    async def agent(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        system = SystemMessage(SYSTEM.format(memories=state.get("memories") or "(nothing yet)"))
        reply = await llm.ainvoke([system, *state["messages"]], config)
        return {"messages": [reply]}

    def route(state: AgentState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else "remember"

    builder = StateGraph(AgentState)
    builder.add_node("recall", create_recall_node(orch))
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("remember", create_process_node(orch))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    builder.add_conditional_edges("agent", route, ["tools", "remember"])
    builder.add_edge("tools", "agent")
    builder.add_edge("remember", END)
    return builder.compile(checkpointer=checkpointer, name="octomem-agent")


@cache
def _studio_agent() -> CompiledStateGraph:
    from octomem.orchestrator.studio import studio_orchestrator

    return build_agent(studio_orchestrator())


async def studio_graph() -> CompiledStateGraph:
    """The `agent` graph of langgraph.json (shares the Studio graphs' stores)."""
    return await asyncio.to_thread(_studio_agent)


async def main() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    async with Orchestrator.from_config(data_dir="./om-data") as orch:
        graph = build_agent(orch, checkpointer=InMemorySaver())
        config: RunnableConfig = {"configurable": {"user_id": "alice", "thread_id": "t1"}}
        for text in [
            "Hi, I'm Alice. I live in Paris.",
            "Remember that my favourite tea is sencha.",
            "What is my favourite tea?",
        ]:
            out = await graph.ainvoke({"messages": [HumanMessage(text)]}, config)
            print(f"user: {text}\nagent: {out['messages'][-1].content}\n")


if __name__ == "__main__":
    asyncio.run(main())
