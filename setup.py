"""The ``services/`` folder is installed as the ``revmentor`` package."""

from setuptools import find_packages, setup

setup(
    package_dir={"revmentor": "services"},
    packages=["revmentor"] + [f"revmentor.{name}" for name in find_packages("services")],
    package_data={"revmentor": ["py.typed"]},
)
