"""The pieces of `media.vision`: images kept in memory only, the request with image parts,
lenient descriptions, the masking of what a model that saw pixels says."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from octomem.agents.semantic.prompt import SemanticOutput
from octomem.llm_schema import structured_request
from octomem.messages import normalize_messages
from octomem.models import AttachedImage, MemoryType, ResourceMemory, SemanticMemory, Turn
from octomem.orchestrator import reply_masking, vision
from octomem.prompts.vision import described, descriptions, shown_images, with_images
from octomem.settings import MediaConfig
from tests.media_files import data_url, needs, render

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def image_message(data: bytes) -> dict[str, object]:
    url = data_url(data, "image/png")
    return {
        "role": "user",
        "content": [
            {"type": "text", "text": "hi"},
            {"type": "image_url", "image_url": {"url": url}},
        ],
    }


def test_images_are_kept_only_when_asked_and_never_in_internal() -> None:
    needs("PIL")
    data = render(["Pier 9"])
    config = MediaConfig(ocr=False)
    [plain] = normalize_messages([image_message(data)], session_id=None, now=NOW, media=config)
    assert plain.images == [] and "images" not in plain.internal
    [turn] = normalize_messages(
        [image_message(data)], session_id=None, now=NOW, media=config, vision=True
    )
    [image] = turn.images
    assert image.part == 1 and image.url == data_url(data, "image/png")
    assert image.sha256 == turn.internal["media"][0]["sha256"]
    assert "images" not in turn.internal and "data:image" not in turn.model_dump_json()
    assert turn.model_copy(update={"content": "x"}).images == [image]  # masking keeps them
    assert turn.id == plain.id  # the turn is the same turn


def test_big_images_are_scaled_down_before_they_are_sent() -> None:
    needs("PIL")
    from PIL import Image

    from octomem.media.images import vision_url

    out = io.BytesIO()
    Image.new("RGB", (2048, 4096), "white").save(out, format="JPEG")
    url = vision_url(out.getvalue(), max_pixels=25_000_000, max_side=1024)
    assert url.startswith("data:image/jpeg;base64,")
    import base64

    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as small:
        assert small.size == (512, 1024)


def test_images_follow_the_text_and_json_mode_appends_the_schema_to_it() -> None:
    turn = Turn(id="t", role="user", content="hi", timestamp=NOW, index=0)
    shown = shown_images(
        [turn.with_images([AttachedImage(2, "ab", "data:image/png;base64,AA")])], 4
    )
    messages = with_images(
        [{"role": "system", "content": "s"}, {"role": "user", "content": "T"}], shown
    )
    parts = messages[-1]["content"]
    assert parts[0]["type"] == "text" and parts[0]["text"].startswith("T\n\nImages: image 1")
    assert parts[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}
    output = described(SemanticOutput)
    prompted, fmt = structured_request("json_object", messages, output)
    assert fmt == {"type": "json_object"}
    text = prompted[-1]["content"][0]["text"]
    schema = json.loads(text.split("JSON schema:\n", 1)[1])
    assert "images" in schema["properties"] and "images" in schema["required"]
    assert prompted[-1]["content"][1] == parts[1] and messages[-1]["content"][0] == parts[0]
    assert "images" not in SemanticOutput.model_json_schema()["properties"]  # unchanged


def test_descriptions_keep_only_what_fits() -> None:
    image = AttachedImage(1, "ab", "data:,")
    turn = Turn(id="t", role="user", content="hi", timestamp=NOW, index=0).with_images([image])
    shown = shown_images([turn], 4)
    reply = described(SemanticOutput).model_validate(
        {
            "facts": [],
            "images": [
                {"image": 1, "description": "  a  harbour  "},
                {"image": 1, "description": "again"},
                {"image": 2, "description": "no such image"},
                {"image": True, "description": "a bool"},
                "junk",
            ],
        }
    )
    assert [(s.number, text) for s, text in descriptions(reply, shown)] == [(1, "a harbour")]
    assert described(SemanticOutput).model_validate({"images": "junk"}).images == []


@pytest.mark.parametrize("setting", ["auto", "on", "off"])
def test_enabled_follows_the_setting_and_the_model(setting: str) -> None:
    class Seeing:
        model = "m"

        def supports_vision(self) -> bool:
            return True

    class Blind:
        model = "m"

    assert vision.enabled(setting, None) is False
    assert vision.enabled(setting, Seeing()) is (setting != "off")  # type: ignore[arg-type]
    assert vision.enabled(setting, Blind()) is (setting == "on")  # type: ignore[arg-type]


def test_a_secret_in_a_statement_is_masked_in_every_field() -> None:
    record = SemanticMemory(
        id="s",
        memory_type=MemoryType.SEMANTIC,
        subject="user",
        attribute="wifi_password",
        value="Quokka7731Zephyr",
        content="The user's wifi password is Quokka7731Zephyr.",
    )
    [masked], _ = reply_masking.masked_reply([record])
    assert "Quokka7731Zephyr" not in masked.model_dump_json()
    assert masked.content_hash != record.content_hash
    clean = record.model_copy(
        update={"attribute": "lives_in", "value": "Paris", "content": "The user lives in Paris."}
    )
    assert reply_masking.masked_reply([clean]) == ([clean], False)


def test_a_reply_says_whether_a_secret_was_masked_in_it() -> None:
    """What tells a call's images apart: a reply in which masking found something (here a
    description with a cue, as the model wrote it) or nothing."""
    said = "A sticker on the router that reads: password is Quokka7731Zephyr"
    seen = ResourceMemory(
        id="r",
        memory_type=MemoryType.RESOURCE,
        title="image",
        resource_type="image",
        content=said,
        excerpt=said,
    )
    [masked], secret = reply_masking.masked_reply([seen])
    assert secret and masked.sensitive and "Quokka7731Zephyr" not in masked.model_dump_json()
    plain = seen.model_copy(update={"content": "A router.", "excerpt": "A router."})
    assert reply_masking.masked_reply([plain]) == ([plain], False)
    # a mark the input already held (the user's own masked text, echoed) is no new secret
    echoed = plain.model_copy(update={"content": "The user's password is [MASKED password]."})
    assert reply_masking.masked_reply([echoed]) == ([echoed], False)
