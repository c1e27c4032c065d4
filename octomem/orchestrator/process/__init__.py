"""The process pipeline: module-level node functions of a typed state (`state`) and the
services they run on (`deps`), and the LangGraph graph built from them (`graph`).

normalize -> store_turns -> read_turns -> route -> [llm_extract] -> agent (one Send per
agent) -> commit

- normalize, store_turns (`intake`): validate and normalise the messages, masking secrets
  before anything is stored, embedded or sent anywhere; then every raw turn is written
  before any extraction: nothing said is lost.
- read_turns (`read`): the user's stored name and the language layer's reading of each
  turn, once per call; every agent shares it.
- route (`route`): which agents get the conversation, and why; in per_agent mode the LLM
  router call narrows them.
- llm_extract, agent (`extract`): the candidates, from one LLM call for all agents
  (single_call), or per agent by its own LLM call or its offline rules.
- commit (`commit`): reconcile and write the decisions under the scope's write lock.

Each node is `async def node(state, deps) -> update`: a test calls it alone with a state
and a `Services`.
"""
