"""The research question bank: the questions a plan's research answers, by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from kam_api.deps import CurrentUser
from kam_api.errors import PROBLEM_JSON, ApiError
from kam_api.schemas.research import ResearchQuestionList, ResearchQuestionPublic
from kam_domain.errors import ResearchQuestionNotFoundError
from kam_domain.research import QUESTION_BANK, get_question
from kam_domain.values import ResearchCategory

router = APIRouter(tags=["research"])

#: Every category's value, in order (what ``?category=`` accepts).
CATEGORIES = [category.value for category in ResearchCategory]
#: A question's place in the bank, from 1.
_POSITION = {question_id: n for n, question_id in enumerate(QUESTION_BANK, start=1)}

_PROBLEM = {"content": {PROBLEM_JSON: {"schema": {"type": "object"}}}}


def _public(question_id: str) -> ResearchQuestionPublic:
    return ResearchQuestionPublic.of(QUESTION_BANK[question_id], _POSITION[question_id])


def _category(value: str) -> ResearchCategory:
    try:
        return ResearchCategory(value)
    except ValueError:
        raise ApiError(
            422,
            "validation",
            "Invalid request",
            f"unknown research category {value!r}; valid categories: {', '.join(CATEGORIES)}",
            errors=[
                {
                    "loc": ["query", "category"],
                    "msg": f"must be one of: {', '.join(CATEGORIES)}",
                    "type": "enum",
                }
            ],
            valid_categories=CATEGORIES,
        ) from None


@router.get(
    "/research-questions",
    response_model=ResearchQuestionList,
    responses={
        422: {
            "description": "Unknown category; the problem lists the valid ones "
            "(`valid_categories`)",
            **_PROBLEM,
        }
    },
)
async def list_research_questions(
    user: CurrentUser,
    category: Annotated[
        str | None,
        Query(
            max_length=64,
            description=f"Only this category's questions: one of {', '.join(CATEGORIES)}",
            examples=["needs"],
            json_schema_extra={"enum": list(CATEGORIES)},
        ),
    ] = None,
) -> ResearchQuestionList:
    """The research question bank, in bank order (grouped by category): each question's id
    (the `question_id` that `POST /plans/{plan_id}/research-answers` takes), category and
    text. Every signed-in role may read it."""
    wanted = _category(category) if category is not None else None
    return ResearchQuestionList(
        items=[
            _public(question.id)
            for question in QUESTION_BANK.values()
            if wanted is None or question.category is wanted
        ],
        categories=list(ResearchCategory),
    )


@router.get(
    "/research-questions/{question_id}",
    response_model=ResearchQuestionPublic,
    responses={404: {"description": "No question with this id", **_PROBLEM}},
)
async def get_research_question(
    user: CurrentUser,
    question_id: Annotated[
        str, Path(max_length=64, description="The question's id", examples=["needs-01"])
    ],
) -> ResearchQuestionPublic:
    """One question of the research bank by its id (404 for an id the bank does not hold)."""
    try:
        question = get_question(question_id)
    except ResearchQuestionNotFoundError as error:
        raise ApiError(404, "not-found", "Not found", str(error)) from None
    return _public(question.id)
