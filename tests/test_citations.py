"""Every file the project cites exists in the repository, and every cited anchor exists in its document.

Scans the tracked .py, .md and .ipynb files (the generated report under reports/latest is
rewritten by `decdiff report` and left out) for paths such as ``docs/claims.md#theorem-2``,
``decdiff/report/verdicts.py`` or ``ARCHITECTURE.md`` and for ``NAME.md §`` references.
A path resolves from the repository root, from the citing file's folder, or through the
package mapping of pyproject.toml (``decdiff/properties/x.py`` is ``properties/x.py``); a
bare file name resolves when some tracked file has that name. In the tests' Python files only the
prose is read (comments and docstrings): a string in a test's code names a file the test writes
into a temporary folder, not a citation. Everywhere else every string counts (the claim catalogue
and the report cite in strings).
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

from decdiff.claims import CLAIMS

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()
SCANNED = (".py", ".md", ".ipynb")
#: A path ending in a cited kind of file, with an optional #anchor; not part of a longer word, URL or module path.
CITATION = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-]+\.(?:md|py|ipynb))(?:#([\w-]+))?(?![\w])")
SECTION_REFERENCE = re.compile(r"([\w./-]+\.md)\s*§")
#: Package folders that are elsewhere in the tree (pyproject.toml's package-dir).
PACKAGE_DIRS = {"decdiff/implementations/": "implementations/", "decdiff/theory/": "theory/",
                "decdiff/properties/": "properties/"}
ANCHOR = re.compile(r'<a id="([\w-]+)"></a>')
#: Files the user or a test writes, named in examples and commands (``decdiff check mine.py:make``), not citations.
WRITTEN_BY_EXAMPLES = {"FILE.py", "mine.py", "user.py", "test_user.py", "literal_pool.py"}


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return out.split()


def _resolves(path: str, citing: str, files: set[str], names: set[str]) -> bool:
    candidates = [path, str(Path(citing).parent / path)]
    candidates += [path.replace(pkg, real, 1) for pkg, real in PACKAGE_DIRS.items() if path.startswith(pkg)]
    if any((ROOT / c).exists() for c in candidates):
        return True
    return "/" not in path and path in names


def prose(path: str, text: str) -> str:
    """The text a reader takes citations from: a test module's comments and docstrings, anything else whole."""
    if not (path.startswith("tests/") and path.endswith(".py")):
        return text
    comments = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
    nodes = [n for n in ast.walk(ast.parse(text))
             if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    docstrings = [ast.get_docstring(n, clean=False) or "" for n in nodes]
    return "\n".join(comments + docstrings)


def citations(text: str) -> list[tuple[str, str | None]]:
    """(path, anchor) of every file citation in `text`, "NAME.md §" references included."""
    found = [(m.group(1), m.group(2)) for m in CITATION.finditer(text)]
    return found + [(m.group(1), None) for m in SECTION_REFERENCE.finditer(text)]


def test_the_scanner_sees_the_forms_it_must_reject():
    text = 'see NOTES.md §6.9, SPEC.md, docs/claims.md#nowhere and "dir/file.py"; not https://x.com/a.py or a.b.py'
    assert citations(text) == [("NOTES.md", None), ("SPEC.md", None), ("docs/claims.md", "nowhere"),
                               ("dir/file.py", None), ("NOTES.md", None)]


def test_every_cited_file_and_anchor_exists():
    tracked = _tracked()
    files, names = set(tracked), {Path(f).name for f in tracked}
    missing = []
    for citing in tracked:
        if not citing.endswith(SCANNED) or citing.startswith("reports/latest/") or citing == THIS:
            continue
        text = prose(citing, (ROOT / citing).read_text(encoding="utf-8", errors="replace"))
        for path, anchor in citations(text):
            if path in WRITTEN_BY_EXAMPLES:
                continue
            if not _resolves(path, citing, files, names):
                missing.append(f"{citing}: {path}")
            elif anchor is not None and path.endswith(".md"):
                target = next(ROOT / c for c in (path, str(Path(citing).parent / path)) if (ROOT / c).exists())
                if anchor not in ANCHOR.findall(target.read_text(encoding="utf-8")):
                    missing.append(f"{citing}: {path}#{anchor}")
    assert not missing, "citations of files or anchors not in the repository:\n" + "\n".join(sorted(set(missing)))


def test_python_prose_is_read_and_code_strings_are_not():
    text = '"""See NOTES.md."""\n# and SPEC.md\nwritten = "out.md"\n'
    assert [path for path, _ in citations(prose("tests/x.py", text))] == ["SPEC.md", "NOTES.md"]
    assert "out.md" in [path for path, _ in citations(prose("decdiff/x.py", text))]


def test_a_file_outside_the_repository_does_not_resolve():
    files = set(_tracked())
    names = {Path(f).name for f in files}
    assert not _resolves("NOTES.md", "decdiff/claims.py", files, names)
    assert not _resolves("docs/SPEC.md", "README.md", files, names)
    assert _resolves("decdiff/properties/theorem2.py", "README.md", files, names)


@pytest.mark.parametrize("anchor", ["verdicts"] + [c.anchor for c in CLAIMS])
def test_the_claims_document_has_an_anchor_per_claim(anchor):
    assert anchor in ANCHOR.findall((ROOT / "docs" / "claims.md").read_text(encoding="utf-8"))
