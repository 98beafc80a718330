"""Search: one box over the titles and the full text of a person's conversations.

Invariant: search only narrows what the user may see. Every statement here starts from
`visible_conversations(user, ...)` — `Conversation.objects.for_user(user)` without the deleted ones, narrowed
further by the filters — and messages are only ever reached through it (and the owner is checked again where
message rows are read). Nothing another person wrote can be counted, ranked, highlighted or timed.

How a search runs (docs/architecture.md, "Search", has the why):
1. `search_query.to_tsquery`: the text as a websearch tsquery, the word being typed as a prefix.
2. Rank: the matching messages (GIN on the generated `Message.search_vector`) and titles of the visible
   conversations, grouped by conversation, one page of conversations, best first.
3. Highlight: for that page only, the best few messages of each conversation through `ts_headline`.
4. Nothing found: `search_typos` corrects the words against the person's own vocabulary (pg_trgm) and
   searches again; still nothing, and archived conversations left out, one statement counts the archived
   ones it would have found (`Results.archived`: the page offers to include them).

Filters alone (a model, a folder, dates; no words) list the conversations they select, newest first.
"""

import datetime as dt
import functools
import logging
import re
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef
from django.db.utils import OperationalError
from django.utils import timezone
from psycopg.errors import QueryCanceled

from chat import search_passages, search_query, search_typos
from chat.models import Conversation, Folder, Message
from chat.search_query import clean
from chat.search_sql import (
    ARCHIVED_SQL,
    ARCHIVED_TITLES_SQL,
    CONVERSATIONS_SQL,
    HEADLINE_SQL,
    MESSAGES_SQL,
    TITLES_SQL,
)

log = logging.getLogger(__name__)

PER_PAGE = 10
# Offsets deeper than this are not served: nobody reads the 500th conversation of a search.
MAX_PAGE = 50
PASSAGES_PER_CONVERSATION = 3
# Passages come from the first this-many characters of a message, from a window around the first match.
HIGHLIGHT_CHARS = 20_000
HIGHLIGHT_WINDOW = 700
TIMEOUT_MS = 4_000
# A conversation's score: its best message, plus this much for a title match, plus a little for each further
# matching message (ranks are normalised to 0..1; while a word is being typed, a message or title that has it
# whole, not just its start, is ranked twice: search_sql.py).
TITLE_BONUS = 0.5
# ts_rank_cd's weights for D, C, B, A: the words as written (A) count like their stems (D), PostgreSQL's
# default weight for D.
RANK_WEIGHTS = [0.1, 0.2, 0.4, 0.1]
MORE_MATCHES_BONUS = 0.02


@dataclass(frozen=True)
class Filters:
    title_only: bool = False
    model: str = ""
    folder: Folder | None = None
    include_archived: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive

    @property
    def narrows(self) -> bool:
        """Whether these filters select conversations by themselves (titles only and archived need words)."""
        return bool(self.model or self.folder is not None or self.date_from or self.date_to)


@dataclass
class Hit:
    """One conversation in the results."""

    conversation: Conversation
    title: tuple  # segments of the title, matches marked
    matches: int  # its matching messages
    passages: list = field(default_factory=list)  # [(message id, role, Passage)]


@dataclass
class Results:
    query: str
    hits: list[Hit] = field(default_factory=list)
    page: int = 1
    has_more: bool = False
    corrected: str = ""  # the query actually searched, when the typed one found nothing
    capped: bool = False  # so many matches that only the newest CANDIDATES were ranked
    problem: str = ""  # why nothing was searched, in words
    listing: bool = False  # no words: the conversations the filters select, newest first
    # Nothing found, archived conversations left out: how many archived ones would have been (at least that
    # many when `archived_capped`: counted among the newest CANDIDATES matches).
    archived: int = 0
    archived_capped: bool = False

    @property
    def next_page(self) -> int:
        return self.page + 1


def visible_conversations(user, filters: Filters = Filters(), archived_only: bool = False):
    """The conversations a search may look at: `user`'s own, never one being deleted, narrowed by `filters`
    (and to the archived ones, for counting what a search left out)."""
    conversations = Conversation.objects.for_user(user).filter(deleted_at__isnull=True)
    if archived_only:
        conversations = conversations.filter(archived_at__isnull=False)
    elif not filters.include_archived:
        conversations = conversations.filter(archived_at__isnull=True)
    if filters.folder is not None:
        conversations = conversations.filter(folder=filters.folder)
    if filters.model:
        conversations = conversations.filter(model=filters.model)
    return conversations


def search(user, text: str, filters: Filters = Filters(), page: int = 1) -> Results:
    """One page of `user`'s conversations matching `text`, best first. Never raises for any `text`."""
    results = Results(query=" ".join(clean(text).split()), page=page)
    try:
        parsed = search_query.parse(text)
    except search_query.QueryTooLong as exc:
        results.problem = str(exc)
        return results
    if page > MAX_PAGE:
        results.problem = "That is as far as a search goes: try more words or a filter."
        return results
    if parsed.is_blank:
        if filters.narrows:
            _list(user, filters, results)
        return results
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            tsquery = search_query.to_tsquery(cursor, parsed, TIMEOUT_MS)
            if tsquery.negative_only:
                results.problem = "Add a word to look for: excluding words alone matches everything."
                return results
            if tsquery.is_empty:
                results.problem = "Only very common words (like “the”): add a more specific one."
                return results
            _run(cursor, user, tsquery, parsed.prefix, filters, results)
            if not results.hits and page == 1:
                corrected = search_typos.correct(cursor, user, parsed)
                if corrected:
                    again = search_query.parse(corrected)
                    retry = search_query.to_tsquery(cursor, again, TIMEOUT_MS)
                    if retry.text and not retry.negative_only:
                        _run(cursor, user, retry, again.prefix, filters, results)
                        results.corrected = corrected if results.hits else ""
            if not results.hits and page == 1 and not filters.include_archived:
                results.archived, results.archived_capped = _archived(cursor, user, tsquery, filters)
    except OperationalError as exc:
        if not isinstance(exc.__cause__, QueryCanceled):  # only the statement timeout is ours to explain
            raise
        results.hits, results.problem = [], "That search took too long: try more specific words."
    except DatabaseError:
        # Built to be impossible (websearch_to_tsquery accepts anything; the rest is quoted); if it happens,
        # the person still gets an answer, and the log the traceback (not the query: it is the person's text).
        log.exception("search failed")
        results.hits, results.problem = [], "Search could not handle that query."
    return results


# Ranking reads each matching message's row and vector; a word in a sixth of someone's 100,000 messages would
# make that thousands of reads. So the candidates are at most CANDIDATES matches, the newest first: the index
# keys each person's messages by slices of 65,536 ids (`novaweb_search_keys`), and the slices are searched
# newest first in windows of 1, 2, 4, 8… slices until enough are found (results say when that happened).
CANDIDATES = 500
HEADLINE_OPTIONS = f"HighlightAll=true, StartSel={search_passages.START}, StopSel={search_passages.STOP}"
_PLACEHOLDER = re.compile(r"%([%s])")


def _date_bounds(filters: Filters) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The date filters as [from, to) instants in the current time zone (`to` is inclusive of its day)."""

    def start_of(day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    low = start_of(filters.date_from) if filters.date_from else None
    high = start_of(filters.date_to + dt.timedelta(days=1)) if filters.date_to else None
    return low, high


def _visible_check(
    user, filters: Filters, model, outer: str, archived_only: bool = False
) -> tuple[str, list]:
    """`EXISTS (the row's conversation is visible)` as SQL for a statement over `model`'s table (unaliased),
    made by the ORM from `visible_conversations`: the invariant's one definition."""
    query = model.objects.all().query
    exists = Exists(visible_conversations(user, filters, archived_only).filter(pk=OuterRef(outer)))
    return query.get_compiler(connection=connection).compile(exists.resolve_expression(query))


def _named(sql: str, values, prefix: str) -> tuple[str, dict]:
    """ORM SQL with positional placeholders turned into named ones (the statements here use names)."""
    names = iter(f"{prefix}{i}" for i in range(len(values)))
    sql = _PLACEHOLDER.sub(lambda m: "%%" if m.group(1) == "%" else f"%({next(names)})s", sql)
    return sql, {f"{prefix}{i}": value for i, value in enumerate(values)}


def _statement(
    template: str, user, tsquery, filters: Filters, archived_only: bool = False
) -> tuple[str, dict]:
    """`template` (search_sql) with the visible and date conditions formatted in, and the parameters they and
    the statements share."""
    check = functools.partial(_visible_check, user, filters, archived_only=archived_only)
    visible_message, params = _named(*check(Message, "conversation_id"), "vm")
    visible_title, title_params = _named(*check(Conversation, "pk"), "vt")
    params.update(title_params)
    low, high = _date_bounds(filters)
    message_dates = (" AND chat_message.created_at >= %(low)s" if low else "") + (
        " AND chat_message.created_at < %(high)s" if high else ""
    )
    title_dates = (" AND chat_conversation.updated_at >= %(low)s" if low else "") + (
        " AND chat_conversation.updated_at < %(high)s" if high else ""
    )
    params.update(
        q=tsquery.for_owner(user.pk),
        whole=tsquery.for_owner(user.pk, tsquery.whole) if tsquery.whole else None,
        owner=user.pk,
        candidates=CANDIDATES,
        low=low,
        high=high,
        weights=RANK_WEIGHTS,
    )
    sql = template.format(
        visible_message=visible_message,
        visible_title=visible_title,
        message_dates=message_dates,
        title_dates=title_dates,
    )
    return sql, params


def _archived(cursor, user, tsquery, filters: Filters) -> tuple[int, bool]:
    """How many archived conversations `tsquery` would find with `filters` (and whether that is a floor)."""
    template = ARCHIVED_TITLES_SQL if filters.title_only else ARCHIVED_SQL
    cursor.execute(*_statement(template, user, tsquery, filters, archived_only=True))
    count, capped = cursor.fetchone()
    return count, bool(capped)


def _list(user, filters: Filters, results: Results) -> None:
    """No words, but filters: the conversations they select, newest first (with dates: those with a message
    written between them). Nothing found, archived ones left out: how many archived ones they select."""
    results.listing = True
    low, high = _date_bounds(filters)

    def selected(archived_only=False):
        conversations = visible_conversations(user, filters, archived_only=archived_only)
        if low or high:
            written = Message.objects.filter(conversation=OuterRef("pk"))
            written = written.filter(created_at__gte=low) if low else written
            written = written.filter(created_at__lt=high) if high else written
            conversations = conversations.filter(Exists(written))
        return conversations

    start = (results.page - 1) * PER_PAGE
    page = list(selected().order_by("-updated_at", "-pk")[start : start + PER_PAGE + 1])
    results.has_more = len(page) > PER_PAGE
    results.hits = [Hit(conversation, (), 0) for conversation in page[:PER_PAGE]]
    if not results.hits and results.page == 1 and not filters.include_archived:
        results.archived = selected(archived_only=True).count()


def _run(cursor, user, tsquery, prefix: str, filters: Filters, results: Results) -> None:
    template = TITLES_SQL if filters.title_only else MESSAGES_SQL
    sql, params = _statement(template, user, tsquery, filters)
    params.update(
        title_bonus=TITLE_BONUS,
        more_bonus=MORE_MATCHES_BONUS,
        per_conversation=PASSAGES_PER_CONVERSATION,
        limit=PER_PAGE + 1,
        offset=(results.page - 1) * PER_PAGE,
    )
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    results.has_more = len(rows) > PER_PAGE
    results.capped = bool(rows) and rows[0][3]
    rows = rows[:PER_PAGE]
    results.hits = []
    if not rows:
        return
    ids = [row[0] for row in rows]
    common = {
        "q": params["q"],
        "plain_q": tsquery.text,
        "ids": ids,
        "owner": user.pk,
        "delimiters": search_passages.START + search_passages.STOP,
        "options": HEADLINE_OPTIONS,
    }
    conversations = {c.pk: c for c in Conversation.objects.raw(CONVERSATIONS_SQL, common)}
    wanted = [message_id for row in rows for message_id in row[4]]
    highlighted = {}
    if wanted:
        cursor.execute(
            HEADLINE_SQL,
            {**common, "messages": wanted, "chars": HIGHLIGHT_CHARS, "window": HIGHLIGHT_WINDOW,
             "lexemes": tsquery.lexemes, "lead": search_passages.BEFORE + 40},
        )  # fmt: skip
        highlighted = {row[0]: row for row in cursor.fetchall()}
    for pk, matches, _, _, best in rows:
        conversation = conversations.get(pk)
        if conversation is None:  # deleted meanwhile
            continue
        title = search_passages.segments(
            conversation.title_shown,
            search_passages.marked_ranges(conversation.title_shown, conversation.title_marked, prefix) or [],
        )
        messages = [highlighted[m] for m in best if m in highlighted]
        results.hits.append(Hit(conversation, title, matches, _passages(messages, prefix)))


def _passages(messages: list, prefix: str) -> list:
    """Up to PASSAGES_PER_CONVERSATION passages from a conversation's best messages (best first): one from
    each of the others, the rest from the best one."""
    out = []
    others = min(len(messages) - 1, PASSAGES_PER_CONVERSATION - 1)
    for i, (message_id, role, shown, before, after, marked) in enumerate(messages[: others + 1]):
        ranges = search_passages.marked_ranges(shown, marked, prefix)
        limit = PASSAGES_PER_CONVERSATION - others if i == 0 else 1
        found = search_passages.passages(shown, ranges, limit, more_before=before, more_after=after)
        out += [(message_id, role, passage) for passage in found]
    return out
