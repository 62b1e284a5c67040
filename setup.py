"""The one part of riskrules that setuptools cannot read from pyproject.toml: the C kernel of
name screening (engine/screening/_kernel.c), compiled at install time."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("engine.screening._kernel", ["engine/screening/_kernel.c"],
                             extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                                 "-Wno-missing-field-initializers"])])
