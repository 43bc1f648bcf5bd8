"""Build chaingrad's API reference (HTML, with pdoc) from the docstrings: `python docs/api.py OUT`.

Every public module of `autograd` and `nn` gets a page (pdoc alone would list only the names in
each package's `__all__`). Any warning while importing or rendering (an unparsable annotation, a
module that fails to import, ...) is an error: the script prints the warnings and exits with 1.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from pathlib import Path

PACKAGES = ("autograd", "nn")
# The reference documents this tree's source, even where a built chaingrad is installed too.
REPO_ROOT = Path(__file__).resolve().parent.parent


def public_modules() -> list[str]:
    """The packages and their submodules, without private ones (`_clash`) or `__main__`."""
    names = []
    for package in PACKAGES:
        names.append(package)
        path = importlib.import_module(package).__path__
        for info in pkgutil.walk_packages(path, prefix=f"{package}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return names


def build(output: Path) -> list[str]:
    """Write the HTML reference to `output`; the warnings raised on the way, as text."""
    import pdoc
    import pdoc.extract
    import pdoc.render

    pdoc.render.configure(docformat="markdown", footer_text="chaingrad")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # pdoc adds a package's submodules named in its __all__ by itself: name only the others,
        # as a module named twice is a warning.
        specs: list[str] = []
        covered: set[str] = set()
        for name in public_modules():
            if name not in covered:
                specs.append(name)
                covered.update(pdoc.extract.walk_specs([name]))
        pdoc.pdoc(*specs, output_directory=output)
    return [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught]


def main(argv: list[str] | None = None) -> int:
    """Build the reference into the folder given; 1 when anything warned."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="folder for the HTML files (created if missing)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    problems = build(args.output)
    for problem in problems:
        print(f"docs/api.py: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"API reference: {args.output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
