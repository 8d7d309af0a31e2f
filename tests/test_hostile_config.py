"""Issue 11, items 7 and 9: config files that validate but cannot run, and keys that cannot work.

config.yaml and logging.yaml are read bounded (1 MB), without YAML anchors or aliases, and must be
a mapping; known hyperparameters, `aws.endpoint_url` and `compute.threads` are checked at load.
Each refusal is exit 2 with one line naming the file or the key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netsec_cli.config import load_config
from netsec_cli.errors import ConfigError
from tests.fixtures.project import Project
from tests.helpers import assert_error

ALIASES = "anchors and aliases are not allowed in netsec config files; repeat the value"


def _alias_bomb(levels: int) -> str:
    """`levels` levels of ten references each: 10**levels leaves from a few hundred bytes."""
    lines = ["    a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("where", "replaced"),
    [("model.hyperparameters", "  hyperparameters:\n"), ("mongo.query", "  query: {}\n")],
)
@pytest.mark.parametrize("command", ["show", "validate"])
def test_an_alias_bomb_under_a_free_form_mapping_is_refused(project: Project, where: str, replaced: str, command: str) -> None:
    text = project.config_path.read_text()
    assert text.count(replaced) == 1, where
    text = text.replace(replaced, replaced.split(":")[0] + ":\n" + _alias_bomb(5))
    project.config_path.write_text(text)
    line = text.splitlines().index(_alias_bomb(1).rstrip("\n")) + 1
    result = project.invoke("config", command)
    assert_error(
        result, 2, f"Error: config file {project.config_path} uses a YAML anchor or alias at line {line} ({ALIASES})"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("split: &s {seed: 1}\n", 1),  # an anchor alone
        ("defaults: &d {seed: 1}\nsplit:\n  <<: *d\n", 1),  # a merge key is an alias too
        ("split:\n  seed: 1\n  test_size: *nothing\n", 3),  # an alias to nothing
    ],
)
def test_anchors_and_aliases_are_refused_anywhere(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"config file {path} uses a YAML anchor or alias at line {line} ({ALIASES})"


def test_a_config_file_over_1_mb_is_refused_unread(project: Project) -> None:
    with project.config_path.open("a") as handle:
        handle.write("# padding\n" * 110_000)  # 1.1 MB of comments: valid YAML
    result = project.invoke("config", "validate")
    assert_error(
        result, 2, f"Error: config file {project.config_path} is larger than 1 MB (netsec config files are a few KB of YAML)"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("model:\n  hyperparameters:\n    n_estimators: 0\n", "model.hyperparameters.n_estimators: must be an integer ≥ 1, got 0"),
        ("model:\n  hyperparameters:\n    n_estimators: 10.5\n", "model.hyperparameters.n_estimators: must be an integer ≥ 1, got 10.5"),
        ("model:\n  hyperparameters:\n    max_depth: -1\n", "model.hyperparameters.max_depth: must be an integer ≥ 0, got -1"),
        ("model:\n  hyperparameters:\n    max_depth: deep\n", "model.hyperparameters.max_depth: must be an integer ≥ 0, got 'deep'"),
        ("model:\n  hyperparameters:\n    learning_rate: 0\n", "model.hyperparameters.learning_rate: must be a number > 0, got 0"),
        ("model:\n  hyperparameters:\n    learning_rate: .nan\n", "model.hyperparameters.learning_rate: must be a number > 0, got nan"),
        ("model:\n  hyperparameters:\n    subsample: 1.5\n", "model.hyperparameters.subsample: must be a number in (0, 1], got 1.5"),
        ("model:\n  hyperparameters:\n    colsample_bytree: 0\n", "model.hyperparameters.colsample_bytree: must be a number in (0, 1], got 0"),
        ("model:\n  hyperparameters:\n    min_child_weight: -0.5\n", "model.hyperparameters.min_child_weight: must be a number ≥ 0, got -0.5"),
        ("model:\n  hyperparameters:\n    reg_lambda: -1\n", "model.hyperparameters.reg_lambda: must be a number ≥ 0, got -1"),
        ("model:\n  hyperparameters:\n    reg_alpha: true\n", "model.hyperparameters.reg_alpha: must be a number ≥ 0, got True"),
        ("model:\n  hyperparameters:\n    scale_pos_weight: 0\n", "model.hyperparameters.scale_pos_weight: must be a number > 0, got 0"),
        ("model:\n  catboost:\n    iterations: 0\n", "model.catboost.iterations: must be an integer ≥ 1, got 0"),
        ("model:\n  catboost:\n    depth: 17\n", "model.catboost.depth: must be an integer from 1 to 16, got 17"),
        ("model:\n  catboost:\n    depth: 0\n", "model.catboost.depth: must be an integer from 1 to 16, got 0"),
        ("model:\n  catboost:\n    learning_rate: -0.1\n", "model.catboost.learning_rate: must be a number > 0, got -0.1"),
        ("model:\n  catboost:\n    l2_leaf_reg: -3\n", "model.catboost.l2_leaf_reg: must be a number ≥ 0, got -3"),
    ],
)
def test_known_hyperparameters_are_checked_against_their_domains_at_load(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"invalid config {path}: {problem}"


def test_every_hyperparameter_problem_is_listed_and_valid_values_pass(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("model:\n  hyperparameters:\n    n_estimators: 0\n    subsample: 2\n  catboost:\n    depth: 20\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).count("must be") == 3
    path.write_text(
        "model:\n  hyperparameters:\n    n_estimators: 1\n    max_depth: 0\n    subsample: 1\n    learning_rate: 1e-3\n"
        "    max_leaves: 7\n    gamma: null\n  catboost:\n    depth: 16\n    l2_leaf_reg: 0\n"
    )
    model = load_config(path).model
    assert model.hyperparameters["max_leaves"] == 7  # unknown keys are left to the library
    assert model.hyperparameters["learning_rate"] == 0.001  # YAML 1.1 reads `1e-3` as a string


def test_zero_trees_stop_train_before_it_starts(project: Project) -> None:
    project.update_config(**{"model.hyperparameters.n_estimators": 0})
    assert_error(
        project.invoke("train"),
        2,
        f"Error: invalid config {project.config_path}: model.hyperparameters.n_estimators: must be an integer ≥ 1, got 0",
    )


@pytest.mark.parametrize("url", ["not a url", "ftp://s3.example.com", "http://", "http://h:99999", "localhost:9000", "http://exa mple"])
def test_an_endpoint_url_that_is_not_an_http_url_is_exit_2_naming_the_key(project: Project, url: str) -> None:
    project.update_config(**{"aws.endpoint_url": url, "aws.bucket_name": "netsec-test"})
    assert_error(
        project.invoke("sync-s3", "--dry-run"),
        2,
        f"Error: invalid config {project.config_path}: aws.endpoint_url: must be an http:// or https:// URL "
        f"with a host, e.g. http://localhost:9000, got {url!r}",
    )


@pytest.mark.parametrize("url", ["http://localhost:9000", "https://s3.eu-west-1.amazonaws.com", "http://[::1]:9000/", None])
def test_http_endpoint_urls_are_accepted(tmp_path: Path, url: str | None) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"aws:\n  endpoint_url: {url if url else 'null'}\n")
    assert load_config(path).aws.endpoint_url == url


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (os.urandom(64) + b"\xff\xfe", "is not YAML text (not UTF-8)"),
        (b"- a\n- b\n", "must be a mapping of sections, not list"),
        (b"version: 1\nhandlers: [1, 2]\n", "is invalid: handlers must be a mapping of handler mappings"),
        (b"version: 1\nhandlers:\n  a: 1\n", "is invalid: handlers must be a mapping of handler mappings"),
        (b"version: 1\nx: &a {}\ny: *a\n", f"uses a YAML anchor or alias at line 2 ({ALIASES})"),
    ],
    ids=["binary", "list", "handlers-list", "handler-not-mapping", "alias"],
)
def test_a_logging_config_that_is_not_a_yaml_mapping_is_exit_2_naming_it(project: Project, content: bytes, problem: str) -> None:
    logging_file = project.root / "logging.yaml"
    logging_file.write_bytes(content)
    project.update_config(**{"logging.config_file": str(logging_file)})
    assert_error(project.invoke("config", "validate"), 2, f"Error: logging config {logging_file} {problem}")


@pytest.mark.parametrize("value", [0, -2, "2", "many", True, 1.5])
def test_compute_threads_is_auto_or_a_positive_integer(tmp_path: Path, value: object) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"compute:\n  threads: {value!r}\n" if isinstance(value, str) else f"compute:\n  threads: {str(value).lower()}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"invalid config {path}: compute.threads: must be auto or an integer ≥ 1, got {value!r}"
