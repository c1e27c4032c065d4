"""process() and recall() through litellm against a real model on a real server, in both
extraction modes (`make test-llm`).

A 270M model extracts poorly, so the gates are only what must hold with any model: each
process() either extracts with the model (every reply validated, after at most one
repair) or falls back to the offline rules with the reason in `ProcessResult.errors`; the
calls stay within the documented budget; nothing said is lost (raw turns stored, stores
consistent, recall finds the raw turn). How much the model actually extracts of a few
scenario conversations is printed as information, not asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from octomem import MemoryType, Orchestrator, ProcessResult
from tests.llm_server.support import llm_settings

pytestmark = pytest.mark.llm_server

MODES = ["single_call", "per_agent"]
# per_agent makes one call per selected agent: three agents keep the run short and still
# exercise the router, the parallel agent calls and their fallback
PER_AGENT_ENABLED = [MemoryType.EPISODIC, MemoryType.SEMANTIC, MemoryType.WORKING]

INTRO = [
    {
        "role": "user",
        "content": "Hi, I'm Alice Chen. I live in Berlin and I work at Acme Robotics.",
    },
    {"role": "assistant", "content": "Nice to meet you, Alice!"},
    {"role": "user", "content": "I need to finish the keynote slides by Friday."},
]
MOVE = [{"role": "user", "content": "Big news: I moved from Berlin to Paris last week."}]


def budget(mode: str, agents: int, chunks: int = 1) -> int:
    """README "LLM extraction": the calls per process() for a conversation of `chunks`
    chunks, plus the one repair call each of them may need (retries are off here)."""
    nominal = chunks + 1 if mode == "single_call" else chunks * (1 + agents) + 1
    return 2 * nominal


def check_result(result: ProcessResult, mode: str, agents: int, messages: int) -> None:
    """What must hold whatever the model answers."""
    # "none": the model's reply validated and selected no agent
    assert result.extraction in (mode, "offline_fallback", "none"), result
    assert all(e.step in ("extraction", "reconcile") for e in result.errors), result.errors
    extraction_errors = [e for e in result.errors if e.step == "extraction"]
    if result.extraction == "offline_fallback":
        assert extraction_errors, "a fallback records its reason"
    else:
        assert not extraction_errors
    assert 1 <= result.llm.calls <= budget(mode, agents), result.llm
    assert result.llm.prompt_tokens > 0
    assert len(result.turn_memory_ids) == messages  # raw turns stored before any call


def check_nothing_lost(
    orch: Orchestrator, result: ProcessResult, query: str, user: str = "alice"
) -> None:
    assert orch.check().consistent
    recalled = orch.recall(query, user_id=user, limit=10)
    assert {hit.id for hit in recalled.hits} & set(result.turn_memory_ids), [
        hit.text for hit in recalled.hits
    ]
    flags = {
        m.internal.get("extraction")
        for m in orch.get_all(user_id=user, memory_types=[MemoryType.EPISODIC])
        if m.id in result.turn_memory_ids
    }
    if result.extraction == "offline_fallback":  # marked for reprocess()
        assert flags == {"fallback"}
    else:
        assert "fallback" not in flags


@pytest.mark.parametrize("mode", MODES)
def test_process_and_recall_with_a_real_model(
    mode: str, llm_server_url: str, make_orch: Callable[..., Orchestrator]
) -> None:
    enabled = PER_AGENT_ENABLED if mode == "per_agent" else list(MemoryType)
    orch = make_orch(
        llm=llm_settings(llm_server_url, mode), agents={"enabled": [a.value for a in enabled]}
    )
    started = time.perf_counter()
    first = orch.process(INTRO, user_id="alice")
    check_result(first, mode, len(enabled), len(INTRO))
    check_nothing_lost(orch, first, "Where does Alice live?")

    # a second call on the same user: stored memories are related, so reconcile may ask
    second = orch.process(MOVE, user_id="alice")
    check_result(second, mode, len(enabled), len(MOVE))
    check_nothing_lost(orch, second, "moved to Paris")
    print(
        f"\n[{mode}] {time.perf_counter() - started:.0f} s; "
        f"first: {first.extraction}, {first.llm.calls} calls, errors {first.errors}; "
        f"second: {second.extraction}, {second.llm.calls} calls, errors {second.errors}"
    )


# (conversation, words an extracted memory should hold) - facts of the demo conversation
# (tests/scenarios/test_conversation.py), one short conversation each
SCENARIOS: list[tuple[str, list[str]]] = [
    ("I live in Berlin and I work at Acme Robotics.", ["Berlin", "Acme Robotics"]),
    (
        "I love sushi, but I can't stand cilantro. Also, I'm allergic to peanuts.",
        ["sushi", "cilantro", "peanut"],
    ),  # fmt: skip
    (
        "To deploy the robot firmware: build it with make, flash it over USB, then reboot "
        "the robot.",
        ["flash", "USB"],
    ),
    ("My colleague Maria works at Google. Tom is married to Anna.", ["Google", "Anna"]),
]


def test_scenario_pass_rate_is_reported(
    llm_server_url: str,
    make_orch: Callable[..., Orchestrator],
    record_property: Callable[[str, Any], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    orch = make_orch(llm=llm_settings(llm_server_url, "single_call"))
    found = fell_back = 0
    expected = sum(len(words) for _, words in SCENARIOS)
    lines = []
    for i, (text, words) in enumerate(SCENARIOS):
        user = f"u{i}"  # one user each: nothing related stored, so no reconcile call
        result = orch.process([{"role": "user", "content": text}], user_id=user)
        check_result(result, "single_call", len(MemoryType), 1)
        extracted = [
            m.content for m in orch.get_all(user_id=user) if m.source.extractor.startswith("llm:")
        ]
        blob = " | ".join(extracted).lower()
        hits = [w for w in words if w.lower() in blob]
        found += len(hits)
        fell_back += result.extraction == "offline_fallback"
        lines.append(
            f"  {result.extraction:16} {len(hits)}/{len(words)} {hits} of {words}; "
            f"{result.llm.calls} calls; extracted {extracted[:6]}"
            + (f"; errors {[str(e)[:160] for e in result.errors]}" if result.errors else "")
        )
    summary = (
        f"real-model scenario pass rate: {found}/{expected} expected facts extracted by the "
        f"model; {fell_back}/{len(SCENARIOS)} conversations fell back to the offline rules"
    )
    record_property("scenario_pass_rate", f"{found}/{expected}")
    with capsys.disabled():
        print("\n" + summary + "\n" + "\n".join(lines))
