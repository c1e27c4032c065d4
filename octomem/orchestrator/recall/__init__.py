"""The recall path: step functions of a typed state (`state`), defined once in their order
(`steps`): plan_recall (`plan`) -> search_shared -> search_agent, one per agent (`search`)
-> rank_hits (`rank`).
"""
