"""The part of a conversation's path a page shows: a window of messages, so a conversation of thousands of
messages opens as fast as a short one.

The walk from the leaf to the root needs only ids and parents: one query of two integers per message of the
conversation. Full rows (text, usage) are then loaded for the window alone, and only the window is rendered.
"""

from dataclasses import dataclass, field

from chat.models import Conversation, Message

WINDOW = 50  # messages per window: a screenful many times over, and ~20 ms of Markdown rendering


class MessageTree:
    """The id and parent of every message of one conversation."""

    def __init__(self, conversation_id: int):
        # No ORDER BY (the walk needs none), and one plain fetch: 5,000 rows take ~3 ms this way and ~12 ms
        # through .iterator()'s server-side cursor.
        rows = (
            Message.objects.filter(conversation_id=conversation_id).order_by().values_list("id", "parent_id")
        )
        self.parent: dict[int, int | None] = dict(rows)
        self.children: dict[int | None, list[int]] = {}
        for pk, parent in self.parent.items():
            self.children.setdefault(parent, []).append(pk)

    def path(self, leaf_id: int | None) -> list[int]:
        """Ids from the root to `leaf_id`, oldest first ([] for no leaf). Bounded by the number of messages, so
        a corrupt cycle ends the walk instead of hanging it."""
        path: list[int] = []
        node = leaf_id
        for _ in range(len(self.parent)):
            if node is None or node not in self.parent:
                break
            path.append(node)
            node = self.parent[node]
        path.reverse()
        return path

    def versions(self, pk: int) -> list[int]:
        """The versions of message `pk` (its siblings from Retry, itself included), oldest first."""
        return sorted(self.children.get(self.parent.get(pk), [pk]))

    def load(self, ids: list[int]) -> list[Message]:
        """Rows for `ids`, in that order, each with its `versions` for the version switcher."""
        by_id = Message.objects.in_bulk(ids)
        messages = [by_id[pk] for pk in ids if pk in by_id]
        for message in messages:
            message.versions = self.versions(message.pk)
        return messages


@dataclass
class PathWindow:
    """Messages `start` to `end` (exclusive) of a path of `total`, with what the page needs around them."""

    messages: list[Message] = field(default_factory=list)
    start: int = 0
    end: int = 0
    total: int = 0
    # Asked to open at a message on another version (branch): the window is where that branch leaves the path.
    elsewhere: bool = False

    @property
    def earlier(self) -> int:
        return self.start

    @property
    def later(self) -> int:
        return self.total - self.end

    @property
    def first_id(self) -> int | None:
        return self.messages[0].pk if self.messages else None

    @property
    def last_id(self) -> int | None:
        return self.messages[-1].pk if self.messages else None


def _as_id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def path_window(
    conversation: Conversation, *, at=None, before=None, after=None, size: int = WINDOW
) -> PathWindow | None:
    """A window of the path on screen (root to the conversation's current leaf).

    By default the last `size` messages. `before`/`after` (message ids on the path) give the `size` messages
    just before or after that one; `at` a window around that message, or, when it lies on another version,
    around where its branch leaves the path. Ids arrive from the query string: garbage is ignored, and
    `before`/`after` that are garbage or not on the path (it changed meanwhile) give None.
    """
    tree = MessageTree(conversation.pk)
    ids = tree.path(conversation.current_leaf_id)
    total = len(ids)
    start, end, elsewhere = max(0, total - size), total, False
    paging = before is not None or after is not None
    before, after, at = _as_id(before), _as_id(after), _as_id(at)
    if paging:
        anchor = before if before is not None else after
        if anchor not in ids:
            return None
        index = ids.index(anchor)
        start, end = (
            (max(0, index - size), index) if before is not None else (index + 1, min(total, index + 1 + size))
        )
    elif at is not None and at in tree.parent:
        index, elsewhere = _place(tree, ids, at)
        start = max(0, index - size // 2)
        end = min(total, start + size)
        if total - end <= size // 2:
            end = total  # close to the end: show through to it rather than a button for a few messages
    return PathWindow(tree.load(ids[start:end]), start, end, total, elsewhere)


def _place(tree: MessageTree, ids: list[int], at: int) -> tuple[int, bool]:
    """Where message `at` sits on the path: its index, or, for a message on another branch, the index of the
    path's message at the point where that branch leaves the path (the one whose version switch leads to it)."""
    on_path = {pk: i for i, pk in enumerate(ids)}
    if at in on_path:
        return on_path[at], False
    node = at
    for _ in range(len(tree.parent)):
        node = tree.parent.get(node)
        if node is None or node in on_path:
            break
    if node is None:
        return 0, True  # another root: the first message's versions lead to it
    return min(on_path[node] + 1, len(ids) - 1), True
