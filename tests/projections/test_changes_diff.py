"""The pure diff behind /accounts/{id}/changes: examples, and properties over generated trees."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kam_projections.changes import (
    Change,
    Item,
    Path,
    diff,
    equal,
    identity_key,
    plan_label,
    related,
    render_path,
    stakeholder_label,
)

# --- Examples ---------------------------------------------------------------------------


def test_equal_trees_have_no_changes() -> None:
    tree = {"tier": "key", "risks": [{"risk_id": "r1", "title": "Churn"}], "team": {}}
    assert diff(tree, copy.deepcopy(tree)) == []


def test_a_changed_scalar_is_reported_with_both_values() -> None:
    assert diff(
        {"tier": "key", "stage": "research"}, {"tier": "strategic", "stage": "research"}
    ) == [Change(("tier",), "changed", "key", "strategic")]


def test_nested_dicts_recurse_and_report_keys_added_and_removed() -> None:
    before = {"financials": {"2025": {"revenue": "10.00"}}, "team": {"ann": ["kam"]}}
    after = {"financials": {"2025": {"revenue": "12.00"}, "2026": {"revenue": "1.00"}}, "team": {}}
    assert diff(before, after) == [
        Change(("financials", "2025", "revenue"), "changed", "10.00", "12.00"),
        Change(("financials", "2026"), "added", None, {"revenue": "1.00"}),
        Change(("team", "ann"), "removed", ["kam"], None),
    ]


def test_lists_of_identified_items_are_matched_by_id() -> None:
    before = {
        "actions": [
            {"id": "a1", "status": "planned", "due_on": "2027-03-31"},
            {"id": "a2", "status": "planned", "due_on": "2027-04-30"},
        ]
    }
    after = {
        "actions": [
            {"id": "a1", "status": "planned", "due_on": "2027-05-31"},
            {"id": "a3", "status": "planned", "due_on": "2027-06-30"},
        ]
    }
    assert diff(before, after) == [
        Change(("actions", Item("a1"), "due_on"), "changed", "2027-03-31", "2027-05-31"),
        Change(("actions", Item("a2")), "removed", before["actions"][1], None),
        Change(("actions", Item("a3")), "added", None, after["actions"][1]),
    ]


def test_the_identity_key_is_the_first_one_every_item_has_uniquely() -> None:
    assert identity_key([{"id": "x", "objective_id": "o"}], []) == "id"
    assert identity_key([], [{"risk_id": "r", "title": "Churn"}]) == "risk_id"
    assert identity_key([{"name": "Rival", "threat": "high"}], []) == "name"
    assert identity_key([{"id": "x"}, {"id": "x"}], []) is None  # not unique
    assert identity_key([{"id": "x"}, {"title": "no id"}], []) is None
    assert identity_key([{"id": True}], []) is None  # booleans identify nothing
    assert identity_key(["a", "b"], ["a"]) is None
    assert identity_key([], []) is None


def test_other_lists_and_reordered_items_change_as_a_whole() -> None:
    assert diff({"priorities": ["a", "b"]}, {"priorities": ["b", "a"]}) == [
        Change(("priorities",), "changed", ["a", "b"], ["b", "a"])
    ]
    swapped = diff({"xs": [{"id": "1"}, {"id": "2"}]}, {"xs": [{"id": "2"}, {"id": "1"}]})
    assert swapped == [
        Change(("xs",), "changed", [{"id": "1"}, {"id": "2"}], [{"id": "2"}, {"id": "1"}])
    ]


def test_a_value_of_another_type_is_a_change_even_when_python_calls_it_equal() -> None:
    assert diff({"n": 1}, {"n": True}) == [Change(("n",), "changed", 1, True)]
    assert diff({"n": 1}, {"n": 1.0}) == [Change(("n",), "changed", 1, 1.0)]
    assert diff({"criteria": None}, {"criteria": {"fit": 3}}) == [
        Change(("criteria",), "changed", None, {"fit": 3})
    ]


def test_paths_read_like_the_contract_and_quote_odd_keys() -> None:
    assert render_path(()) == ""
    assert render_path(("tier",)) == "tier"
    assert render_path(("financials", "2026", "revenue")) == "financials.2026.revenue"
    assert render_path(("actions", Item("a1"), "status")) == "actions[a1].status"
    assert render_path(("risks", Item("r1"))) == "risks[r1]"
    assert render_path(("team", "ann.smith")) == 'team["ann.smith"]'
    assert render_path(("financials", "2026 H1", "revenue")) == 'financials["2026 H1"].revenue'


def test_a_path_is_related_to_itself_its_ancestors_and_its_descendants_only() -> None:
    status: Path = ("actions", Item("a1"), "status")
    assert related(status, status)
    assert related(("actions",), status) and related(status, ("actions", Item("a1")))
    assert related((), status)
    assert not related(("actions", Item("a2")), status)
    assert not related(("actions", Item("a1"), "due_on"), status)
    # Keys are compared whole: "2026" does not contain "2026.Q1".
    assert not related(("financials", "2026"), ("financials", "2026.Q1"))


def test_labels_name_plans_and_stakeholders_without_erased_names() -> None:
    assert plan_label({"period": "2027", "title": "Grow"}) == "2027: Grow"
    assert plan_label({"period": "2027", "title": None}) == "2027"
    person = {"title": "CPO", "name": "Grace Hopper", "erased": False}
    assert stakeholder_label(person) == "CPO: Grace Hopper"
    assert stakeholder_label({**person, "name": "(erased)", "erased": True}) == "CPO"
    assert stakeholder_label({**person, "title": None}) == "Grace Hopper"
    assert stakeholder_label({"title": None, "name": "(erased)", "erased": True}) == "(erased)"


# --- Properties -------------------------------------------------------------------------

IDS = st.sampled_from(["a", "b", "c", "d"])
SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["x", "y", "1", ""])
KEYS = st.sampled_from(["tier", "status", "due_on", "2026", "a.b", "team"])


def _identified(children: st.SearchStrategy[Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of dicts with unique ``id`` values, in any order."""
    return st.lists(
        st.tuples(IDS, st.dictionaries(KEYS, children, max_size=3)),
        max_size=4,
        unique_by=lambda t: t[0],
    ).map(lambda pairs: [{**body, "id": item_id} for item_id, body in pairs])


TREES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(KEYS, children, max_size=4)
        | _identified(children)
    ),
    max_leaves=20,
)


def _apply(tree: Any, changes: list[Change]) -> Any:
    """Applies changes to a copy of ``tree``; added list items go last (order is not kept)."""
    root = {"": copy.deepcopy(tree)}
    for change in changes:
        parent: Any = root
        path: Path = ("", *change.path)
        for part in path[:-1]:
            parent = _child(parent, part)
        last = path[-1]
        if change.change == "added":
            if isinstance(last, Item):
                parent.append(copy.deepcopy(change.after))
            else:
                assert last not in parent
                parent[last] = copy.deepcopy(change.after)
        elif change.change == "removed":
            assert equal(_child(parent, last), change.before)
            if isinstance(last, Item):
                parent.remove(_child(parent, last))
            else:
                del parent[last]
        else:  # changed: a value under a key (items change field by field, or not at all)
            assert not isinstance(last, Item)
            assert equal(parent[last], change.before)
            parent[last] = copy.deepcopy(change.after)
    return root[""]


def _child(parent: Any, part: str | Item) -> Any:
    if isinstance(part, Item):
        return next(item for item in parent if item.get("id") == part.id)
    return parent[part]


def _by_id(tree: Any) -> Any:
    """Lists of identified items as dicts by id: the order the diff does not promise."""
    if isinstance(tree, dict):
        return {k: _by_id(v) for k, v in tree.items()}
    if isinstance(tree, list):
        if tree and all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in tree):
            return {"items by id": {i["id"]: _by_id(i) for i in tree}}
        return [_by_id(i) for i in tree]
    return tree


@given(TREES)
def test_a_tree_has_no_changes_against_itself(tree: Any) -> None:
    assert diff(tree, copy.deepcopy(tree)) == []


@given(TREES, TREES)
def test_applying_the_changes_turns_before_into_after(before: Any, after: Any) -> None:
    changes = diff(before, after)
    assert equal(_by_id(_apply(before, changes)), _by_id(after))
    assert (changes == []) == equal(before, after)


@given(TREES, TREES)
def test_every_change_is_real_and_no_path_is_reported_twice_or_nested(
    before: Any, after: Any
) -> None:
    changes = diff(before, after)
    for change in changes:
        assert change.change != "changed" or not equal(change.before, change.after)
        assert change.change != "added" or change.before is None
        assert change.change != "removed" or change.after is None
    paths = [c.path for c in changes]
    for i, path in enumerate(paths):
        assert not any(related(path, other) for other in paths[i + 1 :])
