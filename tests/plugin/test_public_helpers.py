"""The plugin's :data:`~conformance.pytest_plugin.PUBLIC` repeats
:data:`conformance.pytest_support.__all__` by hand: the ``pytest11`` entry point may not
import the support module when it loads, so it cannot read the list from there. These
tests keep the two lists one list."""

from __future__ import annotations

from conformance import pytest_plugin, pytest_support


def test_plugin_public_names_are_exactly_the_support_modules_all() -> None:
    """A helper added to (or dropped from) one list and not the other fails here."""
    assert sorted(pytest_plugin.PUBLIC) == sorted(pytest_support.__all__)
    assert len(set(pytest_support.__all__)) == len(pytest_support.__all__)


def test_each_public_name_imported_from_the_plugin_is_the_support_modules_object() -> None:
    """``from conformance.pytest_plugin import NAME`` hands over the support module's object."""
    for name in sorted(pytest_plugin.PUBLIC):
        assert getattr(pytest_plugin, name) is getattr(pytest_support, name), name
