"""Property-based conformance of the whole HTTP API to its own /openapi.json (schemathesis).

Every documented operation is driven through the WSGI app (no network) with generated valid
(positive) and, where it has inputs to break, invalid (negative) requests, authenticated with a
key holding every role. Three checks apply to each response: never a 5xx, the body conforms to
the schema documented for its status, and the status itself is documented. Examples are
derandomized so that a failure reproduces. schemathesis' own pytest loader is not used (it reads
a node attribute pytest 9 removed): the operations are parametrized here instead.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api.openapi import build_spec
from tests.api.conftest import AppFactory
from tests.api.support import auth
from tests.bundled import BUNDLED

MAX_EXAMPLES = 25
# A generated batch holds many proposals, each scored: fewer examples keep the run bounded.
EXAMPLES_OF = {"POST /v1/assessments:batch": 10}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]

SCHEMA = schemathesis.openapi.from_dict(build_spec(BUNDLED))
# The bearer header is ours (a valid key with every role); negative cases break the inputs.
SCHEMA.config.generation.update(with_security_parameters=False)
OPERATIONS: dict[str, Any] = {}
for _result in SCHEMA.get_all_operations():
    _operation = cast(Any, _result).ok()  # an invalid operation raises here: collection fails
    OPERATIONS[_operation.label] = _operation


def _has_inputs(label: str) -> bool:
    """Whether schemathesis can make an invalid request: a body or query to break.

    A bare string path parameter ({id}) accepts anything, so it has no negative form.
    """
    operation = OPERATIONS[label]
    return bool(operation.body) or len(operation.query) > 0


CASES = [(label, GenerationMode.POSITIVE) for label in sorted(OPERATIONS)] + [
    (label, GenerationMode.NEGATIVE) for label in sorted(OPERATIONS) if _has_inputs(label)]


def test_every_documented_operation_is_exercised() -> None:
    assert {"POST /v1/assessments", "POST /v1/assessments:batch", "GET /v1/assessments",
            "GET /v1/assessments/{id}", "GET /v1/rules", "GET /v1/rules/{id}",
            "POST /v1/ruleset:reload", "GET /metrics"} <= set(OPERATIONS)
    assert ("POST /v1/assessments", GenerationMode.NEGATIVE) in CASES


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{c[0]}-{c[1].value}" for c in CASES])
def test_operation_conforms_to_its_schema(make_app: AppFactory, label: str,
                                          mode: GenerationMode) -> None:
    app = make_app()
    operation = OPERATIONS[label]
    headers = auth("all")
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES_OF.get(label, MAX_EXAMPLES), derandomize=True,
              deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call_and_validate(app=app, headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1

    run()
    if mode is GenerationMode.NEGATIVE:
        # Not all: a batch answers 200 with per-item problems, and a mutated query parameter
        # may serialise to nothing. But invalid input must be refused somewhere.
        assert any(400 <= status < 500 for status in statuses), statuses
    elif label == "POST /v1/assessments":
        # Valid proposals must get through to scoring and storage, not only be refused.
        assert statuses[201] > 0, statuses
