"""The business rules a command may break, read from its handler's code.

The API documents, for every command endpoint, the ``rule`` slugs its 409 answers may carry
(``kam_api.openapi``). Keeping that list by hand would go stale with the first new rule, so it
is derived here: starting from the command's handler (``HANDLERS``; for a one-step handler,
the step and its check), the code is read (``ast``) for ``raise SomeRuleError(...)`` and for
the functions and methods it calls, followed into this package's own code (the aggregates,
the application's machinery, module functions). A method call is followed into every
aggregate class (and the application) that has a method of that name, so the list may name a
rule a path cannot reach in practice, never miss one the code raises.

``requires_reason`` says whether a command always needs a reason: a ``require_reason`` call
that no condition guards, in a method the handler calls unconditionally.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from kam_domain.account_plans import AccountPlan
from kam_domain.app_core import KamApplicationBase
from kam_domain.base import KamAggregate
from kam_domain.commands import Command
from kam_domain.errors import RuleViolationError
from kam_domain.handlers.table import HANDLERS
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship

#: Where a method call may lead: the aggregates and the application's machinery.
_CLASSES: tuple[type[Any], ...] = (
    KeyAccount,
    AccountPlan,
    Relationship,
    KamAggregate,
    KamApplicationBase,
)
_REQUIRE_REASON = "require_reason"


def _ours(value: Any) -> bool:
    return inspect.isfunction(value) and value.__module__.startswith("kam_domain")


def _tree(function: Callable[..., Any]) -> ast.FunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):  # pragma: no cover - every function here has its source
        return None
    node = ast.parse(source).body[0]
    return node if isinstance(node, ast.FunctionDef) else None


def _scope(function: Callable[..., Any]) -> dict[str, Any]:
    """The names a function's code may use: its module's and its closure's."""
    names = dict(function.__globals__)
    names.update(inspect.getclosurevars(function).nonlocals)
    return names


def _method(cls: type[Any], name: str) -> Callable[..., Any] | None:
    member = inspect.getattr_static(cls, name, None)
    if isinstance(member, staticmethod | classmethod):
        member = member.__func__
    elif isinstance(member, property):
        member = member.fget
    return member if _ours(member) else None


def _callees(call: ast.Call, scope: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """The functions of this package a call may run."""
    target = call.func
    if isinstance(target, ast.Name) and _ours(scope.get(target.id)):
        yield scope[target.id]
    elif isinstance(target, ast.Attribute):
        for cls in _CLASSES:
            method = _method(cls, target.attr)
            if method is not None:
                yield method


def _rule_error(node: ast.Raise, scope: dict[str, Any]) -> type[RuleViolationError] | None:
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    error = scope.get(exc.id) if isinstance(exc, ast.Name) else None
    if isinstance(error, type) and issubclass(error, RuleViolationError):
        return error
    return None


def _raised(function: Callable[..., Any], seen: set[Callable[..., Any]]) -> set[str]:
    if function in seen:
        return set()
    seen.add(function)
    tree = _tree(function)
    if tree is None:  # pragma: no cover
        return set()
    scope = _scope(function)
    rules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            error = _rule_error(node, scope)
            if error is not None:
                rules.add(error.rule)
        elif isinstance(node, ast.Call):
            for callee in _callees(node, scope):
                rules |= _raised(callee, seen)
    return rules


def _unguarded_calls(tree: ast.FunctionDef) -> Iterator[ast.Call]:
    """Calls made on every run of a function: its top-level statements' calls (and those of
    the functions it defines, which handlers hand to ``app.run``), never those under a
    condition, a loop or a ``try``."""
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef):
            yield from _unguarded_calls(statement)
        elif isinstance(statement, ast.Expr | ast.Assign | ast.Return) and isinstance(
            statement.value, ast.Call
        ):
            yield statement.value


def _always_requires_reason(function: Callable[..., Any], seen: set[Callable[..., Any]]) -> bool:
    if function in seen:
        return False
    seen.add(function)
    tree = _tree(function)
    if tree is None:  # pragma: no cover
        return False
    scope = _scope(function)
    for call in _unguarded_calls(tree):
        target = call.func
        if isinstance(target, ast.Attribute) and target.attr == _REQUIRE_REASON:
            return True
        if any(_always_requires_reason(callee, seen) for callee in _callees(call, scope)):
            return True
    return False


def _entry(command_type: type[Command]) -> list[Callable[..., Any]]:
    """Where a command's handling starts: a one-step handler's step and check, or the whole
    handler."""
    handler = HANDLERS[command_type]
    closure = inspect.getclosurevars(handler).nonlocals
    if "step" in closure:
        parts = [closure.get("check"), closure["step"], handler]
        return [part for part in parts if part is not None and _ours(part)]
    return [handler]


@cache
def rules_of(command_type: type[Command]) -> frozenset[str]:
    """The ``rule`` slugs a command's refusal (409) may carry."""
    seen: set[Callable[..., Any]] = set()
    rules: set[str] = set()
    for function in _entry(command_type):
        rules |= _raised(function, seen)
    return frozenset(rules)


@cache
def requires_reason(command_type: type[Command]) -> bool:
    """Whether the command is refused without a reason whatever the state (``reason-required``
    is then not a condition but a required field)."""
    handler = HANDLERS[command_type]
    start = inspect.getclosurevars(handler).nonlocals.get("step", handler)
    return _always_requires_reason(start, set())
