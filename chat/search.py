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
   searches again.
"""

import datetime as dt
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
from chat.search_sql import CONVERSATIONS_SQL, HEADLINE_SQL, MESSAGES_SQL, TITLES_SQL

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

    @property
    def next_page(self) -> int:
        return self.page + 1


def visible_conversations(user, filters: Filters = Filters()):
    """The conversations a search may look at: `user`'s own, never one being deleted, narrowed by `filters`."""
    conversations = Conversation.objects.for_user(user).filter(deleted_at__isnull=True)
    if not filters.include_archived:
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
    if parsed.is_blank:
        return results
    if page > MAX_PAGE:
        results.problem = "That is as far as a search goes: try more words or a filter."
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
                    tsquery = search_query.to_tsquery(cursor, again, TIMEOUT_MS)
                    if tsquery.text and not tsquery.negative_only:
                        _run(cursor, user, tsquery, again.prefix, filters, results)
                        results.corrected = corrected if results.hits else ""
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


def _visible_check(user, filters: Filters, model, outer: str) -> tuple[str, list]:
    """`EXISTS (the row's conversation is visible)` as SQL for a statement over `model`'s table (unaliased),
    made by the ORM from `visible_conversations`: the invariant's one definition."""
    query = model.objects.all().query
    exists = Exists(visible_conversations(user, filters).filter(pk=OuterRef(outer)))
    return query.get_compiler(connection=connection).compile(exists.resolve_expression(query))


def _named(sql: str, values, prefix: str) -> tuple[str, dict]:
    """ORM SQL with positional placeholders turned into named ones (the statements here use names)."""
    names = iter(f"{prefix}{i}" for i in range(len(values)))
    sql = _PLACEHOLDER.sub(lambda m: "%%" if m.group(1) == "%" else f"%({next(names)})s", sql)
    return sql, {f"{prefix}{i}": value for i, value in enumerate(values)}


def _run(cursor, user, tsquery, prefix: str, filters: Filters, results: Results) -> None:
    visible_message, params = _named(*_visible_check(user, filters, Message, "conversation_id"), "vm")
    visible_title, title_params = _named(*_visible_check(user, filters, Conversation, "pk"), "vt")
    params.update(title_params)
    low, high = _date_bounds(filters)
    message_dates = (" AND chat_message.created_at >= %(low)s" if low else "") + (
        " AND chat_message.created_at < %(high)s" if high else ""
    )
    title_dates = (" AND chat_conversation.updated_at >= %(low)s" if low else "") + (
        " AND chat_conversation.updated_at < %(high)s" if high else ""
    )
    indexed_q = tsquery.for_owner(user.pk)
    params.update(
        q=indexed_q,
        whole=tsquery.for_owner(user.pk, tsquery.whole) if tsquery.whole else None,
        owner=user.pk,
        candidates=CANDIDATES,
        low=low,
        high=high,
        title_bonus=TITLE_BONUS,
        more_bonus=MORE_MATCHES_BONUS,
        weights=RANK_WEIGHTS,
        per_conversation=PASSAGES_PER_CONVERSATION,
        limit=PER_PAGE + 1,
        offset=(results.page - 1) * PER_PAGE,
    )
    template = TITLES_SQL if filters.title_only else MESSAGES_SQL
    cursor.execute(
        template.format(
            visible_message=visible_message,
            visible_title=visible_title,
            message_dates=message_dates,
            title_dates=title_dates,
        ),
        params,
    )
    rows = cursor.fetchall()
    results.has_more = len(rows) > PER_PAGE
    results.capped = bool(rows) and rows[0][3]
    rows = rows[:PER_PAGE]
    results.hits = []
    if not rows:
        return
    ids = [row[0] for row in rows]
    common = {
        "q": indexed_q,
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
