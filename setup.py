"""The one compiled module of the project (services/claims/parsing/flatxml.pyx); everything else is in pyproject.toml.

It reads lxml's tree through lxml's C API, so it builds against the headers of the pinned lxml
(``lxml.get_include()``); Cython and that lxml are the build requirements in pyproject.toml.
"""

import lxml
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("services.claims.parsing.flatxml", ["services/claims/parsing/flatxml.pyx"],
                   include_dirs=lxml.get_include())],
        compiler_directives={"language_level": "3"},
    )
)
