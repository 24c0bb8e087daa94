"""AppTest helpers for issue 14's rules: a message beside the field, the confirmation
dialog, and a browser that still holds a label the server no longer offers."""
from __future__ import annotations

from collections.abc import Iterator

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Selectbox

from tests.apptest_support import shown


def _blocks(node) -> Iterator[Block]:
    if isinstance(node, Block):
        yield node
        for child in node.children.values():
            yield from _blocks(child)


def element_after(at: AppTest, key: str):
    """The element drawn right after the widget ``key``, in the same container."""
    for block in _blocks(at._tree):
        children = [block.children[i] for i in sorted(block.children)]
        for i, child in enumerate(children):
            if getattr(child, "key", None) == key:
                return children[i + 1] if i + 1 < len(children) else None
    raise KeyError(key)


def message_beside(at: AppTest, key: str) -> str | None:
    """The error shown right under the field ``key`` (its slot), or None."""
    after = element_after(at, key)
    if after is None or getattr(after, "type", None) != "error":
        return None
    return shown(after.value)


def dialogs(at: AppTest) -> list[Block]:
    return [b for b in _blocks(at._tree) if b.type == "dialog"]


def dialog_text(at: AppTest) -> str:
    """Everything written in the open dialog(s), as a person reads it."""
    out = []
    for d in dialogs(at):
        for block in _blocks(d):
            for child in block.children.values():
                if getattr(child, "type", None) in ("markdown", "error", "warning",
                                                           "info", "success"):
                    out.append(shown(child.value))
    return "\n".join(out)


def dialog_buttons(at: AppTest) -> list[str]:
    return [b.label for d in dialogs(at) for b in d.button]


def press_in_dialog(at: AppTest, label: str) -> AppTest:
    (d,) = dialogs(at)
    next(b for b in d.button if b.label == label).click()
    return at.run()


def send_stale_label(at: AppTest, key: str, label: str) -> None:
    """Make the selectbox ``key`` send ``label`` on the next run, as a browser does that
    still shows an option the server has since relabelled or removed.

    The server reads an incoming value with the options of its previous run, so
    ``label`` must be one it offered before that run (as in issue 14's case 1,
    where the browser still showed the label from before the deactivation)."""
    box: Selectbox = at.selectbox(key=key)
    if label not in box.options:
        box.options.append(label)
    box.set_value(label)
