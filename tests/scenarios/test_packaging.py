from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import REPO

# conda-forge's name -> PyPI's
CONDA_NAMES = {"python-kaleido": "kaleido", "python-duckdb": "duckdb"}


def names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements
    }


def test_environment_yml_names_the_pyproject_packages():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = names(project["dependencies"]) | names(project["optional-dependencies"]["test"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = names([d for d in env["dependencies"] if isinstance(d, str)]) - {"python", "pip"}
    conda = {CONDA_NAMES.get(n, n) for n in conda}
    assert conda == wanted


def test_readme_opens_with_the_two_commands():
    head = (REPO / "README.md").read_text().split("\n## ")[0]
    assert "make report" in head and "make test" in head


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_notebooks_have_no_outputs_and_a_parameters_cell():
    import json

    for path in (REPO / "notebooks").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        cells = nb["cells"]
        assert not any(c.get("outputs") for c in cells), f"{path.name} has outputs"
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), path.name
