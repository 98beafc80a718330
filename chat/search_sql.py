"""The statements a search runs (chat/search.py runs them and says in which order).

Placeholders are named; `{visible_message}` and `{visible_title}` are `EXISTS` conditions made by the ORM from
`search.visible_conversations` (for the row of chat_message, or of chat_conversation, being looked at), and
`{message_dates}`, `{title_dates}` the date filters' conditions (placeholders too): no user text is formatted
in. The visible check is a correlated EXISTS on purpose: whatever join the planner picks for it (its row
estimates for per-person lexemes are poor), each candidate costs one primary-key probe.

A rank is `ts_rank_cd` of the query, plus, while a word is being typed, `ts_rank_cd` of the query with that word
whole (`%(whole)s`, NULL otherwise: the term is then NULL, folded away when the statement is planned). A text
that has the word as typed (`zebra1`) so ranks above one that only starts with it (`zebra12`), other things
equal. The term only ranks rows the index found: what is found, and how, is the same.
"""

# Matching messages of the visible conversations, at most %(candidates)s of them, the newest slices of the
# person's index keys first (search.CANDIDATES says why), each with its rank.
_CANDIDATES = """
slices AS (SELECT (SELECT coalesce(max(id), 0) FROM chat_message) >> 16 AS newest),
windows AS (
  SELECT floor(log(2, newest - slice + 1)) AS age, array_agg(%(owner)s::bigint * 1048576 + slice) AS keys
  FROM slices, generate_series(0, newest) AS slice
  GROUP BY age
),
candidates AS MATERIALIZED (
  SELECT found.* FROM (SELECT keys FROM windows ORDER BY age) window_,
  LATERAL (
    SELECT chat_message.id, chat_message.conversation_id,
           ts_rank_cd(%(weights)s::real[], chat_message.search_vector, %(q)s::tsquery, 1 | 32)
             + coalesce(ts_rank_cd(%(weights)s::real[], chat_message.search_vector, %(whole)s::tsquery, 1 | 32), 0)
             AS rank
    FROM chat_message
    WHERE novaweb_search_keys(chat_message.owner_id, chat_message.id) && window_.keys
      AND chat_message.search_vector @@ %(q)s::tsquery AND {visible_message} {message_dates}
    LIMIT %(candidates)s
  ) found
  LIMIT %(candidates)s
)
"""

# One page of conversations: the candidates grouped by conversation with their best few message ids, plus
# conversations whose title matches; best score first.
MESSAGES_SQL = (
    "WITH"  # noqa: S608 — constants of this module, no user text
    + _CANDIDATES
    + """,
matched AS (
  SELECT conversation_id AS id, max(rank) AS best, count(*) AS matches,
         (array_agg(id ORDER BY rank DESC, id DESC))[1:%(per_conversation)s] AS best_messages
  FROM candidates GROUP BY conversation_id
),
titled AS (
  SELECT chat_conversation.id,
         ts_rank_cd(%(weights)s::real[], chat_conversation.search_vector, %(q)s::tsquery, 32)
           + coalesce(ts_rank_cd(%(weights)s::real[], chat_conversation.search_vector, %(whole)s::tsquery, 32), 0)
           AS rank
  FROM chat_conversation
  WHERE chat_conversation.search_vector @@ %(q)s::tsquery AND {visible_title} {title_dates}
)
SELECT id, coalesce(matched.matches, 0),
       coalesce(matched.best, 0) + coalesce(titled.rank * %(title_bonus)s + %(title_bonus)s, 0)
         + ln(greatest(matched.matches, 1)) * %(more_bonus)s AS score,
       (SELECT count(*) FROM candidates) >= %(candidates)s AS capped,
       coalesce(matched.best_messages, ARRAY[]::bigint[])
FROM matched FULL JOIN titled USING (id)
ORDER BY score DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""
)

# When a search found nothing, how many archived conversations it would have found (`{visible_*}` then only
# admit archived ones): their matching messages' conversations, of at most %(candidates)s candidates, and the
# titles. The same index-driven candidates as a page, only counted.
ARCHIVED_SQL = (
    "WITH"  # noqa: S608 — constants of this module, no user text
    + _CANDIDATES
    + """
SELECT count(*), (SELECT count(*) FROM candidates) >= %(candidates)s
FROM (
  SELECT conversation_id FROM candidates
  UNION
  SELECT chat_conversation.id FROM chat_conversation
  WHERE chat_conversation.search_vector @@ %(q)s::tsquery AND {visible_title} {title_dates}
) found
"""
)

# The same count when only titles are searched.
ARCHIVED_TITLES_SQL = """
SELECT count(*), false FROM chat_conversation
WHERE chat_conversation.search_vector @@ %(q)s::tsquery AND {visible_title} {title_dates}
"""

# The same page when only titles are searched.
TITLES_SQL = """
SELECT chat_conversation.id, 0,
       ts_rank_cd(%(weights)s::real[], chat_conversation.search_vector, %(q)s::tsquery, 32)
         + coalesce(ts_rank_cd(%(weights)s::real[], chat_conversation.search_vector, %(whole)s::tsquery, 32), 0)
         AS score,
       false, ARRAY[]::bigint[]
FROM chat_conversation
WHERE chat_conversation.search_vector @@ %(q)s::tsquery AND {visible_title} {title_dates}
ORDER BY score DESC, chat_conversation.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""

# The best messages of the conversations on the page, highlighted. ts_headline reads all the text it is given,
# so it gets a window of HIGHLIGHT_WINDOW characters: from a little before the first place a word of the query
# occurs (strpos of its lexemes in the text, or in the folded text when accents hide it: cheap, and close
# enough — ts_headline decides what really matches). It runs on the folded window (what the index holds) with
# the private-use delimiters blanked out; the same window of the original (NFC) text comes along to be shown.
# (OFFSET 0 keeps each step computed once per row, not once per mention.)
HEADLINE_SQL = """
SELECT id, role, shown, start > 1, more,
       ts_headline('novaweb_search', translate(novaweb_fold(shown), %(delimiters)s, '  '), %(plain_q)s::tsquery,
                   %(options)s)
FROM (
  SELECT id, role, substr(text, start, %(window)s) AS shown, start, start - 1 + %(window)s < length(text) AS more
  FROM (
    SELECT id, role, text,
           greatest(1, coalesce(
             (SELECT min(nullif(strpos(lower(text), lexeme), 0)) FROM unnest(%(lexemes)s::text[]) AS lexeme),
             (SELECT min(nullif(strpos(lower(novaweb_fold(text)), lexeme), 0)) FROM unnest(%(lexemes)s::text[]) AS lexeme),
             1) - %(lead)s) AS start
    FROM (
      SELECT m.id, m.role, normalize(left(m.content, %(chars)s), NFC) AS text
      FROM chat_message m
      WHERE m.id = ANY(%(messages)s) AND m.owner_id = %(owner)s
      OFFSET 0
    ) m
    OFFSET 0
  ) placed
  OFFSET 0
) windowed
"""

# The conversations on the page, with their titles highlighted.
CONVERSATIONS_SQL = """
SELECT c.id, c.title, c.model, c.updated_at, c.archived_at, normalize(c.title, NFC) AS title_shown,
       ts_headline('novaweb_search', translate(novaweb_fold(normalize(c.title, NFC)), %(delimiters)s, '  '),
                   %(plain_q)s::tsquery, %(options)s) AS title_marked
FROM chat_conversation c
WHERE c.id = ANY(%(ids)s) AND c.owner_id = %(owner)s
"""
