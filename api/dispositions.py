"""Human dispositions: what a reviewer decided on a stored assessment, and the four-eyes rule.

A disposition is append-only: each new one supersedes the assessment's latest, nothing is
overwritten. The reviewer is the API key (or workbench session) that recorded it. When the
loaded pack sets `review.four_eyes` (or no pack is loaded), approving a deal the engine
escalated or rejected takes two approvals by different reviewers: the first is recorded as
`awaiting_second_approval`, the second (another key) as `final`; the same reviewer confirming
their own approval is refused (409).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from api.errors import InvalidRequest, SecondReviewerRequired
from api.schemas import DISPOSITION_DECISIONS
from api.store import Disposition, Store, StoredAssessment
from engine.errors import FieldError
from engine.timefmt import utc_now_seconds

DECISIONS = DISPOSITION_DECISIONS  # declared with the request schema (no web stack there)
FINAL = "final"
AWAITING = "awaiting_second_approval"
STATUSES = (FINAL, AWAITING)
FOUR_EYES_ENGINE_DECISIONS = ("escalate", "reject")


def needs_second_reviewer(engine_decision: str, decision: str, four_eyes: bool) -> bool:
    return four_eyes and decision == "approve" and engine_decision in FOUR_EYES_ENGINE_DECISIONS


def record(store: Store, stored: StoredAssessment, reviewer: str, data: dict[str, Any],
           four_eyes: bool) -> Disposition:
    """Validate the four-eyes rule (`four_eyes`: the loaded pack's `review.four_eyes`) and
    append the disposition `data` (already validated)."""
    engine_decision = str(stored.assessment.get("decision"))
    history = store.dispositions_of([stored.id]).get(stored.id, [])
    status = FINAL
    if needs_second_reviewer(engine_decision, data["decision"], four_eyes):
        latest = history[0] if history else None
        if latest is not None and latest.decision == "approve" and latest.status == AWAITING:
            if latest.reviewer == reviewer:
                raise SecondReviewerRequired(
                    f"the engine decided {engine_decision}: {reviewer} already approved, and "
                    "the pack requires a second approval by a different reviewer")
        else:
            status = AWAITING
    expires: date | None = data.get("expires_on")
    if expires is not None and expires < datetime.now(UTC).date():
        raise InvalidRequest("the disposition is invalid", errors=[
            FieldError("expires_on", "the expiry day is in the past")])
    return store.add_disposition(Disposition(
        id=str(uuid.uuid4()), assessment_id=stored.id,
        created_at=utc_now_seconds(), decision=data["decision"],
        status=status, reason=data["reason"].strip(),
        conditions=tuple(c.strip() for c in data.get("conditions") or () if c.strip()),
        expires_on=expires, reviewer=reviewer, supersedes=None))


def expired(history: list[Disposition], today: date | None = None) -> bool:
    """Whether the latest disposition's expiry day has passed."""
    day = today or datetime.now(UTC).date()
    return bool(history) and history[0].expires_on is not None and history[0].expires_on < day


def effective_decision(history: list[Disposition], today: date | None = None) -> str | None:
    """The human decision in force: the latest final one (None while none, while the latest
    approval awaits its second reviewer, or once its expiry day has passed)."""
    if not history or history[0].status != FINAL or expired(history, today):
        return None
    return history[0].decision


def summary(history: list[Disposition]) -> dict[str, Any] | None:
    """The `disposition` member of an assessment: current, decision in force, history (newest
    first); None when nobody recorded one."""
    if not history:
        return None
    return {"current": history[0].to_dict(), "effective_decision": effective_decision(history),
            "expired": expired(history), "history": [d.to_dict() for d in history]}
