"""The research question bank: enough good questions in every category, each findable by id."""

from __future__ import annotations

import re

import pytest

from kam_domain.errors import NotFoundError, ResearchQuestionNotFoundError
from kam_domain.research import QUESTION_BANK, ResearchQuestion, get_question, questions_in
from kam_domain.values import ResearchCategory


def test_the_bank_holds_at_least_forty_questions() -> None:
    assert len(QUESTION_BANK) >= 40


@pytest.mark.parametrize("category", list(ResearchCategory))
def test_every_category_has_at_least_four_questions(category: ResearchCategory) -> None:
    questions = questions_in(category)

    assert len(questions) >= 4
    assert all(q.category is category for q in questions)


def test_question_ids_and_texts_are_unique() -> None:
    questions = list(QUESTION_BANK.values())

    assert len({q.id for q in questions}) == len(questions)
    assert len({q.text.casefold() for q in questions}) == len(questions)


def test_the_bank_is_keyed_by_each_questions_own_id() -> None:
    assert all(key == question.id for key, question in QUESTION_BANK.items())


def test_ids_are_url_safe_slugs_with_a_number() -> None:
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*-\d{2}", key) for key in QUESTION_BANK)


def test_questions_are_real_questions() -> None:
    for question in QUESTION_BANK.values():
        assert question.text.endswith("?")
        assert question.text == question.text.strip()
        assert 30 <= len(question.text) <= 200


def test_questions_in_a_category_keep_bank_order() -> None:
    in_bank_order = [q for q in QUESTION_BANK.values() if q.category is ResearchCategory.NEEDS]

    assert questions_in(ResearchCategory.NEEDS) == in_bank_order


def test_categories_cover_the_whole_bank() -> None:
    by_category = [q for c in ResearchCategory for q in questions_in(c)]

    assert sorted(q.id for q in by_category) == sorted(QUESTION_BANK)


def test_getting_a_question_by_id() -> None:
    question = get_question("needs-01")

    assert isinstance(question, ResearchQuestion)
    assert question.id == "needs-01"
    assert question.category is ResearchCategory.NEEDS


@pytest.mark.parametrize("question_id", ["needs-99", "", "NEEDS-01", "needs-1"])
def test_getting_an_unknown_question_is_not_found(question_id: str) -> None:
    with pytest.raises(ResearchQuestionNotFoundError) as raised:
        get_question(question_id)

    assert isinstance(raised.value, NotFoundError)
    assert raised.value.details == {"question_id": question_id}


def test_questions_are_immutable() -> None:
    question = get_question("needs-01")

    with pytest.raises(AttributeError):
        question.text = "changed"  # type: ignore[misc]
