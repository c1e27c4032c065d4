"""Images and PDFs in a conversation: the resource agent stores what they said, with
provenance; recall finds it; secrets read in them are masked in every file; forget
removes every derived memory; a bad file stores nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from octomem import InvalidInputError, Orchestrator
from octomem.models import MemoryType
from tests.media_files import data_url, make_pdf, needs, render, screenshot

SECRET = "Quokka7731Zephyr"
PAGES = [
    "Itinerary for the spring trip",
    "Day two: ferry to the island of Vrindavelle at noon",
    "Wifi password: " + SECRET,
]


def pdf_message(pages: list[str] = PAGES, text: str = "Here is my itinerary.") -> dict[str, Any]:
    data = data_url(make_pdf(pages), "application/pdf")
    return {
        "role": "user",
        "content": [
            {"type": "text", "text": text},
            {"type": "file", "file": {"file_data": data, "filename": "trip.pdf"}},
        ],
    }


def image_message(lines: list[str], fmt: str = "PNG") -> dict[str, Any]:
    url = data_url(render(lines, fmt), f"image/{fmt.lower()}")
    return {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}


def media_records(orch: Orchestrator, user: str) -> list[Any]:
    return [
        r for r in orch.get_all(user_id=user, memory_types=["resource"]) if "media" in r.internal
    ]


def files_holding(data_dir: Path, needle: str) -> list[str]:
    found = []
    for path in data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            if any(needle.lower().encode(enc) in data for enc in ("utf-8", "utf-16-le")):
                found.append(str(path.relative_to(data_dir)))
    return found


def test_pdf_pages_stored_with_provenance_recalled_masked_and_forgotten(
    make_orch: Any, tmp_path: Path
) -> None:
    needs("pypdf")
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    result = orch.process([pdf_message()], user_id="maya", session_id="s1")
    added = [op for op in result.all_operations() if op.memory_type == MemoryType.RESOURCE]
    assert [op.operation.value for op in added] == ["ADD"] * 3  # the result says so
    assert any("Vrindavelle" in op.text for op in added)
    records = {r.internal["media"]["page"]: r for r in media_records(orch, "maya")}
    assert sorted(records) == [1, 2, 3]
    page2 = records[2]
    assert page2.resource_type == "pdf" and page2.title == "trip.pdf, page 2"
    assert "Vrindavelle" in page2.content
    provenance = page2.internal["media"]
    assert (provenance["message"], provenance["part"], provenance["pages"]) == (0, 1, 3)
    assert len(provenance["sha256"]) == 64 and page2.uri == f"sha256:{provenance['sha256']}"
    assert page2.source.turn_ids  # the turn it came from
    # recall by what the PDF said
    hits = orch.recall("which island does the ferry go to?", user_id="maya", limit=5)
    assert any("Vrindavelle" in hit.text for hit in hits.hits[:3])
    # the password on page 3 is masked everywhere
    assert "[MASKED" in records[3].content and SECRET not in records[3].content
    assert records[3].sensitive
    # the same message again changes nothing (same ids)
    before = {r.id: r.content_hash for r in media_records(orch, "maya")}
    again = orch.process([pdf_message()], user_id="maya", session_id="s1")
    assert not [op for op in again.all_operations() if op.operation.value == "ADD"]
    assert {r.id: r.content_hash for r in media_records(orch, "maya")} == before
    orch.close()
    assert files_holding(data_dir, "Vrindavelle")  # the scan sees what was stored ...
    assert files_holding(data_dir, SECRET) == []  # ... and the secret is in no file
    orch = make_orch(data_dir=data_dir)
    report = orch.forget(user_id="maya")
    assert report.memories[MemoryType.RESOURCE] >= 3
    assert media_records(orch, "maya") == []
    assert orch.recall("Vrindavelle ferry", user_id="maya").hits == []
    orch.close()
    assert files_holding(data_dir, "Vrindavelle") == []


def test_image_text_read_by_ocr_is_recalled_and_secret_masked(
    make_orch: Any, tmp_path: Path
) -> None:
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    orch.process(
        [
            image_message(["Parking level 4 spot Q17", "Marlowe Street garage"]),
            image_message(["Wifi password: " + SECRET], "JPEG"),
        ],
        user_id="ivan",
    )
    records = media_records(orch, "ivan")
    assert len(records) == 2 and {r.resource_type for r in records} == {"image"}
    hits = orch.recall("where did I park the car?", user_id="ivan", limit=5)
    assert any("Marlowe" in hit.text for hit in hits.hits[:3])
    by_message = {r.internal["media"]["message"]: r for r in records}
    assert by_message[1].internal["media"]["format"] == "JPEG"
    assert "[MASKED" in by_message[1].content and SECRET not in by_message[1].content
    orch.close()
    assert files_holding(data_dir, "Marlowe")
    assert files_holding(data_dir, SECRET) == []
    orch = make_orch(data_dir=data_dir)
    orch.forget(user_id="ivan")
    assert media_records(orch, "ivan") == []
    orch.close()
    assert files_holding(data_dir, "Marlowe") == []


def test_small_screenshot_text_is_found_by_its_words(orch: Orchestrator) -> None:
    """Issue 48: 14-pixel text read as `Contacton-callengineer:BartholomewFinch` and a
    line dropped, so asking for the on-call engineer found nothing."""
    needs("rapidocr_onnxruntime")
    lines = [
        "Contact on-call engineer: Bartholomew Finch",
        "Escalation: page the payments team after 15 min",
        "Runbook: wiki.example.com/payments/latency",
    ]
    url = data_url(screenshot(lines, size=14), "image/png")
    message = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
    orch.process([message], user_id="noor")
    [record] = media_records(orch, "noor")
    for line in lines:
        assert line in record.content
    hits = orch.recall("who is the on-call engineer?", user_id="noor", limit=3)
    assert any("Bartholomew Finch" in hit.text for hit in hits.hits)
    hits = orch.recall("payments team escalation", user_id="noor", limit=3)
    assert any("after 15 min" in hit.text for hit in hits.hits)


def test_bad_pdf_stores_nothing(orch: Orchestrator) -> None:
    needs("pypdf")
    broken = make_pdf(PAGES)[:300]
    message = pdf_message()
    message["content"][1]["file"]["file_data"] = data_url(broken, "application/pdf")
    with pytest.raises(InvalidInputError, match="content part 1 .*cannot be read"):
        orch.process([{"role": "user", "content": "First a normal turn."}, message], user_id="lea")
    assert orch.get_all(user_id="lea") == []


def test_pages_are_kept_with_an_llm_and_with_infer_false(make_orch: Any) -> None:
    """What a file held is input, not extraction: it is stored whether the LLM extracts
    (and finds nothing in it here) or nothing extracts at all (infer=False)."""
    needs("pypdf")
    pytest.importorskip("litellm")
    from octomem.prompts.extraction import ExtractionOutput
    from octomem.prompts.reconcile import DecisionOutput
    from octomem.testing import ScriptedModel

    def script(request: Any) -> Any:
        return ExtractionOutput() if request.purpose == "extract" else DecisionOutput()

    with ScriptedModel(script, name="media") as model:
        orch = make_orch(llm={"model": model.model, "max_retries": 0})
        message = pdf_message(text="I live in Paris. This is the itinerary for my trip.")
        result = orch.process([message], user_id="noor")
        assert model.calls("extract") == 1 and not result.errors  # the LLM found nothing
        assert len(media_records(orch, "noor")) == 3
    plain = make_orch()
    plain.process([pdf_message()], user_id="omar", infer=False)
    pages = sorted(r.internal["media"]["page"] for r in media_records(plain, "omar"))
    assert pages == [1, 2, 3]
