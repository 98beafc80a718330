"""Near misses: when a search finds nothing, its words are corrected against the person's own vocabulary.

The vocabulary (`SearchTerm`: one row per person and word of their messages) and its trigram index exist only
where the server has pg_trgm (migration chat 0005 creates the extension when it is available, and a trigger
that fills the table). Elsewhere — the embedded PostgreSQL — nothing here runs and an empty search says so.
Only the person's own words are candidates, so a correction can never reveal what someone else wrote.
"""

import re

from django.db import connection

from chat.search_query import ParsedQuery

# A word is corrected to the vocabulary's most similar word, if at least this similar (pg_trgm similarity).
MIN_SIMILARITY = 0.3
MAX_WORDS = 8

_available: dict[str, bool] = {}

# Words worth correcting: letters only (identifiers and numbers are rarely misspelt the same way twice).
_WORD = re.compile(r"^[^\W\d_]{3,32}$")
_WORD_TOKEN = re.compile(r'[^\s"]+')


def available() -> bool:
    """Whether this database has pg_trgm and the vocabulary index (checked once per process and database)."""
    key = connection.settings_dict["NAME"] or ""
    if key not in _available:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')"
                " AND to_regclass('searchterm_trigrams') IS NOT NULL"
            )
            _available[key] = cursor.fetchone()[0]
    return _available[key]


CORRECT_SQL = """
SELECT word,
       (SELECT t.term FROM chat_searchterm t
        WHERE ARRAY[t.owner_id] @> ARRAY[%(owner)s]::bigint[] AND t.term %% word
          AND similarity(t.term, word) >= %(min)s
        ORDER BY similarity(t.term, word) DESC, t.term
        LIMIT 1)
FROM unnest(%(words)s::text[]) AS word
WHERE NOT EXISTS (SELECT 1 FROM chat_searchterm t WHERE t.owner_id = %(owner)s AND t.term = word)
"""


def correct(cursor, user, parsed: ParsedQuery) -> str:
    """`parsed`'s text with its unknown words replaced by the closest words of `user`'s vocabulary, or "" when
    there is nothing to correct (or no pg_trgm)."""
    if not available():
        return ""
    tokens = _WORD_TOKEN.findall(parsed.text)
    words, folded = [], {}
    cursor.execute(
        "SELECT w, lower(novaweb_fold(w)) FROM unnest(%s::text[]) AS w",
        [[t for t in tokens if _WORD.match(t) and t.lower() != "or"][:MAX_WORDS]],
    )
    for word, fold in cursor.fetchall():
        folded[word] = fold
        words.append(fold)
    if not words:
        return ""
    cursor.execute(CORRECT_SQL, {"owner": user.pk, "words": words, "min": MIN_SIMILARITY})
    fixes = {word: term for word, term in cursor.fetchall() if term and term != word}
    if not fixes:
        return ""
    return _WORD_TOKEN.sub(lambda m: fixes.get(folded.get(m.group(), ""), m.group()), parsed.text)
