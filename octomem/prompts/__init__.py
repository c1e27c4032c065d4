"""The prompts the orchestrator sends: extraction (one call for all agents, or a router and
one call per agent, assembled from each agent's own prompt in `octomem.agents.<name>.prompt`)
and reconcile (what to do with a candidate that resembles stored memories).
"""
