"""The project's own promises: one dependency list for pip and conda, a listable public API."""

import re
import tomllib
from pathlib import Path

import yaml

import asgilab

ROOT = Path(__file__).resolve().parent.parent

# conda-forge spells a few PyPI packages differently.
CONDA_NAMES = {"python-graphviz": "graphviz"}
# What environment.yml lists that is not a Python dependency of the package.
CONDA_ONLY = {"python", "pip", "graphviz"}


def requirement(text: str) -> tuple[str, str]:
    """Split ``'httpx>=0.28,<1'`` into a normalised name and version specifier."""
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", text).groups()  # type: ignore[union-attr]
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def expand(requirements: list[str], extras: dict[str, list[str]]) -> list[str]:
    """``requirements`` with every ``asgilab[extra]`` replaced by that extra's own list."""
    out: list[str] = []
    for text in requirements:
        if self_reference := re.fullmatch(r"asgilab\[(\w+)\]", text.strip()):
            out += expand(extras[self_reference[1]], extras)
        else:
            out.append(text)
    return out


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = dict(requirement(r) for r in expand(project["dependencies"] + extras["lab"], extras))

    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed: dict[str, str] = {}
    pip_section: list[str] = []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            pip_section = entry["pip"]
            continue
        name, spec = requirement(entry)
        if entry.split()[0] in CONDA_ONLY or name in CONDA_ONLY:
            continue
        listed[CONDA_NAMES.get(name, name)] = spec
    for entry in pip_section:
        if entry.startswith("-e"):
            continue
        name, spec = requirement(entry)
        listed[name] = spec

    assert listed == wanted
    assert "-e ." in pip_section, "environment.yml must install asgilab itself"


def test_public_api_is_sorted_and_complete() -> None:
    assert asgilab.__all__ == sorted(asgilab.__all__)
    assert len(set(asgilab.__all__)) == len(asgilab.__all__)
    for name in asgilab.__all__:
        assert hasattr(asgilab, name), f"asgilab.__all__ names {name!r}, which is not defined"
    # dir(), not vars(): it also lists the names loaded on first use (see __getattr__)
    public = {
        name
        for name in dir(asgilab)
        if not name.startswith("_") and not isinstance(getattr(asgilab, name), type(asgilab))
    }
    assert public == set(asgilab.__all__), "every public name is listed in __all__"


def test_package_is_typed() -> None:
    assert (ROOT / "asgilab" / "py.typed").exists()


def test_readme_first_screen_gives_the_two_commands() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:40])
    assert "python3 tasks.py lab" in first_screen
    assert "python3 tasks.py test" in first_screen


def test_ci_runs_the_readme_test_command() -> None:
    assert "python3 tasks.py test" in (ROOT / ".ci" / "run").read_text()
