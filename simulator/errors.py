"""Errors raised for bad input at the boundary (scenario files, CLI options, network files).

Anything that is the *user's* mistake raises :class:`InputError`; the CLI turns it
into a one-paragraph message and exit code 2, with no traceback and nothing written.
"""

from __future__ import annotations


class InputError(Exception):
    """Invalid user input: a bad scenario, a bad option, a missing or malformed file.

    ``str(error)`` is the complete message shown to the user. It names the file,
    the line where known, the dotted key, the rule and the value that was given.
    """
