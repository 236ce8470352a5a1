"""Behaviour never hangs on `assert`: `python -O` (PYTHONOPTIMIZE, as some runtimes and images set) strips them."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from seatkeeper.sync.fetch import FetchCheckpoint, sign_in_pages


def test_no_assert_guards_behaviour_in_the_domain_package_or_the_functions(root):
    # Given every module of the domain package and of the Lambda functions
    modules = [*(root / "layers" / "seatkeeper" / "seatkeeper").rglob("*.py"), *(root / "functions").rglob("*.py")]
    # When their statements are read
    found = [
        f"{path.relative_to(root)}:{node.lineno}"
        for path in modules
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Assert)
    ]
    # Then none is an assert
    assert modules and found == []


def test_an_undocumented_detail_type_is_refused_even_under_python_minus_o(root):
    # Given EventBridge notices whose client records what is put, in a Python that strips asserts
    script = (
        "from seatkeeper.aws.events import EventBridgeNotices\n"
        "class Client:\n"
        "    def put_events(self, Entries):\n"
        "        print('PUT', Entries[0]['DetailType'])\n"
        "        return {}\n"
        "try:\n"
        "    EventBridgeNotices('default', Client()).put('Seat Maybe Reclaimed', {})\n"
        "except ValueError as exc:\n"
        "    print('REFUSED', exc)\n"
    )
    # When an event of a detail-type seatkeeper does not document is put
    done = subprocess.run(
        [sys.executable, "-O", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(root / "layers" / "seatkeeper"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    # Then it is refused, naming the detail-type, and nothing reaches EventBridge
    assert done.returncode == 0, done.stderr
    assert "PUT" not in done.stdout
    assert "REFUSED 'Seat Maybe Reclaimed' is not one of seatkeeper's detail-types" in done.stdout


def test_a_checkpoint_reading_sign_ins_without_its_window_is_a_clear_error():
    # Given a checkpoint handed to FetchUsers in the sign-in phase but without the window it was opened with
    state = FetchCheckpoint(phase="sign_ins")
    # When its sign-ins are read, Then the error says so, before any IdP is asked
    with pytest.raises(ValueError, match="without the window"):
        next(sign_in_pages(None, state))  # type: ignore[arg-type]
