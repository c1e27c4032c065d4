"""`octomem mcp` over stdio: the JSON-RPC error for a line the SDK's transport could not read
(`rejection` of the exception it hands on)."""

from __future__ import annotations

import pytest
from mcp.types import jsonrpc_message_adapter

from octomem.mcp_server import rejection


def _refused(line: str) -> Exception:
    try:
        jsonrpc_message_adapter.validate_json(line, by_name=False)  # as the SDK reads a line
    except Exception as exc:
        return exc
    raise AssertionError(f"the SDK reads {line!r}")


@pytest.mark.parametrize(
    ("line", "code", "request_id"),
    [
        ("{not json", -32700, None),
        ("\ufffd\ufffd", -32700, None),  # bytes that were not UTF-8, as the SDK decodes them
        ("[" * 5000 + "]" * 5000, -32700, None),
        # deeper than is read again for an id: a Parse error on every Python (3.12's own
        # parser reads 1,000 levels, 3.11's does not)
        ("[" * 1000 + "]" * 1000, -32700, None),
        # too deep for the SDK's parser, not for a second reading; brackets in a string
        # are not nesting
        (
            '{"jsonrpc":"2.0","id":3,"method":"ping","params":{"q":"'
            + "[{" * 600
            + '","d":'
            + "[" * 300
            + "]" * 300
            + "}}",
            -32600,
            3,
        ),
        ("[]", -32600, None),
        ("null", -32600, None),
        ('{"jsonrpc":"2.0","id":1}', -32600, 1),
        ('{"id":"x","method":"ping"}', -32600, "x"),
        ('{"jsonrpc":"2.0","method":5}', -32600, None),
        ('{"jsonrpc":"2.0","id":7,"method":"ping","params":{"q":"\\ud800"}}', -32600, 7),
        # an id found only in a nested object is not the request's
        ('{"jsonrpc":"2.0","result":5,"error":{"id":9}}', -32600, None),
    ],
)
def test_a_line_the_sdk_cannot_read_gets_its_jsonrpc_error(
    line: str, code: int, request_id: int | str | None
) -> None:
    answer = rejection(_refused(line))
    assert answer is not None
    message = "Parse error" if code == -32700 else "Invalid Request"
    assert answer.model_dump(exclude_unset=True) == {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": code, "message": message},
    }


def test_a_blank_line_gets_no_answer_and_an_unknown_failure_a_parse_error() -> None:
    assert rejection(_refused("\n")) is None
    assert rejection(_refused("  \t\n")) is None
    answer = rejection(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    assert answer is not None and answer.id is None and answer.error.code == -32700
