"""What the sidebar lists: folders, then the person's other chats (pinned on top, then newest first), and
the archived ones on their own page; each a page at a time.

Where a conversation shows: archived ones only under Archived; otherwise in their folder if they have one,
else in the main list. So each conversation appears exactly once. Pinned ones go first in whichever list
they are in ("Pinned" is a group of the main list, and the top of a folder).

Pages are keyset pages: the cursor is the last row's sort key (pinned, updated_at, id) and the next page is
everything after it in that order, read from the `conversation_sidebar` index (`conversation_folder` for a
folder, `conversation_archived` for Archived). A deep page costs what the first one does, and rows added or
moved meanwhile never shift a page (as an OFFSET would).

Deleted conversations still inside their undo window are shown where they were, as "Deleted … Undo" rows,
merged in by their sort key (they are not in the index).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import BadRequest
from django.db.models import BooleanField, Case, DateTimeField, F, Func, IntegerField, OuterRef, Value, When
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.formats import date_format

from chat import organising
from chat.models import IS_PINNED, Conversation, Folder

PAGE_SIZE = 30  # the main list, per page
# An open folder shows its newest few, so several open folders still leave room for the main list; each
# "Show more" then brings a longer page.
FOLDER_PAGE_SIZE = 5
FOLDER_MORE_SIZE = 20
# After an action the list is drawn again as deep as the person had scrolled, but never deeper than this.
MAX_DEPTH = 500

ROW_FIELDS = ("id", "title", "updated_at", "pinned_at", "archived_at", "folder_id", "deleted_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORDER = (IS_PINNED.desc(), F("updated_at").desc(), F("id").desc())
_ARCHIVED_ORDER = (F("updated_at").desc(), F("id").desc())


@dataclass(frozen=True, order=True)
class Key:
    """A row's place in a list: larger comes first. Archived lists ignore `pinned` (archiving unpins)."""

    pinned: bool
    updated_at: datetime
    id: int

    def encode(self) -> str:
        micros = (self.updated_at - _EPOCH) // timedelta(microseconds=1)
        return f"{int(self.pinned)}.{micros}.{self.id}"

    @classmethod
    def decode(cls, text) -> "Key | None":
        """The key in a cursor parameter; None when there is none. A forged or mangled one is a 400, never
        a 500 (it only ever comes from a URL we wrote)."""
        if not text:
            return None
        try:
            pinned, micros, pk = str(text).split(".")
            if pinned not in ("0", "1") or not 0 < int(pk) < 2**63:
                raise ValueError(text)
            return cls(pinned == "1", _EPOCH + timedelta(microseconds=int(micros)), int(pk))
        except (ValueError, OverflowError):
            raise BadRequest("That list position is not valid.") from None

    @classmethod
    def of(cls, conversation: Conversation, *, archived: bool = False) -> "Key":
        pinned = not archived and conversation.pinned_at is not None
        return cls(pinned, conversation.updated_at, conversation.pk)


class _RowCompare(Func):
    """`(a, b, c) < (x, y, z)`: PostgreSQL's row comparison. A btree index with those columns in that order
    seeks straight to it, where the equivalent OR of column comparisons would be filtered row by row."""

    output_field = BooleanField()
    operator = "<"

    def __init__(self, columns, values):
        self.width = len(columns)
        super().__init__(*columns, *values)

    def as_sql(self, compiler, connection, **extra_context):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            parts.append(f"({sql})")
            params.extend(expression_params)
        left, right = ", ".join(parts[: self.width]), ", ".join(parts[self.width :])
        return f"({left}) {self.operator} ({right})", params


class _RowCompareAtLeast(_RowCompare):
    operator = ">="


def _after(key: Key, *, archived=False, at_least=False):
    """Rows after `key` in list order (keys below it), or, `at_least`, rows up to and including it."""
    columns = [F("updated_at"), F("id")] if archived else [IS_PINNED, F("updated_at"), F("id")]
    values = [
        Value(key.updated_at, output_field=DateTimeField()),
        Value(key.id, output_field=IntegerField()),
    ]
    if not archived:
        values.insert(0, Value(key.pinned, output_field=BooleanField()))
    return (_RowCompareAtLeast if at_least else _RowCompare)(columns, values)


@dataclass
class ListPage:
    """One page of a list. `rows` are conversations (deleted ones carry `undo_ms`; the first of a group in
    the main list carries `group_label`); `cursor` is where the next page starts (None at the end)."""

    rows: list[Conversation]
    cursor: str | None
    first: bool = True
    folder: Folder | None = None

    def __post_init__(self):
        present(self.rows)

    def __iter__(self):
        return iter(self.rows)

    @property
    def has_more(self) -> bool:
        return self.cursor is not None

    @property
    def until(self) -> str:
        """The last row's place: how deep this list goes, so a redraw can go as deep ("" when empty)."""
        return Key.of(self.rows[-1]).encode() if self.rows else ""


def present(rows):
    """Ready `rows` for the row template (chat/_sidebar_row.html), which draws them by the hundred:
    `when`, the day it was last active, formatted once per distinct day (the `date` filter costs a third of
    a row's time), and `when_iso`, the moment, which the page shows on the reader's own clock; and
    `group_label`, so the template's lookup never fails (a failed attribute lookup costs a dir() of the
    model instance). Returns `rows`."""
    days: dict = {}
    for row in rows:
        day = timezone.localdate(row.updated_at)
        row.when = days.get(day) or days.setdefault(day, date_format(day, "M j"))
        row.when_iso = row.updated_at.isoformat(timespec="seconds")
        row.__dict__.setdefault("group_label", None)
    return rows


def _listed(user):
    """`user`'s conversations the sidebar lists: not deleted, not archived, with at least one message
    (an untouched new chat is not listed): the condition of the `conversation_sidebar` and
    `conversation_folder` indexes, so the queries below can use them."""
    return (
        Conversation.objects.for_user(user)
        .filter(archived_at__isnull=True, current_leaf__isnull=False)
        .only(*ROW_FIELDS)
    )


def _archived(user):
    return Conversation.objects.for_user(user).filter(archived_at__isnull=False).only(*ROW_FIELDS)


def _page(queryset, order, after: Key | None, size: int, *, archived=False) -> tuple[list, str | None]:
    if after is not None:
        queryset = queryset.filter(_after(after, archived=archived))
    rows = list(queryset.order_by(*order)[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, Key.of(rows[-1], archived=archived).encode()


def _merge_deleted(rows, cursor: str | None, after: Key | None, deleted, *, archived=False) -> list:
    """`rows` with the deleted conversations (still undoable) that sort between `after` and the page's end."""
    if not deleted:
        return rows
    end = Key.decode(cursor) if cursor else None
    key = lambda c: Key.of(c, archived=archived)  # noqa: E731
    between = [c for c in deleted if (after is None or key(c) < after) and (end is None or key(c) > end)]
    return sorted([*rows, *between], key=key, reverse=True) if between else rows


def _label_groups(rows, *, previous_pinned: bool | None) -> None:
    """Head the main list's groups: "Pinned" over the first pinned row, "Chats" over the first other one
    (`previous_pinned`: whether the row before this page was pinned; None on the first page)."""
    pinned_before = previous_pinned
    for row in rows:
        pinned = row.pinned_at is not None
        if pinned and pinned_before is None:
            row.group_label = "Pinned"
        elif not pinned and pinned_before is not False:
            row.group_label = "Chats"
        pinned_before = pinned


def _scope_deleted(deleted, *, folder_id=None, archived=False) -> list:
    return [
        c
        for c in deleted
        if (c.archived_at is not None) == archived and (archived or c.folder_id == folder_id)
    ]


def chats_page(user, after: Key | None = None, *, deleted=()) -> ListPage:
    """A page of `user`'s main list (conversations in no folder and not archived): pinned, then the rest."""
    scope = _listed(user).filter(folder__isnull=True)
    rows, cursor = _page(scope, _ORDER, after, PAGE_SIZE)
    rows = _merge_deleted(rows, cursor, after, _scope_deleted(deleted))
    _label_groups(rows, previous_pinned=after.pinned if after else None)
    return ListPage(rows, cursor, first=after is None)


def chats_until(user, until: Key, *, deleted=()) -> ListPage:
    """The main list from the top down to `until` (the last row the page had loaded), so a list redrawn
    after an action stays as long as it was; at least a first page, at most MAX_DEPTH rows."""
    scope = _listed(user).filter(folder__isnull=True).order_by(*_ORDER)
    rows = list(scope.filter(_after(until, at_least=True))[: MAX_DEPTH + 1])
    if len(rows) <= PAGE_SIZE:
        return chats_page(user, deleted=deleted)
    rows = rows[:MAX_DEPTH]
    last = Key.of(rows[-1])
    cursor = last.encode() if scope.filter(_after(last)).exists() else None
    rows = _merge_deleted(rows, cursor, None, _scope_deleted(deleted))
    _label_groups(rows, previous_pinned=None)
    return ListPage(rows, cursor)


def folder_page(user, folder: Folder, after: Key | None = None, *, deleted=()) -> ListPage:
    scope = _listed(user).filter(folder=folder)
    rows, cursor = _page(scope, _ORDER, after, FOLDER_PAGE_SIZE if after is None else FOLDER_MORE_SIZE)
    rows = _merge_deleted(rows, cursor, after, _scope_deleted(deleted, folder_id=folder.pk))
    return ListPage(rows, cursor, first=after is None, folder=folder)


def archived_page(user, after: Key | None = None, *, deleted=()) -> ListPage:
    rows, cursor = _page(_archived(user), _ARCHIVED_ORDER, after, PAGE_SIZE, archived=True)
    rows = _merge_deleted(rows, cursor, after, _scope_deleted(deleted, archived=True), archived=True)
    return ListPage(rows, cursor, first=after is None)


def folders_with_pages(user, *, deleted=()) -> list[Folder]:
    """`user`'s folders by name, each open one with the first page of its conversations as `.page`.

    Two queries whatever the number of folders: the folders, each open one with the ids of its first page
    (a subquery per folder, read from the `conversation_folder` index: a folded folder costs nothing), then
    those conversations."""
    first_ids = (
        _listed(user).filter(folder_id=OuterRef("pk")).order_by(*_ORDER).values("pk")[: FOLDER_PAGE_SIZE + 1]
    )
    folders = list(
        Folder.objects.filter(owner=user)
        .annotate(first_ids=Case(When(collapsed=False, then=ArraySubquery(first_ids))))
        .order_by(Lower("name"), "id")
    )
    wanted = [pk for folder in folders for pk in folder.first_ids or ()]
    by_folder: dict[int, list] = {}
    for row in _listed(user).filter(pk__in=wanted) if wanted else ():
        by_folder.setdefault(row.folder_id, []).append(row)
    for folder in folders:
        if folder.collapsed:
            continue
        rows = sorted(by_folder.get(folder.pk, []), key=Key.of, reverse=True)
        cursor = Key.of(rows[FOLDER_PAGE_SIZE - 1]).encode() if len(rows) > FOLDER_PAGE_SIZE else None
        rows = _merge_deleted(
            rows[:FOLDER_PAGE_SIZE], cursor, None, _scope_deleted(deleted, folder_id=folder.pk)
        )
        folder.page = ListPage(rows, cursor, folder=folder)
    return folders


def deleted_rows(user, *, purge: bool) -> list[Conversation]:
    """`user`'s deleted conversations whose Undo is still on offer, each with `undo_ms` left. With `purge`,
    those past their time are deleted for good first (the sidebar loading is when that happens)."""
    rows = list(Conversation.objects.deleted_for_user(user).only(*ROW_FIELDS))
    now = timezone.now()
    if purge and any(now - row.deleted_at >= organising.PURGE_AFTER for row in rows):
        organising.do_purge_deleted(user=user)
    for row in rows:
        row.undo_ms = organising.undo_ms_left(row, now)
    return [row for row in rows if row.undo_ms > 0]


def sidebar_page(user) -> ListPage:
    """The first page of the main list (what a page shows before any scrolling)."""
    return chats_page(user, deleted=deleted_rows(user, purge=False))


def sidebar_context(user, *, current_id=None, until: Key | None = None, deleted=None) -> dict:
    """What `chat/_sidebar.html` needs: the folders (open ones with their first page), the main list (its
    first page, or down to `until`), and which conversation is on screen. Four queries at most; expired
    deletions are purged on the way (pass `deleted` when the caller already read them)."""
    deleted = deleted_rows(user, purge=True) if deleted is None else deleted
    folders = folders_with_pages(user, deleted=deleted)
    page = chats_until(user, until, deleted=deleted) if until else chats_page(user, deleted=deleted)
    return {"sidebar": page, "folders": folders, "current_id": current_id}
