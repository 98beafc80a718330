"""The vocabulary searches correct typos against, and what keeps it filled: only where the server has pg_trgm.

On a server that lists pg_trgm among its available extensions (and lets this role create it), this creates the
extension, a trigram index over each person's words, a trigger that adds the words of every message once it is
final, and fills the table from the messages already there. Anywhere else (the embedded PostgreSQL has no
contrib extensions) it creates only the empty table, and chat/search_typos.py stays off.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import DatabaseError, migrations, models, transaction

# Words worth correcting: letters only, 3 to 32 of them (chat/search_typos.py asks the same of query words),
# as written (weight A; not stems). The vectors' lexemes are "<owner id>:<lexeme>" (migration 0004).
TERM = "^[0-9]+:([[:alpha:]]{3,32})$"

# The words of the messages already there (bench/search.py runs it too, after loading its corpus).
BACKFILL_SQL = f"""
INSERT INTO chat_searchterm (owner_id, term)
SELECT DISTINCT m.owner_id, substring(v.lexeme FROM '{TERM}')
FROM chat_message m, unnest(m.search_vector) v
WHERE m.owner_id IS NOT NULL AND 'A' = ANY(v.weights) AND v.lexeme ~ '{TERM}'
ON CONFLICT DO NOTHING
"""

TRIGRAM_SQL = [
    # Per person: the owner is part of the index, so a lookup never walks anyone else's words.
    "CREATE INDEX searchterm_trigrams ON chat_searchterm USING gin ((ARRAY[owner_id]), term gin_trgm_ops)",
    f"""
    CREATE FUNCTION novaweb_collect_search_terms() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Streaming replies have no vector yet; a save that leaves the text alone has nothing new.
      IF NEW.search_vector IS NULL OR NEW.owner_id IS NULL
         OR (TG_OP = 'UPDATE' AND OLD.search_vector IS NOT DISTINCT FROM NEW.search_vector) THEN
        RETURN NULL;
      END IF;
      INSERT INTO chat_searchterm (owner_id, term)
      SELECT NEW.owner_id, substring(v.lexeme FROM '{TERM}')
      FROM unnest(NEW.search_vector) v
      WHERE 'A' = ANY(v.weights) AND v.lexeme ~ '{TERM}'
      ON CONFLICT DO NOTHING;
      RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER message_search_terms AFTER INSERT OR UPDATE OF content, state ON chat_message
    FOR EACH ROW EXECUTE FUNCTION novaweb_collect_search_terms()
    """,
    BACKFILL_SQL,
]

DROP_SQL = [
    "DROP TRIGGER IF EXISTS message_search_terms ON chat_message",
    "DROP FUNCTION IF EXISTS novaweb_collect_search_terms()",
    "DROP INDEX IF EXISTS searchterm_trigrams",
]


def add_trigram_support(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')")
        if not cursor.fetchone()[0]:
            return
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError:  # e.g. not allowed to: the fallback stays off, as on a server without it
            return
        for sql in TRIGRAM_SQL:
            cursor.execute(sql)


def remove_trigram_support(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for sql in DROP_SQL:
            cursor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0005_search_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchTerm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('term', models.CharField(max_length=64)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('owner', 'term'), name='searchterm_unique_per_owner')],
            },
        ),
        migrations.RunPython(add_trigram_support, remove_trigram_support),
    ]
