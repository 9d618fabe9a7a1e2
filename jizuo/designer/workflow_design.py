"""Design operations on a workflow draft: states and transitions added, changed and
removed through forms, as pure functions ``(body, op) -> new body``.

The whole list of operations of one edit is then checked by the kernel's workflow
checker (``check_workflow``) when the draft is saved: a state is usually added together
with the transition that reaches it, so single steps may pass through states the checker
would refuse (a state nothing reaches yet).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from jizuo.designer.form_fields import key_from_title, refuse, set_text
from jizuo.designer.form_layout import position
from jizuo.platform.catalog import KEY_PATTERN

CATEGORIES = ("draft", "active", "done", "cancelled")
MAX_OPS = 100

#: Properties of a transition the designer edits, and what a value must be.
TRANSITION_PROPERTIES = (
    "title", "from", "to", "roles", "guard", "guard_message", "required_fields",
    "comment_required", "signature", "approvals", "key",
)  # fmt: skip
STATE_PROPERTIES = ("title", "category", "readonly_fields", "key")


def seed_workflow(entity_key: str) -> dict[str, Any]:
    """A new workflow: open → done, ready to be designed further."""
    return {
        "entity": entity_key,
        "initial": "open",
        "states": [
            {"key": "open", "title": {"en": "Open", "zh": "打开"}, "category": "draft"},
            {"key": "done", "title": {"en": "Done", "zh": "完成"}, "category": "done"},
        ],
        "transitions": [
            {
                "key": "finish",
                "title": {"en": "Finish", "zh": "完成"},
                "from": ["open"],
                "to": "done",
            }
        ],
    }


def _key(value: Any, taken: set[str], path: str) -> str:
    if not isinstance(value, str) or not re.match(KEY_PATTERN, value):
        raise refuse(path, "a key has lower-case letters, digits and _, starting with a letter")
    if value in taken:
        raise refuse(path, f"'{value}' is already used")
    return value


def _state_index(body: dict, key: Any, path: str) -> int:
    for i, state in enumerate(body["states"]):
        if state["key"] == key:
            return i
    raise refuse(path, f"no state '{key}'")


def _transition_index(body: dict, key: Any, path: str) -> int:
    for i, transition in enumerate(body["transitions"]):
        if transition["key"] == key:
            return i
    raise refuse(path, f"no transition '{key}'")


def _category(value: Any, path: str) -> str:
    if value not in CATEGORIES:
        raise refuse(path, f"a state's category is one of {', '.join(CATEGORIES)}")
    return value


def _new_transition(body: dict, op: dict, at: str) -> dict[str, Any]:
    title = set_text(None, None, op.get("title"), f"{at}/title")
    taken = {t["key"] for t in body["transitions"]}
    key = _key(op["key"], taken, f"{at}/key") if "key" in op else key_from_title(
        title, taken, "transition"
    )  # fmt: skip
    transition = {"key": key, "title": title, "from": op.get("from"), "to": op.get("to")}
    for prop in TRANSITION_PROPERTIES:
        if prop in op and prop not in ("key", "title", "from", "to"):
            _set_transition_property(transition, prop, op[prop], f"{at}/{prop}")
    return transition


def add_state(body: dict, op: dict, at: str) -> None:
    title = set_text(None, None, op.get("title"), f"{at}/title")
    taken = {s["key"] for s in body["states"]}
    key = _key(op["key"], taken, f"{at}/key") if "key" in op else key_from_title(
        title, taken, "state"
    )  # fmt: skip
    state: dict[str, Any] = {
        "key": key,
        "title": title,
        "category": _category(op.get("category", "active"), f"{at}/category"),
    }
    states = body["states"]
    states.insert(position(op.get("index"), len(states), f"{at}/index", insert=True), state)
    if "from" in op:
        # The usual gesture: a new state reached from an existing one.
        _state_index(body, op["from"], f"{at}/from")
        transition = _new_transition(
            body, {"title": title, "from": [op["from"]], "to": key}, f"{at}/transition"
        )
        body["transitions"].append(transition)


def set_state(body: dict, op: dict, at: str) -> None:
    state = body["states"][_state_index(body, op.get("state"), f"{at}/state")]
    prop, value, path = op.get("property"), op.get("value"), f"{at}/value"
    if prop == "title":
        state["title"] = set_text(state["title"], None, value, path)
    elif str(prop).startswith("title."):
        state["title"] = set_text(state["title"], str(prop)[6:], value, path)
    elif prop == "category":
        state["category"] = _category(value, path)
    elif prop == "readonly_fields":
        if value is None or value == []:
            state.pop("readonly_fields", None)
        else:
            state["readonly_fields"] = value
    elif prop == "key":
        old = state["key"]
        state["key"] = _key(value, {s["key"] for s in body["states"]} - {old}, path)
        if body["initial"] == old:
            body["initial"] = value
        for t in body["transitions"]:
            if t["to"] == old:
                t["to"] = value
            if isinstance(t["from"], list):
                t["from"] = [value if s == old else s for s in t["from"]]
    else:
        raise refuse(f"{at}/property", f"use one of {', '.join(STATE_PROPERTIES)}")
    if state["title"] is None:
        raise refuse(path, "a state keeps its title")


def move_state(body: dict, op: dict, at: str) -> None:
    states = body["states"]
    state = states.pop(_state_index(body, op.get("state"), f"{at}/state"))
    states.insert(position(op.get("index"), len(states), f"{at}/index", insert=True), state)


def remove_state(body: dict, op: dict, at: str) -> None:
    index = _state_index(body, op.get("state"), f"{at}/state")
    key = body["states"][index]["key"]
    if body["initial"] == key:
        raise refuse(f"{at}/state", "the initial state stays: make another one initial first")
    del body["states"][index]
    kept = []
    for t in body["transitions"]:
        if t["to"] == key:
            continue
        if isinstance(t["from"], list):
            t["from"] = [s for s in t["from"] if s != key]
            if not t["from"]:
                continue
        kept.append(t)
    body["transitions"] = kept


def set_initial(body: dict, op: dict, at: str) -> None:
    _state_index(body, op.get("state"), f"{at}/state")
    body["initial"] = op["state"]


def add_transition(body: dict, op: dict, at: str) -> None:
    body["transitions"].append(_new_transition(body, op, at))


def _set_transition_property(transition: dict, prop: Any, value: Any, path: str) -> None:
    if prop not in TRANSITION_PROPERTIES:
        raise refuse(path, f"use one of {', '.join(TRANSITION_PROPERTIES)}")
    if prop == "title":
        transition["title"] = set_text(transition.get("title"), None, value, path)
        if transition["title"] is None:
            raise refuse(path, "a transition keeps its title")
    elif prop == "comment_required":
        if not isinstance(value, bool):
            raise refuse(path, "give true or false")
        transition[prop] = value
    elif prop == "signature" and isinstance(value, list):
        transition["signature"] = {"meanings": value}
    elif value is None or value == []:
        if prop in ("from", "to", "key"):
            raise refuse(path, f"a transition needs its '{prop}'")
        transition.pop(prop, None)
    else:
        # The kernel's checker says whether states, roles, fields and guards exist.
        transition[prop] = copy.deepcopy(value)


def set_transition(body: dict, op: dict, at: str) -> None:
    transition = body["transitions"][
        _transition_index(body, op.get("transition"), f"{at}/transition")
    ]
    prop = op.get("property")
    if prop == "key":
        taken = {t["key"] for t in body["transitions"]} - {transition["key"]}
        _key(op.get("value"), taken, f"{at}/value")
    _set_transition_property(transition, prop, op.get("value"), f"{at}/value")


def remove_transition(body: dict, op: dict, at: str) -> None:
    del body["transitions"][_transition_index(body, op.get("transition"), f"{at}/transition")]


def set_workflow(body: dict, op: dict, at: str) -> None:
    prop, value = op.get("property"), op.get("value")
    if prop not in ("title", "description"):
        raise refuse(f"{at}/property", "use title or description")
    text = set_text(body.get(prop), None, value, f"{at}/value")
    if text is None:
        body.pop(prop, None)
    else:
        body[prop] = text


OPERATIONS = {
    "add_state": add_state,
    "set_state": set_state,
    "move_state": move_state,
    "remove_state": remove_state,
    "set_initial": set_initial,
    "add_transition": add_transition,
    "set_transition": set_transition,
    "remove_transition": remove_transition,
    "set_workflow": set_workflow,
}


def apply_workflow_ops(body: dict[str, Any], ops: Any) -> dict[str, Any]:
    """The workflow body after a list of operations (to be checked by the kernel)."""
    if not isinstance(ops, list) or not ops:
        raise refuse("/ops", "give a list of operations")
    if len(ops) > MAX_OPS:
        raise refuse("/ops", f"at most {MAX_OPS} operations at a time")
    new = copy.deepcopy(body)
    for i, op in enumerate(ops):
        at = f"/ops/{i}"
        if not isinstance(op, dict):
            raise refuse(at, "an operation is a JSON object with an 'op'")
        handler = OPERATIONS.get(op.get("op"))
        if handler is None:
            raise refuse(f"{at}/op", f"unknown operation; use one of {', '.join(OPERATIONS)}")
        handler(new, op, at)
    return new
