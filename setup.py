"""Ship the student notebooks inside the package.

The build copies the repository's ``notebooks/NN_*.ipynb`` (the student notebooks, not
``notebooks/solutions/``) to ``rnncourse/notebooks/`` in the wheel, where
``rnncourse start`` finds them with ``importlib.resources``. The source distribution
carries them too, so a wheel built from it has them. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def student_notebooks(root: Path) -> list[Path]:
    found = (root / "notebooks").glob("[0-9][0-9]_*.ipynb")
    return sorted(p for p in found if ".updated." not in p.name)


class BuildPyWithNotebooks(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository's notebooks/ directly
        target = Path(self.build_lib) / "rnncourse" / "notebooks"
        target.mkdir(parents=True, exist_ok=True)
        for notebook in student_notebooks(HERE):
            shutil.copy2(notebook, target / notebook.name)


class SdistWithNotebooks(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        (Path(base_dir) / "notebooks").mkdir(exist_ok=True)
        for notebook in student_notebooks(HERE):
            shutil.copy2(notebook, Path(base_dir) / "notebooks" / notebook.name)


setup(cmdclass={"build_py": BuildPyWithNotebooks, "sdist": SdistWithNotebooks})
