"""The process pipeline: module-level node functions (`async def node(state, deps) ->
update`, callable alone in a test) of a typed state (`state`), and the LangGraph graph
built from them (`graph`): normalize -> store_turns (`intake`) -> read_turns (`read`) ->
route -> [llm_extract] -> agent, one Send per agent (`extract`) -> commit.
"""
