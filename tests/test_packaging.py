"""The package layout of ARCHITECTURE.md: three folders mapped into the one import package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"decdiff": "decdiff", "decdiff.implementations": "implementations", "decdiff.theory": "theory",
          "decdiff.properties": "properties"}


def _packages_on_disk() -> set[str]:
    found = set()
    for package, folder in MAPPED.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    return found


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == MAPPED
    assert set(config["packages"]) == _packages_on_disk()


def test_no_generic_top_level_names_are_importable_from_site():
    import importlib.util

    for generic in ("theory", "properties", "implementations"):
        spec = importlib.util.find_spec(generic)
        assert spec is None or Path(spec.origin).resolve().parent.parent == ROOT, generic
