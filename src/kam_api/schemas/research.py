"""The research question bank as the API serves it (``GET /research-questions``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from kam_domain.research import ResearchQuestion
from kam_domain.values import ResearchCategory

_EXAMPLE_QUESTION: JsonDict = {
    "id": "needs-01",
    "category": "needs",
    "text": "What are the customer's three strategic priorities for this year, in their own words?",
    "position": 19,
}


class ResearchQuestionPublic(BaseModel):
    """One question of the research bank: answer it with
    ``POST /plans/{plan_id}/research-answers`` and its ``id`` as ``question_id``."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_QUESTION]})

    id: str = Field(
        description="The question's id: the `question_id` the answer command takes (stable: "
        "an id once published keeps its meaning)",
        examples=["needs-01"],
    )
    category: ResearchCategory = Field(
        description="Which of the eight research categories the question belongs to"
    )
    text: str = Field(description="The question as the team should ask it")
    position: int = Field(
        ge=1, description="The question's place in the bank (grouped by category), from 1"
    )

    @classmethod
    def of(cls, question: ResearchQuestion, position: int) -> ResearchQuestionPublic:
        return cls(
            id=question.id, category=question.category, text=question.text, position=position
        )


class ResearchQuestionList(BaseModel):
    """The questions of the research bank (all of them, or one category's), in bank order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_EXAMPLE_QUESTION],
                    "categories": [c.value for c in ResearchCategory],
                }
            ]
        }
    )

    items: list[ResearchQuestionPublic] = Field(description="The questions, in bank order")
    categories: list[ResearchCategory] = Field(
        description="Every category of the bank, in order: the values `?category=` accepts"
    )


__all__ = ["ResearchQuestionList", "ResearchQuestionPublic"]
