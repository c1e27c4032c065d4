"""The recall path: module-level step functions of a typed state (`state`) and the
services they run on (`deps`), defined once in their order (`steps`), run directly by
`Orchestrator.recall` and wired as the graph LangGraph Studio shows.

plan_recall -> search_shared -> search_agent (one per agent) -> rank_hits

- plan_recall (`plan`): the typed `RecallPlan`: which agents, scope, validity, weights.
- search_shared, search_agent (`search`): the searches of all agents side by side, then
  each agent's ranked lists (vector, keyword, graph), or its own retrieval step's.
- rank_hits (`rank`): fusion, context turns, boosts, stale demotion, the core blocks.
"""
