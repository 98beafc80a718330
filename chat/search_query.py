"""What the person typed in the search box, as a PostgreSQL tsquery.

The syntax is `websearch_to_tsquery`'s (words, "exact phrases", -excluded words, OR), which never raises on
any input. On top of it, the last word, while it is still being typed, matches as a prefix: its lexemes in the
websearch query are rewritten (`ts_rewrite`) to prefix lexemes of the word as written and of its stem. Those
are the only tsquery texts built here, from lexemes PostgreSQL itself produced, quoted by `lexeme_literal`.
The query as it was before the rewrite (the last word whole) comes along, for ranking: a result that has the
word as typed ranks above one that only starts with it.
"""

import re
import unicodedata
from dataclasses import dataclass

# The search box allows this many characters; a longer query (only possible by hand) is refused in words.
MAX_QUERY_CHARS = 256
# The word being typed is rewritten lexeme by lexeme (an identifier has several): at most this many.
MAX_PREFIX_LEXEMES = 8

# Dropped from queries: control and format characters, private-use (the highlight delimiters are
# private-use characters), surrogates and unassigned code points.
_DROPPED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn"}


class QueryTooLong(ValueError):
    pass


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # handed to websearch_to_tsquery (after novaweb_fold, in SQL)
    prefix: str  # the word being typed, matched as a prefix; "" when the query ends a word

    @property
    def is_blank(self) -> bool:
        return not self.text.strip(' "-')


# A lexeme in tsquery text output: always single-quoted, quotes inside doubled (operators are never quoted).
_QUOTED_LEXEME = re.compile(r"'((?:[^']|'')*)'")


@dataclass(frozen=True)
class TsQuery:
    text: str  # tsquery text, "" when the query has nothing to look for
    negative_only: bool  # e.g. `-java`: would match every message without the word, so not run
    # The same query with the word being typed taken whole (not as a prefix), "" when nothing was rewritten:
    # whatever matches it also matches `text`, and is ranked by both (chat/search_sql.py, MESSAGES_SQL).
    whole: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.text

    @property
    def lexemes(self) -> list[str]:
        """The query's lexemes (excluded ones too), as text."""
        return [m.group(1).replace("''", "'") for m in _QUOTED_LEXEME.finditer(self.text)]

    def for_owner(self, owner_id: int, text: str | None = None) -> str:
        """The query (or `text`, another tsquery text such as `whole`) as it must read to match `owner_id`'s
        index entries: every lexeme prefixed with the owner's id, as `novaweb_search_document` stores them
        (migration chat 0005)."""
        text = self.text if text is None else text
        return _QUOTED_LEXEME.sub(lambda m: f"'{int(owner_id)}:{m.group(1)}'", text)


def clean(raw: str) -> str:
    """`raw` without characters a query has no use for (whitespace of every kind becomes a space)."""
    out = []
    for ch in raw:
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            out.append(ch)
    return "".join(out)


def parse(raw: str) -> ParsedQuery:
    """Split off the word being typed. It is the last word unless the query ends with a space or a closing
    quote, or the word is an exclusion (`-word`) or the operator OR."""
    if len(raw) > MAX_QUERY_CHARS:
        raise QueryTooLong(f"Search for at most {MAX_QUERY_CHARS} characters.")
    text = clean(raw)
    words = text.split()
    if not words or text.endswith(" "):
        return ParsedQuery(" ".join(words), "")
    last = words[-1]
    word = last.lstrip('"')
    if last.endswith('"') or word.startswith("-") or word.lower() == "or":
        word = ""
    return ParsedQuery(" ".join(words), word)


def lexeme_literal(lexeme: str, prefix: bool = False) -> str:
    """`lexeme` as tsquery input text: quoted, with quotes and backslashes doubled (the tsquery input rules)."""
    quoted = "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + ":*" if prefix else quoted


# Also sets, for the search's own transaction, a statement timeout and no JIT: the planner's cost estimates for
# the windowed candidate scan are huge and would make a server with JIT spend half a second compiling it.
_ANALYSE = """
SELECT set_config('statement_timeout', %(timeout)s, true), set_config('jit', 'off', true),
       websearch_to_tsquery('novaweb_search', novaweb_fold(%(text)s))::text,
       querytree(websearch_to_tsquery('novaweb_search', novaweb_fold(%(text)s))),
       ARRAY(
         SELECT ARRAY[stem.lexeme, exact.lexeme]
         FROM unnest(to_tsvector('novaweb_search', novaweb_fold(%(prefix)s))) stem,
              unnest(to_tsvector('novaweb_exact', novaweb_fold(%(prefix)s))) exact
         WHERE stem.positions && exact.positions
         ORDER BY stem.positions[1]
       )
"""


def to_tsquery(cursor, parsed: ParsedQuery, timeout_ms: int) -> TsQuery:
    """The tsquery for `parsed`, made in the database (one or two statements). Also sets this transaction's
    statement timeout (and JIT off), so it must run inside the search's transaction."""
    cursor.execute(_ANALYSE, {"timeout": str(timeout_ms), "text": parsed.text, "prefix": parsed.prefix})
    _, _, text, tree, pairs = cursor.fetchone()
    if not text:
        return TsQuery("", False)
    if tree == "T":
        return TsQuery(text, True)
    pairs = [(stem, exact) for stem, exact in pairs if stem and exact][:MAX_PREFIX_LEXEMES]
    if not pairs:
        return TsQuery(text, False)
    sql, params = "%s::tsquery", [text]
    for stem, exact in dict(pairs).items():  # one rewrite per lexeme, even if the word repeats one
        substitute = lexeme_literal(exact, prefix=True)
        if stem != exact:
            substitute += " | " + lexeme_literal(stem, prefix=True)
        sql = f"ts_rewrite({sql}, %s::tsquery, %s::tsquery)"
        params += [lexeme_literal(stem), substitute]
    cursor.execute(f"SELECT ({sql})::text", params)
    return TsQuery(cursor.fetchone()[0], False, whole=text)
