"""Images described by a vision model inside the extraction call octomem already makes
(`media.vision`), driven by a scripted model through the real litellm path: the
description is stored and recalled beside the OCR text, no call is added, an image whose
text holds a secret is never sent, and a garbled reply costs only the description."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.agents.semantic.prompt import Fact, SemanticOutput
from octomem.prompts.extraction import ExtractionOutput, RouterOutput
from octomem.prompts.reconcile import DecisionOutput
from octomem.testing import ScriptedModel, ScriptedRequest
from tests.media_files import data_url, needs, render
from tests.scenarios.test_media import SECRET, files_holding, media_records

pytest.importorskip("litellm")

DESCRIPTION = "A red tandem bicycle chained to a lamppost beside a blue lighthouse."
Script = Callable[[ScriptedRequest], Any]


def message(*images: bytes, text: str = "Look at what I found on my walk.") -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [
        {"type": "image_url", "image_url": {"url": data_url(data, "image/png")}} for data in images
    ]
    return {"role": "user", "content": parts}


def describing(
    description: str = DESCRIPTION, *, images: Any = None, found: ExtractionOutput | None = None
) -> Script:
    """A script that extracts nothing (or `found`) and describes every image it is sent;
    `images`, when given, is the reply's `images` value as it is (a garbled reply)."""

    def script(request: ScriptedRequest) -> Any:
        if request.purpose == "reconcile":
            return DecisionOutput()
        if request.purpose == "route":
            return RouterOutput()  # picks nothing: the images still get described
        extracted = found or ExtractionOutput()
        empty = extracted if request.purpose == "extract" else request.output_type()
        reply = empty.model_dump()
        if request.images:
            count = len(request.images)
            each = [{"image": n, "description": description} for n in range(1, count + 1)]
            reply["images"] = each if images is None else images
        return reply

    return script


@pytest.fixture
def vision_orch(make_orch: Any) -> Iterator[Callable[..., tuple[Orchestrator, ScriptedModel]]]:
    models: list[ScriptedModel] = []

    def make(
        script: Script,
        *,
        vision: bool = True,
        native_schema: bool = True,
        media: dict[str, Any] | None = None,
        data_dir: Path | None = None,
        **llm: Any,
    ) -> tuple[Orchestrator, ScriptedModel]:
        model = ScriptedModel(
            script, name=f"vision{len(models)}", vision=vision, native_schema=native_schema
        ).install()
        models.append(model)
        config = {"model": model.model, "max_retries": 0, **llm}
        where = {"data_dir": data_dir} if data_dir is not None else {}
        return make_orch(llm=config, media=media or {}, **where), model

    yield make
    for model in models:
        model.uninstall()


def described(orch: Orchestrator, user: str) -> list[Any]:
    return [r for r in media_records(orch, user) if r.internal["media"].get("read_by") == "vision"]


def ocr_read(orch: Orchestrator, user: str) -> list[Any]:
    return [r for r in media_records(orch, user) if "read_by" not in r.internal["media"]]


def test_description_stored_recalled_and_sent_inside_the_extraction_call(vision_orch: Any) -> None:
    needs("rapidocr_onnxruntime")
    orch, model = vision_orch(describing(), reconcile=False)
    image = render(["Harbour walk, pier 9"])
    result = orch.process([message(image)], user_id="ana")
    # the image went out as an OpenAI-style image_url part of the one extraction call
    assert model.calls() == 1 and model.calls("extract") == 1 and not result.errors
    [sent] = model.requests[0].images
    assert sent == data_url(image, "image/png")  # small and a PNG: sent as it is
    assert "image 1 attached to message [0] (part 1)" in model.requests[0].prompt
    # the same conversation without the image makes as many calls
    plain = orch.process([message()], user_id="ben")
    assert result.llm.calls == plain.llm.calls == 1
    # the description is a memory of its own, with the image's provenance, beside the OCR text
    [seen] = described(orch, "ana")
    assert DESCRIPTION in seen.content and seen.resource_type == "image"
    assert seen.internal["media"]["part"] == 1 and seen.internal["media"]["message"] == 0
    assert len(seen.internal["media"]["sha256"]) == 64 and seen.source.extractor.startswith(
        "vision"
    )
    [read] = ocr_read(orch, "ana")
    assert "pier 9" in read.content.lower()
    # recall finds the image by words only the description has
    hits = orch.recall("where did I see the tandem bicycle?", user_id="ana", limit=3)
    assert hits.hits and "tandem bicycle" in hits.hits[0].text
    # a second time: the same record, not a second one
    orch.process([message(image)], user_id="ana")
    assert len(described(orch, "ana")) == 1


def test_image_whose_text_holds_a_secret_is_never_sent(vision_orch: Any, tmp_path: Path) -> None:
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"
    orch, model = vision_orch(describing(), data_dir=data_dir)
    secret = render(["Wifi password: " + SECRET])
    safe = render(["Harbour walk, pier 9"])
    result = orch.process([message(secret, safe)], user_id="cara")
    assert not result.errors and model.calls("extract") == 1
    # only the safe image (part 2) was sent, numbered 1
    assert model.requests[0].images == [data_url(safe, "image/png")]
    assert "image 1 attached to message [0] (part 2)" in model.requests[0].prompt
    withheld = [r for r in ocr_read(orch, "cara") if r.internal["media"]["part"] == 1]
    assert withheld and withheld[0].internal["media"]["vision"].startswith("not sent: its text")
    assert [r.internal["media"]["part"] for r in described(orch, "cara")] == [2]
    orch.close()
    assert files_holding(data_dir, SECRET) == []
    assert files_holding(data_dir, "tandem")  # what was described is stored


def wifi_password_found() -> ExtractionOutput:
    """The model's reply: a fact naming the secret ("the user's wifi password is X")."""
    fact = Fact(
        subject="user",
        attribute="wifi_password",
        value=SECRET,
        statement=f"The user's wifi password is {SECRET}.",
        source_turns=[0],
    )
    return ExtractionOutput(agents=["semantic"], semantic=SemanticOutput(facts=[fact]))


def test_descriptions_and_memories_of_a_vision_call_are_masked(
    vision_orch: Any, tmp_path: Path
) -> None:
    """OCR may miss a secret the model can read: what the model says is masked."""
    needs("rapidocr_onnxruntime")
    leaked = f"A sticky note that says: my password is {SECRET}"
    found = wifi_password_found()
    data_dir = tmp_path / "data"
    orch, model = vision_orch(describing(leaked, found=found), data_dir=data_dir)
    orch.process([message(render(["Harbour walk, pier 9"]))], user_id="dev")
    [seen] = described(orch, "dev")
    assert SECRET not in seen.content and "[MASKED" in seen.content and seen.sensitive
    [kept] = orch.get_all(user_id="dev", memory_types=["semantic"])
    assert SECRET not in kept.content and "[MASKED" in kept.content
    orch.close()
    assert files_holding(data_dir, SECRET) == []


def test_a_secret_found_in_one_record_of_a_vision_call_is_masked_in_all_of_them(
    vision_orch: Any, tmp_path: Path
) -> None:
    """The fact names the value ("wifi password is X"); the image's description shows it
    with no cue ("a sticker that reads X"): masked in both, as one reply."""
    needs("rapidocr_onnxruntime")
    found = wifi_password_found()
    seen_text = f"A white router with a sticker that reads {SECRET}."
    data_dir = tmp_path / "data"
    orch, model = vision_orch(describing(seen_text, found=found), data_dir=data_dir)
    orch.process([message(render(["Harbour walk, pier 9"]))], user_id="dev")
    assert len(model.requests[0].images) == 1
    [seen] = described(orch, "dev")
    assert SECRET not in seen.content and "[MASKED password]" in seen.content and seen.sensitive
    assert all(SECRET not in r.content for r in orch.get_all(user_id="dev"))
    orch.close()
    assert files_holding(data_dir, SECRET) == []


@pytest.mark.parametrize("setting", ["auto", "on"])
def test_without_ocr_an_image_is_sent_only_when_vision_is_on(
    vision_orch: Any, setting: str
) -> None:
    needs("PIL")
    orch, model = vision_orch(describing(), media={"ocr": False, "vision": setting})
    orch.process([message(render(["Harbour walk, pier 9"]))], user_id="eli")
    [read] = ocr_read(orch, "eli")
    if setting == "auto":
        assert model.requests[0].images == [] and described(orch, "eli") == []
        assert "not checked for secrets" in read.internal["media"]["vision"]
    else:
        assert len(model.requests[0].images) == 1 and len(described(orch, "eli")) == 1
        assert "vision" not in read.internal["media"]


@pytest.mark.parametrize(("vision", "setting"), [(False, "auto"), (True, "off")])
def test_no_image_is_sent_to_a_model_without_vision_or_with_vision_off(
    vision_orch: Any, vision: bool, setting: str
) -> None:
    needs("PIL")
    orch, model = vision_orch(describing(), vision=vision, media={"vision": setting})
    result = orch.process([message(render(["Harbour walk, pier 9"]))], user_id="fay")
    assert not result.errors and model.calls("extract") == 1
    [request] = model.requests[:1]
    assert request.images == [] and isinstance(request.messages[-1]["content"], str)
    assert "images" not in str(request.params.get("response_format"))  # the schema as before
    assert described(orch, "fay") == [] and len(ocr_read(orch, "fay")) == 1


def test_a_forced_local_model_gets_images_with_vision_on(vision_orch: Any) -> None:
    needs("rapidocr_onnxruntime")
    orch, model = vision_orch(describing(), vision=False, media={"vision": "on"})
    orch.process([message(render(["Harbour walk, pier 9"]))], user_id="gus")
    assert len(model.requests[0].images) == 1 and len(described(orch, "gus")) == 1


@pytest.mark.parametrize(
    "garbled",
    [
        "not a list",
        {"image": 1, "description": "an object, not a list"},
        [{"image": "one", "description": 3}, {"image": 7, "description": "no such image"}],
        [{"image": 1}],
    ],
)
def test_a_garbled_description_still_stores_the_ocr_text(vision_orch: Any, garbled: Any) -> None:
    needs("rapidocr_onnxruntime")
    fact = Fact(
        subject="user",
        attribute="lives_in",
        value="Porto",
        statement="The user lives in Porto.",
        source_turns=[0],
    )
    found = ExtractionOutput(agents=["semantic"], semantic=SemanticOutput(facts=[fact]))
    orch, model = vision_orch(describing(images=garbled, found=found))
    text = "I live in Porto. Look at what I found on my walk."
    result = orch.process([message(render(["Harbour walk, pier 9"]), text=text)], user_id="hal")
    assert not result.errors and model.calls("extract") == 1  # no repair asked either
    assert described(orch, "hal") == []
    [kept] = orch.get_all(user_id="hal", memory_types=["semantic"])  # the rest of the reply
    assert "Porto" in kept.content
    [read] = ocr_read(orch, "hal")
    assert "pier 9" in read.content.lower()


def test_a_reply_that_is_not_json_falls_back_and_keeps_the_ocr_text(vision_orch: Any) -> None:
    needs("rapidocr_onnxruntime")
    orch, model = vision_orch(lambda request: "I see a bicycle!")
    result = orch.process([message(render(["Harbour walk, pier 9"]))], user_id="ida")
    assert result.extraction == "offline_fallback" and result.errors
    assert described(orch, "ida") == [] and len(ocr_read(orch, "ida")) == 1


def test_per_agent_shows_images_only_in_the_resource_agents_call(vision_orch: Any) -> None:
    needs("rapidocr_onnxruntime")
    orch, model = vision_orch(describing(), extraction_mode="per_agent", reconcile=False)
    result = orch.process([message(render(["Harbour walk, pier 9"]))], user_id="jo")
    # the router picked nothing; the resource agent still read the image, in its own call
    purposes = [r.purpose for r in model.requests]
    assert purposes == ["route", "extract:resource"] and result.llm.calls == 2
    assert [len(r.images) for r in model.requests] == [0, 1]
    [seen] = described(orch, "jo")
    assert DESCRIPTION in seen.content


def test_at_most_vision_max_images_are_sent_and_big_ones_are_scaled_down(
    vision_orch: Any,
) -> None:
    needs("rapidocr_onnxruntime")
    from PIL import Image

    big = io.BytesIO()
    Image.new("RGB", (3000, 1500), "white").save(big, format="PNG")
    orch, model = vision_orch(describing(), media={"vision_max_images": 1})
    orch.process([message(big.getvalue(), render(["Harbour walk, pier 9"]))], user_id="kim")
    [sent] = model.requests[0].images
    head, payload = sent.split(",", 1)
    assert head == "data:image/png;base64"
    with Image.open(io.BytesIO(base64.b64decode(payload))) as shown:
        assert shown.size == (1024, 512)
    assert [r.internal["media"]["part"] for r in described(orch, "kim")] == [1]


def test_json_mode_shows_the_schema_with_images_in_the_text_part(vision_orch: Any) -> None:
    needs("rapidocr_onnxruntime")
    orch, model = vision_orch(describing(), native_schema=False)
    orch.process([message(render(["Harbour walk, pier 9"]))], user_id="lou")
    [request] = model.requests
    assert len(request.images) == 1 and request.params["response_format"]["type"] == "json_object"
    assert '"images"' in request.prompt and "JSON schema" in request.prompt
    assert len(described(orch, "lou")) == 1


def test_with_originals_kept_a_described_image_is_kept_and_a_secret_one_neither_sent_nor_kept(
    vision_orch: Any, tmp_path: Path
) -> None:
    """`media.vision` and `media.keep_originals` together: the safe image is shown to the
    model and its bytes kept; the one whose text holds a secret is neither."""
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"
    orch, model = vision_orch(describing(), data_dir=data_dir, media={"keep_originals": True})
    secret, safe = render(["Wifi password: " + SECRET]), render(["Harbour walk, pier 9"])
    assert not orch.process([message(secret, safe)], user_id="dev").errors
    assert model.requests[0].images == [data_url(safe, "image/png")]
    [seen] = described(orch, "dev")
    fates = {
        r.internal["media"]["part"]: r.internal["media"]["original"] for r in ocr_read(orch, "dev")
    }
    assert fates == {1: "withheld: secret", 2: "kept"}
    assert orch.get_original(seen.internal["media"]["sha256"], user_id="dev") == safe
    orch.close()
    assert files_holding(data_dir, SECRET) == []


LEAKED = f"A router with a sticker that reads: password is {SECRET}"


def router_leaks(request: ScriptedRequest) -> Any:
    """A model that reads a password (which OCR did not) in an image sent with a message
    about a router, and describes any other as DESCRIPTION."""
    return describing(LEAKED if "router" in request.prompt else DESCRIPTION)(request)


def fates_of(orch: Orchestrator, user: str) -> dict[str, set[str]]:
    """What became of each image's bytes, by what says so: its OCR text's record, the
    model's description and the raw turn."""
    raw = [r for r in orch.get_all(user_id=user) if r.internal.get("raw")]
    return {
        "ocr": {r.internal["media"]["original"] for r in ocr_read(orch, user)},
        "description": {r.internal["media"]["original"] for r in described(orch, user)},
        "turn": {p["original"] for r in raw for p in r.internal.get("media", [])},
    }


def blob_files(data_dir: Path) -> list[Path]:
    root = data_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("mode", ["single_call", "per_agent"])
def test_an_image_whose_secret_only_the_vision_model_read_is_not_kept(
    vision_orch: Any, tmp_path: Path, mode: str
) -> None:
    """OCR reads no secret in the image, the model does ("a sticker that reads: password
    X"): its reply is masked and the image's bytes, which show X, never reach disk - not
    even while the model is asked. An image whose call's reply held none is kept."""
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"
    on_disk_when_asked: list[list[Path]] = []

    def script(request: ScriptedRequest) -> Any:
        if request.images:
            on_disk_when_asked.append(blob_files(data_dir))
        return router_leaks(request)

    orch, model = vision_orch(
        script, data_dir=data_dir, media={"keep_originals": True}, extraction_mode=mode
    )
    router, walk = render(["Harbour walk, pier 9"]), render(["Harbour walk, pier 10"])
    result = orch.process([message(router, text="Here is my router.")], user_id="dev")
    assert not result.errors and len(model.requests[-1].images) == 1
    assert on_disk_when_asked == [[]]  # the bytes were not on disk while the model was asked
    assert fates_of(orch, "dev") == {
        "ocr": {"withheld: secret"},
        "description": {"withheld: secret"},
        "turn": {"withheld: secret"},
    }
    assert [p["original"] for t in result.turns for p in t.internal["media"]] == [
        "withheld: secret"
    ]
    assert orch.get_original(hashlib.sha256(router).hexdigest(), user_id="dev") is None
    assert blob_files(data_dir) == []
    # another image, whose call's reply held no secret, is kept
    orch.process([message(walk)], user_id="eve")
    assert fates_of(orch, "eve") == {"ocr": {"kept"}, "description": {"kept"}, "turn": {"kept"}}
    assert orch.get_original(hashlib.sha256(walk).hexdigest(), user_id="eve") == walk
    assert orch.check().consistent
    orch.close()
    assert files_holding(data_dir, SECRET) == []
    assert [p.read_bytes() for p in blob_files(data_dir)] == [walk]


def test_an_image_is_kept_when_the_vision_model_fails(vision_orch: Any, tmp_path: Path) -> None:
    """No reply was stored (extraction fell back to the rules): the bytes are kept as
    without a vision model."""
    needs("rapidocr_onnxruntime")

    def failing(request: ScriptedRequest) -> Any:
        raise RuntimeError("the model is down")

    orch, _ = vision_orch(failing, data_dir=tmp_path / "data", media={"keep_originals": True})
    image = render(["Harbour walk, pier 9"])
    result = orch.process([message(image)], user_id="dev")
    assert result.extraction == "offline_fallback"
    assert fates_of(orch, "dev") == {"ocr": {"kept"}, "description": set(), "turn": {"kept"}}
    assert orch.get_original(hashlib.sha256(image).hexdigest(), user_id="dev") == image


KILLED_WHILE_ASKED = """
import json, os, signal, sys
from octomem import Orchestrator
from octomem.testing import ScriptedModel

spec = json.loads(sys.argv[1])

def script(request):
    if request.images:  # the model is being asked: the process dies here
        os.kill(os.getpid(), signal.SIGKILL)
    return {}

model = ScriptedModel(script, name="dies", vision=True).install()
orch = Orchestrator.from_config(
    data_dir=spec["data_dir"], llm={"model": model.model, "max_retries": 0},
    media={"keep_originals": True},
)
orch.process([spec["message"]], user_id="dev")
"""


def test_killed_while_the_vision_model_is_asked_no_bytes_on_disk_and_a_retry_settles(
    vision_orch: Any, tmp_path: Path
) -> None:
    """SIGKILL while the model has the image: its bytes are not on disk, the records written
    before the call say "pending: vision", the stores agree; the same call again settles
    them (here: kept, the reply held no secret)."""
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"
    image = render(["Harbour walk, pier 9"])
    root = Path(__file__).resolve().parents[2]
    spec = {"data_dir": str(data_dir), "message": message(image)}
    child = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_ASKED, json.dumps(spec)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path[1:2]])},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert blob_files(data_dir) == []
    orch, model = vision_orch(describing(), data_dir=data_dir, media={"keep_originals": True})
    assert fates_of(orch, "dev") == {
        "ocr": {"pending: vision"},
        "description": set(),
        "turn": {"pending: vision"},
    }
    assert orch.get_original(hashlib.sha256(image).hexdigest(), user_id="dev") is None
    assert orch.check().consistent
    assert not orch.process([message(image)], user_id="dev").errors
    assert fates_of(orch, "dev") == {"ocr": {"kept"}, "description": {"kept"}, "turn": {"kept"}}
    assert orch.get_original(hashlib.sha256(image).hexdigest(), user_id="dev") == image
    assert orch.check().consistent


def test_concurrent_calls_showing_one_image_never_leave_a_record_without_its_blob(
    vision_orch: Any, tmp_path: Path
) -> None:
    """Threads send the same image for one user, the model reading a secret in it for some
    calls and not for others: whatever the interleaving, every record that says "kept"
    has its blob, none stays pending, and the stores agree."""
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"

    orch, _ = vision_orch(router_leaks, data_dir=data_dir, media={"keep_originals": True})
    image = render(["Harbour walk, pier 9"])
    texts = ["Here is my router.", "Look at what I found on my walk."]
    failures: list[BaseException] = []

    def send(worker: int) -> None:
        try:
            for n in range(3):
                orch.process(
                    [message(image, text=f"{texts[(worker + n) % 2]} ({worker}.{n})")],
                    user_id="dev",
                )
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not failures and not any(t.is_alive() for t in threads)
    fates = set().union(*fates_of(orch, "dev").values())
    # the image's record (its OCR text) is shared: once a call withheld it, later calls do
    # too; which call settled first depends on the interleaving
    assert "pending: vision" not in fates and "withheld: secret" in fates
    kept = orch.get_original(hashlib.sha256(image).hexdigest(), user_id="dev")
    assert kept == (image if "kept" in fates else None)
    assert orch.check().consistent


@pytest.mark.parametrize("mode", ["single_call", "per_agent"])
def test_an_image_whose_secret_the_model_read_is_not_kept_when_a_later_chunk_fails(
    vision_orch: Any, tmp_path: Path, mode: str
) -> None:
    """The model reads a secret in the image of the first chunk, then its call for the
    second chunk fails (extraction falls back to the rules): what the first reply showed is
    not forgotten, the image's bytes never reach disk."""
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"

    def script(request: ScriptedRequest) -> Any:
        if request.purpose.startswith("extract") and not request.images:
            raise RuntimeError("the model is down")
        return describing(LEAKED)(request)

    orch, _ = vision_orch(
        script,
        data_dir=data_dir,
        media={"keep_originals": True},
        extraction_mode=mode,
        chunk_tokens=200,
    )
    router = render(["Harbour walk, pier 9"])
    long = {"role": "user", "content": "We walked along the harbour all afternoon. " * 30}
    result = orch.process([message(router, text="Here is my router."), long], user_id="dev")
    assert result.errors  # the second chunk's call failed
    assert "kept" not in set().union(*fates_of(orch, "dev").values())
    assert orch.get_original(hashlib.sha256(router).hexdigest(), user_id="dev") is None
    assert blob_files(data_dir) == []
    assert orch.check().consistent
    orch.close()
    assert files_holding(data_dir, SECRET) == []


@pytest.mark.parametrize("mode", ["single_call", "per_agent"])
def test_an_image_whose_secret_is_in_a_reply_that_is_not_json_is_not_kept(
    vision_orch: Any, tmp_path: Path, mode: str
) -> None:
    """The model answers the call that shows the image in prose that quotes a secret it read
    in it: the reply is not used (extraction falls back), yet it held the secret, so the
    image's bytes never reach disk. A reply that is not JSON and holds none keeps them."""
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"

    def script(request: ScriptedRequest) -> Any:
        if request.images:
            if "router" in request.prompt:
                return f"I see a router with a sticker: the wifi password is {SECRET}"
            return "I see a bicycle!"
        return describing()(request)

    orch, _ = vision_orch(
        script, data_dir=data_dir, media={"keep_originals": True}, extraction_mode=mode
    )
    router, walk = render(["Harbour walk, pier 9"]), render(["Harbour walk, pier 10"])
    assert orch.process([message(router, text="Here is my router.")], user_id="dev").errors
    assert "kept" not in set().union(*fates_of(orch, "dev").values())
    assert orch.get_original(hashlib.sha256(router).hexdigest(), user_id="dev") is None
    assert orch.process([message(walk)], user_id="eve").errors
    assert orch.get_original(hashlib.sha256(walk).hexdigest(), user_id="eve") == walk
    assert orch.check().consistent
    orch.close()
    assert files_holding(data_dir, SECRET) == []


def test_a_retry_whose_reply_reads_no_secret_keeps_an_image_withheld(
    vision_orch: Any, tmp_path: Path
) -> None:
    """The call is settled (the model read a secret in the image: withheld), then sent
    again with one more turn and more memory types (so the model is asked about every turn
    again: turns it extracted every type asked from are not) and this time the model's
    reply holds none: the stored records still say withheld, so its bytes are not written
    (no secret, no orphan blob)."""
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"
    shown: list[int] = []

    def script(request: ScriptedRequest) -> Any:
        if request.images:
            shown.append(1)
            if len(shown) == 1:
                return describing(LEAKED)(request)
        return describing()(request)

    orch, _ = vision_orch(script, data_dir=data_dir, media={"keep_originals": True})
    image = render(["Harbour walk, pier 9"])
    sent = {**message(image, text="Here is my router."), "id": "msg-1"}
    when = datetime(2026, 1, 1, tzinfo=UTC)
    first = orch.process(
        [sent], user_id="dev", session_id="s", timestamp=when, memory_types=["resource"]
    )
    more = {"role": "user", "content": "It is the new one.", "id": "msg-2"}
    again = orch.process([sent, more], user_id="dev", session_id="s", timestamp=when)
    assert first.turn_memory_ids == again.turn_memory_ids[:1] and len(shown) == 2
    assert "kept" not in set().union(*fates_of(orch, "dev").values())
    media = [p["original"] for t in again.turns for p in t.internal.get("media", [])]
    assert media == ["withheld: secret"]
    assert blob_files(data_dir) == []
    assert orch.check().consistent


def test_bytes_kept_by_an_earlier_call_go_once_a_reply_reads_a_secret_in_them(
    vision_orch: Any, tmp_path: Path
) -> None:
    """A first call keeps the image (its reply read nothing); a later call's model reads a
    secret in the same image: every record of the user now says withheld and the blob is
    gone, another user's copy untouched."""
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"

    orch, _ = vision_orch(router_leaks, data_dir=data_dir, media={"keep_originals": True})
    image = render(["Harbour walk, pier 9"])
    sha = hashlib.sha256(image).hexdigest()
    for user in ("dev", "eve"):
        orch.process([message(image)], user_id=user)
        assert orch.get_original(sha, user_id=user) == image
    orch.process([message(image, text="Here is my router.")], user_id="dev")
    assert set().union(*fates_of(orch, "dev").values()) == {"withheld: secret"}
    assert orch.get_original(sha, user_id="dev") is None
    assert orch.get_original(sha, user_id="eve") == image  # another user's own copy
    assert len(blob_files(data_dir)) == 1
    assert orch.check().consistent
