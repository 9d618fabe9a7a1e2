"""Where fields sit on a form: tabs → sections → 1 to 4 columns → field keys.

Operations on the ``layout`` part of an entity draft: add, retitle, move and remove tabs
and sections, change a section's column count, place fields. They edit a copy handed to
them by :mod:`jizuo.designer.form_design`, which has the kernel check the result.
"""

from __future__ import annotations

from typing import Any

from jizuo.designer.form_fields import refuse, set_text

MAX_COLUMNS = 4


def layout_of(definition: dict[str, Any]) -> dict[str, Any]:
    """The draft's layout; a draft without one gets a tab with all its fields in one column,
    so that placing a field never hides the others."""
    if "layout" not in definition:
        keys = list(definition["schema"]["properties"])
        definition["layout"] = {"tabs": [{"sections": [{"columns": [keys]}]}]}
    return definition["layout"]


def position(value: Any, size: int, path: str, *, insert: bool = False) -> int:
    """A checked index into a list of ``size`` items (one more when inserting; None appends)."""
    if value is None and insert:
        return size
    limit = size + 1 if insert else size
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        if limit == 0:
            raise refuse(path, "there is nothing there")
        raise refuse(path, f"give a position from 0 to {limit - 1}")
    return value


def _tab(layout: dict[str, Any], op: dict[str, Any], at: str, name: str = "tab") -> dict:
    return layout["tabs"][position(op.get(name), len(layout["tabs"]), f"{at}/{name}")]


def _section(layout: dict[str, Any], op: dict[str, Any], at: str) -> dict[str, Any]:
    sections = _tab(layout, op, at)["sections"]
    return sections[position(op.get("section"), len(sections), f"{at}/section")]


def placed_keys(container: dict[str, Any]) -> list[str]:
    """The field keys placed in a tab or section."""
    sections = container.get("sections", [container])
    return [key for s in sections for column in s["columns"] for key in column]


def unplace(layout: dict[str, Any], key: str) -> None:
    """Take a field off the form wherever it is."""
    for tab in layout["tabs"]:
        for section in tab["sections"]:
            for column in section["columns"]:
                while key in column:
                    column.remove(key)
            section.get("widgets", {}).pop(key, None)


def place(layout: dict[str, Any], key: str, where: Any, at: str) -> None:
    """Put a field at ``where`` = {tab, section, column, index} (each optional: by default at
    the end of the first column of the first tab's last section)."""
    if where is None:
        where = {}
    if not isinstance(where, dict):
        raise refuse(at, "give a position {tab, section, column, index}")
    tab = _tab(layout, {"tab": where.get("tab", 0)}, at)
    if not tab["sections"]:
        tab["sections"].append({"columns": [[]]})
    sections = tab["sections"]
    section = sections[
        position(where.get("section", len(sections) - 1), len(sections), f"{at}/section")
    ]
    column = section["columns"][
        position(where.get("column", 0), len(section["columns"]), f"{at}/column")
    ]
    column.insert(position(where.get("index"), len(column), f"{at}/index", insert=True), key)


def move_placed(layout: dict[str, Any], key: str, where: Any, at: str) -> None:
    """Move a field to another place (a field not yet on the form is placed)."""
    unplace(layout, key)
    place(layout, key, where, at)


def _title(container: dict[str, Any], op: dict[str, Any], at: str) -> None:
    if "title" not in op:
        return
    title = set_text(container.get("title"), None, op["title"], f"{at}/title")
    if title is None:
        container.pop("title", None)
    else:
        container["title"] = title


def _column_count(section: dict[str, Any], count: Any, at: str) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COLUMNS:
        raise refuse(at, f"a section has 1 to {MAX_COLUMNS} columns")
    columns = section["columns"]
    while len(columns) < count:
        columns.append([])
    while len(columns) > count:
        # Fields of a dropped column move to the end of the last one kept.
        columns[count - 1].extend(columns.pop())


def add_tab(definition: dict, op: dict, at: str) -> None:
    tabs = layout_of(definition)["tabs"]
    tab: dict[str, Any] = {"sections": [{"columns": [[]]}]}
    _title(tab, op, at)
    tabs.insert(position(op.get("index"), len(tabs), f"{at}/index", insert=True), tab)


def set_tab(definition: dict, op: dict, at: str) -> None:
    _title(_tab(layout_of(definition), op, at), op, at)


def move_tab(definition: dict, op: dict, at: str) -> None:
    tabs = layout_of(definition)["tabs"]
    tab = tabs.pop(position(op.get("tab"), len(tabs), f"{at}/tab"))
    tabs.insert(position(op.get("index"), len(tabs), f"{at}/index", insert=True), tab)


def remove_tab(definition: dict, op: dict, at: str) -> None:
    tabs = layout_of(definition)["tabs"]
    index = position(op.get("tab"), len(tabs), f"{at}/tab")
    if placed_keys(tabs[index]):
        raise refuse(f"{at}/tab", "the tab holds fields: move or remove them first")
    if len(tabs) == 1:
        raise refuse(f"{at}/tab", "a form keeps at least one tab")
    tabs.pop(index)


def add_section(definition: dict, op: dict, at: str) -> None:
    sections = _tab(layout_of(definition), op, at)["sections"]
    section: dict[str, Any] = {"columns": [[]]}
    _column_count(section, op.get("columns", 1), f"{at}/columns")
    _title(section, op, at)
    sections.insert(position(op.get("index"), len(sections), f"{at}/index", insert=True), section)


def set_section(definition: dict, op: dict, at: str) -> None:
    section = _section(layout_of(definition), op, at)
    _title(section, op, at)
    if "columns" in op:
        _column_count(section, op["columns"], f"{at}/columns")


def move_section(definition: dict, op: dict, at: str) -> None:
    layout = layout_of(definition)
    source = _tab(layout, op, at)["sections"]
    section = source.pop(position(op.get("section"), len(source), f"{at}/section"))
    target = _tab(layout, {"to_tab": op.get("to_tab", op.get("tab"))}, at, "to_tab")["sections"]
    target.insert(position(op.get("index"), len(target), f"{at}/index", insert=True), section)


def remove_section(definition: dict, op: dict, at: str) -> None:
    sections = _tab(layout_of(definition), op, at)["sections"]
    index = position(op.get("section"), len(sections), f"{at}/section")
    if placed_keys(sections[index]):
        raise refuse(f"{at}/section", "the section holds fields: move or remove them first")
    sections.pop(index)


LAYOUT_OPERATIONS = {
    "add_tab": add_tab,
    "set_tab": set_tab,
    "move_tab": move_tab,
    "remove_tab": remove_tab,
    "add_section": add_section,
    "set_section": set_section,
    "move_section": move_section,
    "remove_section": remove_section,
}
