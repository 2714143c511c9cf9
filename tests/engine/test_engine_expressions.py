"""`Engine.check_expression` and `Engine.evaluate_expression`: sandbox expressions without reaching into the
script engine."""
from __future__ import annotations

import pytest

from app.engine import Engine, FunctionRegistry, ScriptError, ScriptLimitError, ScriptSecurityError


@pytest.fixture
def engine() -> Engine:
    return Engine()


def test_a_valid_expression_passes_the_check(engine):
    assert engine.check_expression("amount > 10000 and stage == 'won'") is None


@pytest.mark.parametrize("expression, error", [
    ("amount >", ScriptError),
    ("x = 1", ScriptError),  # a statement, not an expression
    ("().__class__", ScriptSecurityError),
])
def test_an_expression_that_cannot_run_is_refused_as_the_sandbox_refuses_it(engine, expression, error):
    with pytest.raises(error) as caught:
        engine.check_expression(expression)
    with pytest.raises(type(caught.value)) as direct:
        engine.script_engine.sandbox.check(expression, "eval")
    assert str(caught.value) == str(direct.value)


def test_an_expression_is_evaluated_over_the_data_without_changing_it(engine):
    data = {"amount": 12000, "stage": "won", "owner": "rita"}

    assert engine.evaluate_expression("amount > 10000 and stage == 'won'", data) is True
    assert engine.evaluate_expression("owner.upper()", data) == "RITA"
    assert data == {"amount": 12000, "stage": "won", "owner": "rita"}


def test_evaluation_errors_are_script_errors(engine):
    with pytest.raises(ScriptError, match="not a variable"):
        engine.evaluate_expression("missing > 1", {})
    with pytest.raises(ScriptError, match="ZeroDivisionError"):
        engine.evaluate_expression("1 / 0", {})
    with pytest.raises(ScriptLimitError):
        Engine(script_max_steps=100).evaluate_expression("sum(i for i in range(10000))", {})


def test_the_registry_functions_are_available(engine):
    registry = FunctionRegistry()
    registry.register("twice", lambda v: v * 2, safe=True)
    assert Engine(registry).evaluate_expression("twice(amount)", {"amount": 21}) == 42
