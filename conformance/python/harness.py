"""Tiny check runner shared by the conformance suite.

Each check is a function registered with ``@check("name")``. Checks run in
registration order (later checks may use what earlier ones stored in ``ctx``),
print one line each, and the run ends with the closing line ``N passed, N failed``.
A check that cannot run because the emulator has no way to reach the situation
raises ``Skip`` (printed, counted on its own line, never as a pass).
"""

from __future__ import annotations

import sys
import time
import traceback
from typing import Any, Callable, Dict, List, Tuple

CHECKS: List[Tuple[str, Callable[[Dict[str, Any]], None]]] = []


class Skip(Exception):
    """The situation a check needs cannot be produced here; say why."""


class CheckFailed(AssertionError):
    """A check's expectation did not hold."""


def check(name: str) -> Callable[[Callable[[Dict[str, Any]], None]], Callable[[Dict[str, Any]], None]]:
    """Register a check under a stable, greppable name."""

    def deco(fn: Callable[[Dict[str, Any]], None]) -> Callable[[Dict[str, Any]], None]:
        CHECKS.append((name, fn))
        return fn

    return deco


def expect(cond: bool, msg: str) -> None:
    """Fail the current check with `msg` unless `cond` holds."""
    if not cond:
        raise CheckFailed(msg)


def expect_eq(actual: Any, expected: Any, what: str) -> None:
    """Fail unless `actual == expected`, showing both."""
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def short(value: Any, limit: int = 600) -> str:
    """A one-line, bounded rendering of a value for failure messages."""
    text = repr(value).replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + "…"


def run_all(ctx: Dict[str, Any], only: List[str] | None = None) -> int:
    """Run every registered check (or those whose name starts with one of `only`)."""
    passed = failed = skipped = 0
    for name, fn in CHECKS:
        if only and not any(name.startswith(p) for p in only):
            continue
        started = time.monotonic()
        try:
            fn(ctx)
        except Skip as why:
            skipped += 1
            print(f"skip {name}: {why}", flush=True)
            continue
        except CheckFailed as err:
            failed += 1
            print(f"FAIL {name}: {err}", flush=True)
            continue
        except Exception as err:  # noqa: BLE001 - any client exception is a failed check
            failed += 1
            detail = short(getattr(err, "content", None) or "")
            print(f"FAIL {name}: {type(err).__name__}: {short(str(err))} {detail}", flush=True)
            if ctx.get("verbose"):
                traceback.print_exc()
            continue
        passed += 1
        print(f"ok   {name} ({time.monotonic() - started:.2f}s)", flush=True)
    if skipped:
        print(f"{skipped} skipped", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def main_exit(code: int) -> None:
    """Exit with the suite's status."""
    sys.stdout.flush()
    sys.exit(code)
