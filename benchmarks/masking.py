"""How often the secret masker changes ordinary text: every turn, question and answer of
the benchmark data (LoCoMo's JSON and the LongMemEval sample, gzipped or not) through
`octomem.sensitive.mask_text`, and each text it changed, around what it masked.

    python -m benchmarks.masking [../shared/bench/locomo_dev.json ...] [--show 40]
    python -m benchmarks.masking --worst 100000   # seconds for texts built to be slow

The data holds no secrets, so every text masked is a false positive (or a judgement
call: "Key:\\nCHS52223992" in a ticket).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from octomem.sensitive import mask_text

DATA = (
    Path("../shared/bench/locomo_dev.json"),
    Path("../shared/bench/longmemeval_s_dev.json.gz"),
)
_TEXT_KEYS = ("text", "content", "clean_text")


def texts(node: Any) -> Iterator[str]:
    """Every string under a text key of a benchmark's JSON, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _TEXT_KEYS and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


def load(path: Path) -> Any:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as file:
        return json.load(file)


def masked(paths: Sequence[Path]) -> tuple[int, list[tuple[str, str]]]:
    """How many texts the files hold, and (text, as masked) of each the masker changed."""
    count, changed = 0, []
    for path in paths:
        for text in texts(load(path)):
            count += 1
            if (out := mask_text(text)) != text:
                changed.append((text, out))
    return count, changed


# texts an attacker may send: a cue, then a long run that a pattern could split many ways
WORST = (
    ("app password", " ", "!"),
    ("my password for gmail", " ", "\n"),
    ("pass", " ", "\n"),
    ("passport", " ", "x"),
    ("wifi password", "\t", "\n!"),
    ("password", " ,", "x"),
    ("", "password is ", ""),
    ("", "with password aaaa ", ""),
    ("", "and my password aaaa, ", ""),
    ("", "my passphrase aaaa bbbb-cccc ", ""),
    ("", "combination 1-2-3-4-5-6-7-8 ", ""),
    ("", "recovery codes: 1234 ", ""),
    ("", "seed phrase: alpha ", ""),
    ("", "mysql -p'x ", ""),
    ("", "docker login -p ", ""),
    ("", "Cookie:a=", ""),
    ("Authorization: Bearer ", "a", ""),
    ("", "GRANT TO x IDENTIFIED BY ", ""),
    ("<password>", "a", ""),
    ("", 'name="pw"  value="', ""),
    ("", "- name: DB_PASSWORD\n  value: x\n", ""),
    ('"value": "', "\\a", ""),
    ("| a |\n", " \t", "x"),
    ("", "pw-", ""),
    ("site,password\n", "g,Zq9xTpw7\n", ""),
    ("", "changed my password from a ", ""),
    ("", "credentials: a/", ""),
    ("", "password: a (old: ", ""),
    ("", "- name: DB_PASSWORD\n# x\n", ""),
    ("", 'value="a" key="', ""),
    ("<password><![CDATA[", "a", ""),
    ("", "the code to the safe is ", ""),
    ("", "password has always been ", ""),
    ("", "the password you need ", ""),
    ("", "password, which a ", ""),
    ("", "password (aaaa", ""),
    ("", "password for a's ", ""),
    ("", "password for a'", ""),
    ("", "the code for a ", ""),
    ("", "password. It is ", ""),
    ("", "my pins: a 123, ", ""),
    ("", "PIN# 1 ", ""),
    ("", "the PIN is 4 or ", ""),
    ("", "my SIN ", ""),
    ("", "the code a sent ", ""),
    ("", "the password google sent a ", ""),
    ("", "RSSMRA85T10A562", ""),
    ("", "X123456-", ""),
    ("", "password? ok ", ""),
    ("", "password for a, which a ", ""),
    ("", "de l'a ", ""),
    ("", "password, in case a ", ""),
    ("", "password, the a one ", ""),
    ("", "a is my password a ", ""),
    ("", "AB 12 34 5", ""),
    ("", "account 1", ""),
    ("", "password changed again, ", ""),
    ("", "sin 123-456-", ""),
    ("", "my a pass ", ""),
    ("", "heslo je ", ""),
    ("", "passordet til wifi er nu ", ""),
    ("", "salasana on 10:ssä ", ""),
    ("", "my PIN was 1234 (now ", ""),
    ("wifi", "lösenord", " är x"),
    ("", "koden är 4471 och ", ""),
    ("", "Hasło teraz ", ""),
    ("password changed", " ", "x"),
    ("door codes: front", " ", "x"),
    ("door codes:\n- front", " ", "x"),
    ("my pins: a", " ", "x"),
    ("支付密码", " ", "1"),
    ("password for", " ", ""),
    ("", "login to" + "\t" * 400, ""),
    ("password", "\n", "x"),
    ("recovery codes", "\n", "1"),
    ("", "xh -", ""),
    ("", "password for" + " " * 200 + ".", ""),
    ("", "xoxb-1-1_", ""),
    ("", "AKIA" + "A" * 16, ""),
    ("", "sk-", ""),
    ("", "eyJ-", ""),
)


def worst(chars: int) -> list[tuple[str, float]]:
    """(the text's shape, seconds `mask_text` took) for each of `WORST`, `chars` long."""
    timed = []
    for cue, run, end in WORST:
        text = cue + run * ((chars - len(cue)) // len(run)) + end
        began = time.perf_counter()
        mask_text(text)
        timed.append((f"{cue!r} + {run!r} * n + {end!r}", time.perf_counter() - began))
    return timed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.masking")
    parser.add_argument("data", type=Path, nargs="*", default=list(DATA))
    parser.add_argument("--show", type=int, default=40, help="texts shown, around the mask")
    parser.add_argument("--worst", type=int, metavar="CHARS", help="time crafted texts instead")
    args = parser.parse_args(argv)
    if args.worst:
        for shape, seconds in worst(args.worst):
            print(f"{seconds:7.2f} s  {shape}")
        return
    count, changed = masked(args.data)
    share = 100 * len(changed) / count if count else 0.0
    print(f"{len(changed)} of {count} texts masked ({share:.3f}%)")
    kinds = Counter(re.findall(r"\[MASKED (\w+)", " ".join(out for _, out in changed)))
    print("by kind:", dict(kinds))
    for _, out in changed[: args.show]:
        at = out.find("[MASKED")
        print(" ", repr(out[max(0, at - 60) : at + 40]))


if __name__ == "__main__":
    main()
