"""Intent routing API: which department should handle a citizen's message."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from hotline.web.schemas import ErrorRead

router = APIRouter(prefix="/api/v1", tags=["intent"], responses={422: {"model": ErrorRead}, 503: {"model": ErrorRead}})


class IntentQuery(BaseModel):
    """Citizen messages to route (one request may carry a batch)."""

    texts: list[str] = Field(min_length=1, max_length=100)


class IntentRead(BaseModel):
    """One message's routing."""

    label: str
    department: str | None
    score: float
    request_type: str | None
    out_of_scope: bool


class IntentPage(BaseModel):
    """Routings in input order, with the model version that produced them."""

    model_version: str
    items: list[IntentRead]


@router.post("/intent", response_model=IntentPage)
async def api_route_intent(query: IntentQuery, request: Request) -> IntentPage:
    """Route messages with the promoted intent model (reloaded automatically after a promotion)."""
    texts = [text[:4000] for text in query.texts]
    version, predictions = await run_in_threadpool(request.app.state.intent.route, texts)
    items = [
        IntentRead(
            label=p.label,
            department=p.department,
            score=p.score,
            request_type=p.request_type,
            out_of_scope=p.out_of_scope,
        )
        for p in predictions
    ]
    return IntentPage(model_version=version, items=items)
