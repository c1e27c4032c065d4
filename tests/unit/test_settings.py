from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from octomem import ConfigurationError, Orchestrator
from octomem.settings import ChromaHttp, Neo4jConfig, load_settings

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["default.yaml", "server.yaml", "openai.yaml", "ollama.yaml"])
def test_shipped_configs_validate(name: str) -> None:
    load_settings(CONFIGS / name)


def test_default_config_is_offline_and_embedded() -> None:
    settings = load_settings(CONFIGS / "default.yaml")
    assert settings.llm.model is None
    assert settings.vector.mode == "embedded"
    assert settings.graph.provider == "ladybug"
    assert settings.telemetry.exporter == "none"


def test_default_config_file_is_the_code_defaults() -> None:
    """Loading configs/default.yaml must give what no file gives (the tuned recall too)."""
    assert load_settings(CONFIGS / "default.yaml") == load_settings()


@pytest.mark.parametrize("given", ["configs/server.yaml", "server.yaml", "server"])
def test_shipped_configs_are_found_from_any_directory(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed package has no configs/ folder beside the user's code: the README's
    `configs/server.yaml` names the copy inside the package."""
    monkeypatch.chdir(tmp_path)
    assert load_settings(given) == load_settings(CONFIGS / "server.yaml")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "server.yaml").write_text("recall:\n  limit: 3\n")
    if given == "configs/server.yaml":  # a file of the user's own wins
        assert load_settings(given).recall.limit == 3
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings("configs/nonexistent.yaml")
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "elsewhere" / "server.yaml")  # not a bare shipped name
    # the natural slip load_settings("./om-data"): the first argument is the config file
    with pytest.raises(
        ConfigurationError, match=r"is a folder: give a YAML .*data_dir, --data-dir"
    ):
        load_settings(tmp_path / "configs")


def test_server_config_uses_servers() -> None:
    settings = load_settings(CONFIGS / "server.yaml")
    assert isinstance(settings.vector, ChromaHttp)
    assert isinstance(settings.graph, Neo4jConfig)


def test_environment_overrides_file_and_arguments_override_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OCTOMEM_RECALL__LIMIT", "7")
    monkeypatch.setenv("OCTOMEM_DATA_DIR", str(tmp_path / "env"))
    settings = load_settings(CONFIGS / "default.yaml")
    assert settings.recall.limit == 7
    assert settings.data_dir == tmp_path / "env"
    settings = load_settings(CONFIGS / "default.yaml", data_dir=tmp_path / "arg")
    assert settings.data_dir == tmp_path / "arg"
    assert settings.recall.limit == 7


def test_the_file_the_environment_and_arguments_merge_key_by_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each layer sets the keys it names within a section and keeps the others': init
    arguments > OCTOMEM_* environment > the YAML file > the defaults."""
    path = tmp_path / "octomem.yaml"
    path.write_text("recall:\n  limit: 3\n  candidates: 11\n  rrf_k: 9\n")
    monkeypatch.setenv("OCTOMEM_RECALL__LIMIT", "7")
    monkeypatch.setenv("OCTOMEM_RECALL__RRF_K", "8")
    recall = load_settings(path, recall={"rrf_k": 5}).recall
    assert (recall.limit, recall.candidates, recall.rrf_k) == (7, 11, 5)
    assert load_settings(path).recall.rrf_k == 8
    monkeypatch.delenv("OCTOMEM_RECALL__RRF_K")
    assert load_settings(path).recall.rrf_k == 9


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("recall:\n  limt: 5\n")
    with pytest.raises(ConfigurationError, match=r"recall\.limt: unknown key"):
        load_settings(path)


def test_bad_value_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("vector:\n  mode: http\n  port: 99999\n")
    with pytest.raises(ConfigurationError, match=r"vector\.http\.port"):
        load_settings(path)
    monkeypatch.setenv("OCTOMEM_LLM__TIMEOUT_S", "soon")
    with pytest.raises(ConfigurationError, match=r"llm\.timeout_s"):
        load_settings()


def test_each_bad_key_names_where_it_was_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo is blamed on the layer that holds it, not on the file or the defaults."""
    path = tmp_path / "octomem.yaml"
    path.write_text("recall:\n  limit: 7\n  fusoin: rrf\n")
    monkeypatch.setenv("OCTOMEM_RECALL__LIMT", "3")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path, llm={"timeout_s": "soon"})
    lines = str(caught.value).splitlines()[1:]
    assert sorted(lines) == sorted(
        [
            f"  recall.fusoin: unknown key (set in config file {path})",
            "  recall.limt: unknown key (set in environment variable OCTOMEM_RECALL__LIMT)",
            "  llm.timeout_s: Input should be a valid number, unable to parse string as a "
            "number (got 'soon') (set in keyword arguments)",
        ]
    )


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigurationError, match="mapping"):
        load_settings(path)


def test_a_path_holding_a_nul_byte_is_a_configuration_error(tmp_path: Path) -> None:
    """os refuses it with a bare ValueError when data_dir is made; named at load time."""
    with pytest.raises(ConfigurationError, match="data_dir: .*NUL byte"):
        load_settings(data_dir=f"{tmp_path}/a\x00b")
    with pytest.raises(ConfigurationError, match="NUL byte"):
        Orchestrator.from_config(data_dir=f"{tmp_path}/a\x00b")
    with pytest.raises(ConfigurationError, match="service.audit_log: .*NUL byte"):
        load_settings(data_dir=tmp_path, service={"audit_log": "audit\x00.log"})


def test_from_config_fails_at_start(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("graph:\n  provider: janusgraph\n")
    with pytest.raises(ConfigurationError, match="graph"):
        Orchestrator.from_config(path, data_dir=tmp_path / "d")


def test_cache_bounds_are_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process caches are bounded in memory by `vector.cache_mb` and
    `embedder.cache_mb` (docs/operations.md#memory)."""
    from octomem.embeddings import CachedEmbedder
    from octomem.orchestrator.lifecycle import build_embedder

    monkeypatch.setenv("OCTOMEM_EMBEDDER__CACHE_MB", "2")
    monkeypatch.setenv("OCTOMEM_VECTOR__CACHE_MB", "3")
    settings = load_settings(CONFIGS / "default.yaml", data_dir=tmp_path)
    assert (settings.vector.cache_mb, settings.embedder.cache_mb) == (3, 2)
    embedder = build_embedder(settings)
    assert isinstance(embedder, CachedEmbedder) and embedder.max_bytes == 2 * 1024 * 1024
    with pytest.raises(ConfigurationError, match=r"vector\.embedded\.cache_mb"):
        load_settings(vector={"mode": "embedded", "cache_mb": -1})


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        "a/b",
        "../x",
        "has space",
        "Acme",
        "café",
        "-lead",
        "trail_",
        "a" * 41,
        "a.b",
        "acme\n",
    ],
)
def test_a_bad_project_name_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="project: .*lowercase letters, digits"):
        load_settings(project=name)


def test_a_project_keeps_its_files_and_collections_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = load_settings(data_dir=tmp_path)
    assert (default.project, default.store_dir, default.collection_prefix) == (
        "default",
        tmp_path,
        "octomem",
    )
    monkeypatch.setenv("OCTOMEM_PROJECT", "team-2")
    settings = load_settings(data_dir=tmp_path)
    assert settings.store_dir == tmp_path / "projects" / "team-2"
    assert settings.collection_prefix == "octomem-p-team-2"
    assert load_settings(project="a" * 40).project == "a" * 40
    config = tmp_path / "c.yaml"
    config.write_text("project: acme_1\n")
    monkeypatch.delenv("OCTOMEM_PROJECT")
    monkeypatch.delenv("OCTOMEM_DATA_DIR", raising=False)
    assert load_settings(config).store_dir == Path("~/.octomem").expanduser() / "projects/acme_1"


def test_a_deployment_keeps_its_files_collections_and_graph_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCTOMEM_DEPLOYMENT", "prod")
    default = load_settings(data_dir=tmp_path)
    assert (default.store_dir, default.collection_prefix, default.namespace) == (
        tmp_path / "deployments" / "prod",
        "octomem.prod",
        "prod.",
    )
    acme = load_settings(data_dir=tmp_path, project="acme")
    assert acme.store_dir == tmp_path / "deployments" / "prod" / "projects" / "acme"
    assert (acme.collection_prefix, acme.namespace) == ("octomem.prod.acme", "prod.acme")
    # every (deployment, project) its own collections and namespace, whatever the names
    pairs = [
        (d, p)
        for d in ("default", "x", "x-p-y", "x-p", "p-y", "y")
        for p in ("default", "y", "p-y", "p-p-y", "x")
    ]
    monkeypatch.delenv("OCTOMEM_DEPLOYMENT")
    chosen = [load_settings(data_dir=tmp_path, deployment=d, project=p) for d, p in pairs]
    for attribute in ("collection_prefix", "namespace", "store_dir"):
        assert len({getattr(s, attribute) for s in chosen}) == len(pairs), attribute


@pytest.mark.parametrize("key", ["jwt_secret", "jwt_previous_secrets"])
def test_a_short_jwt_secret_is_refused_without_echoing_it(key: str) -> None:
    short = "tooshort-secret"
    value = short if key == "jwt_secret" else ["x" * 40, short]
    with pytest.raises(ConfigurationError) as refused:
        load_settings(service={key: value})
    assert "32 characters" in str(refused.value) and short not in str(refused.value)


def test_an_llm_without_litellm_installed_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """litellm is the `llm` extra: configuring a model without it fails at open, clearly."""
    from octomem.embeddings import LiteLLMEmbedder

    monkeypatch.setitem(sys.modules, "litellm", None)  # not installed
    extra = r"pip install 'octomem\[llm\]'"
    with pytest.raises(ConfigurationError, match=rf"llm.model 'openai/gpt-4o-mini'.*{extra}"):
        Orchestrator.from_config(data_dir=tmp_path, llm={"model": "openai/gpt-4o-mini"})
    with pytest.raises(ConfigurationError, match=extra):
        LiteLLMEmbedder("openai/text-embedding-3-small")


OFFLINE_WITHOUT_EXTRAS = """
import sys
for name in ("torch", "sentence_transformers", "transformers", "litellm"):
    sys.modules[name] = None  # any import of them fails: the extras are not installed
from octomem import Orchestrator
with Orchestrator.from_config(data_dir=sys.argv[1]) as orch:
    orch.process("I moved to Lisbon last spring.", user_id="ana")
    found = orch.recall("Where does Ana live?", user_id="ana")
print("RESULT", any("Lisbon" in text for text in found.texts()))
"""


def test_default_configuration_needs_no_extra(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_WITHOUT_EXTRAS, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RESULT True" in done.stdout


@pytest.mark.parametrize(("limit", "per_key"), [(1, 1), (8, 7), (64, 56)])
def test_a_key_is_left_all_but_an_eighth_of_the_slots(limit: int, per_key: int) -> None:
    """A worker that runs few requests at once still runs more than one of one key."""
    assert load_settings(service={"max_concurrent": limit}).service.slots_per_key == per_key
    assert (
        load_settings(service={"max_concurrent": 4, "reserved_slots": 1}).service.slots_per_key == 3
    )


def test_reserving_every_slot_is_refused_at_start() -> None:
    with pytest.raises(ConfigurationError, match="reserved_slots .8. must be less than"):
        load_settings(service={"max_concurrent": 8, "reserved_slots": 8})


def test_a_password_is_never_echoed_whatever_the_provider_in_its_path() -> None:
    from octomem.errors import ConfigurationError
    from octomem.settings import load_settings

    with pytest.raises(ConfigurationError, match="password") as refused:
        load_settings(graph={"provider": "neo4j", "password": 12345678})
    assert "12345678" not in str(refused.value)


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("OCTOMEM_EMBEDDER__MODEL", "bge-small-en-v1.5", lambda s: s.embedder.model),
        ("OCTOMEM_EMBEDDER__THREADS", "1", lambda s: s.embedder.threads),
        ("OCTOMEM_VECTOR__COLLECTION_PREFIX", "mine", lambda s: s.vector.collection_prefix),
    ],
)
def test_a_sections_key_alone_changes_its_default_kind(
    variable: str, value: str, read: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/configuration.md's ``OCTOMEM_EMBEDDER__MODEL=bge-small-en-v1.5``: a key of the
    embedder (vector store, graph) section without its provider (mode) is the default
    kind's, not an error that the provider could not be found."""
    monkeypatch.setenv(variable, value)
    assert str(read(load_settings())) == value


@pytest.mark.parametrize(
    ("variable", "named"),
    [
        ("OCTOMEM_EMBEDDER__PROVIDER", "provider must be one of local, litellm"),
        ("OCTOMEM_VECTOR__MODE", "mode must be one of embedded, http"),
        ("OCTOMEM_GRAPH__PROVIDER", "provider must be one of ladybug, neo4j"),
    ],
)
def test_an_unknown_kind_names_the_kinds(
    variable: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "bogus")
    with pytest.raises(ConfigurationError, match=named):
        load_settings()


@pytest.mark.parametrize("section", ["embedder: local", "vector: 5", "graph: [neo4j]"])
def test_a_section_that_is_no_mapping_is_a_configuration_error(
    section: str, tmp_path: Path
) -> None:
    config = tmp_path / "octomem.yaml"
    config.write_text(section + "\n")
    with pytest.raises(ConfigurationError, match="valid dictionary"):
        load_settings(config)
