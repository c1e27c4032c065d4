"""Offline extraction cost per user message: all eight agents' rules over the demo's
messages (CPU time, best of 7), with one extraction context per run as a process call
has (what the agents share, such as the parsed turns, is computed once per run).
Compare two checkouts side by side, alternating:

    PYTHONPATH=/path/to/checkout python tests/extraction_cost.py
"""

import time
from datetime import UTC, datetime

from octomem.agents import default_agents
from octomem.agents.base import ExtractionContext
from octomem.demo import load_sample
from octomem.messages import normalize_messages
from octomem.models import Scope

sample = load_sample()
turns = []
for session in sample["sessions"]:
    turns += normalize_messages(
        session["messages"],
        session_id=session.get("session_id"),
        timestamp=None,
        now=datetime.now(UTC),
        max_message_chars=100000,
    )
agents = default_agents()
n = sum(1 for t in turns if t.role == "user")
best = 1e9
for _ in range(7):
    start = time.process_time()
    for _ in range(20):
        ctx = ExtractionContext(scope=Scope(user_id="u"), now=datetime.now(UTC))
        for agent in agents.values():
            agent.extract(turns, ctx)
    best = min(best, (time.process_time() - start) / 20)
print(f"{best / n * 1e6:.0f} us per user message ({n} messages, all agents)")
