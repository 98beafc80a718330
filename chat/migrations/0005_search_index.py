"""Search: the owner of each message, accent folding and identifier splitting in SQL, two text search
configurations, and the generated tsvector columns with their GIN indexes. chat/search.py says how they are
queried; docs/architecture.md ("Search") why they are shaped so.

- `novaweb_fold(text)` maps every character to exactly one character, so a highlighted folded text lines up
  with the original character for character: NFC first, then letters with diacritics to their base letter
  (FOLD_BLOCKS: each Latin or Greek letter whose canonical decomposition is a base letter plus combining
  marks, and ø đ ł ħ ı ŧ ƀ), `<` to a space (no tags: the parser would drop the words inside them), and `_`
  between a letter or digit and a letter, `.` between two letters, to `-`: `snake_case_name` and
  `os.path.join` then parse as hyphenated words, indexed whole and by their parts.
- `novaweb_search` is `english` (stems, stop words) with hyphenated words kept whole as written;
  `novaweb_exact` indexes words as written (English stop words dropped): prefixes typed in the search box
  match those.
- `novaweb_search_document(text, owner, chars)` is what the generated columns hold: both parses of the folded
  text (its first `chars` characters; the words as written with weight A), every lexeme prefixed with the
  owner's id (`42:python`). The GIN index then holds each person's words apart: a lookup, and a prefix's
  expansion, only ever walks the searching person's own entries.
- `Message.owner` is the conversation's owner, set by a trigger on insert (and kept if a conversation ever
  changed hands), so the index can key on it.
- `novaweb_search_keys(owner, id)`: one key per person and slice of 65,536 consecutive message ids, beside the
  vector in the message index, so a search can take the newest matches first.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (characters that may need folding, letters, their base letters), one Unicode block each: translate() is
# linear in its character list per character of text, so a text pays only for the blocks it uses.
FOLD_BLOCKS = [
    ("À-ÿ", "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿ", "AAAAAACEEEEIIIINOOOOOOUUUUYaaaaaaceeeeiiiinoooooouuuuyy"),  # U+00C0–U+00FF, 55 letters
    ("Ā-ſ", "ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĴĵĶķĹĺĻļĽľŁłŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽž", "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiJjKkLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZz"),  # U+0100–U+017F, 117 letters
    ("ƀ-ɏ", "ƀƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǢǣǦǧǨǩǪǫǬǭǮǯǰǴǵǸǹǺǻǼǽǾǿȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ", "bOoUuAaIiOoUuUuUuUuUuAaAaÆæGgKkOoOoƷʒjGgNnAaÆæOoAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy"),  # U+0180–U+024F, 92 letters
    ("Ḁ-ỿ", "ḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẛẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ", "AaBbBbBbCcDdDdDdDdDdEeEeEeEeEeFfGgHhHhHhHhHhIiIiKkKkKkLlLlLlLlMmMmMmNnNnNnNnOoOoOoOoPpPpRrRrRrRrSsSsSsSsSsTtTtTtTtUuUuUuUuUuVvVvWwWwWwWwWwXxXxYyZzZzZzhtwyſAaAaAaAaAaAaAaAaAaAaAaAaEeEeEeEeEeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUuUuYyYyYyYy"),  # U+1E00–U+1EFF, 245 letters
    ("Ͱ-Ͽ", "ΆΈΉΊΌΎΏΐΪΫάέήίΰϊϋόύώϓϔ", "ΑΕΗΙΟΥΩιΙΥαεηιυιυουωϒϒ"),  # U+0370–U+03FF, 22 letters
    ("ἀ-῿", "ἀἁἂἃἄἅἆἇἈἉἊἋἌἍἎἏἐἑἒἓἔἕἘἙἚἛἜἝἠἡἢἣἤἥἦἧἨἩἪἫἬἭἮἯἰἱἲἳἴἵἶἷἸἹἺἻἼἽἾἿὀὁὂὃὄὅὈὉὊὋὌὍὐὑὒὓὔὕὖὗὙὛὝὟὠὡὢὣὤὥὦὧὨὩὪὫὬὭὮὯὰάὲέὴήὶίὸόὺύὼώᾀᾁᾂᾃᾄᾅᾆᾇᾈᾉᾊᾋᾌᾍᾎᾏᾐᾑᾒᾓᾔᾕᾖᾗᾘᾙᾚᾛᾜᾝᾞᾟᾠᾡᾢᾣᾤᾥᾦᾧᾨᾩᾪᾫᾬᾭᾮᾯᾰᾱᾲᾳᾴᾶᾷᾸᾹᾺΆᾼῂῃῄῆῇῈΈῊΉῌῐῑῒΐῖῗῘῙῚΊῠῡῢΰῤῥῦῧῨῩῪΎῬῲῳῴῶῷῸΌῺΏῼ", "ααααααααΑΑΑΑΑΑΑΑεεεεεεΕΕΕΕΕΕηηηηηηηηΗΗΗΗΗΗΗΗιιιιιιιιΙΙΙΙΙΙΙΙοοοοοοΟΟΟΟΟΟυυυυυυυυΥΥΥΥωωωωωωωωΩΩΩΩΩΩΩΩααεεηηιιοουυωωααααααααΑΑΑΑΑΑΑΑηηηηηηηηΗΗΗΗΗΗΗΗωωωωωωωωΩΩΩΩΩΩΩΩαααααααΑΑΑΑΑηηηηηΕΕΗΗΗιιιιιιΙΙΙΙυυυυρρυυΥΥΥΥΡωωωωωΟΟΩΩΩ"),  # U+1F00–U+1FFF, 217 letters
]

FOLD_SQL = """
CREATE FUNCTION novaweb_fold(t text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  IF t ~ '[^\\x01-\\x7f]' THEN
    t := normalize(t, NFC);
%s
  END IF;
  t := replace(t, '<', ' ');
  t := regexp_replace(t, '(?<=[[:alnum:]])_(?=[[:alpha:]])', '-', 'g');
  RETURN regexp_replace(t, '(?<=[[:alpha:]])\\.(?=[[:alpha:]])', '-', 'g');
END
$$
""" % "\n".join(
    f"    IF t ~ '[{chars}]' THEN t := translate(t, '{letters}', '{bases}'); END IF;"
    for chars, letters, bases in FOLD_BLOCKS
)

CREATE_SQL = [
    FOLD_SQL,
    "CREATE TEXT SEARCH CONFIGURATION novaweb_search (COPY = pg_catalog.english)",
    "ALTER TEXT SEARCH CONFIGURATION novaweb_search ALTER MAPPING FOR asciihword, hword, numhword WITH simple",
    "CREATE TEXT SEARCH DICTIONARY novaweb_exact_words (TEMPLATE = pg_catalog.simple, STOPWORDS = english)",
    "CREATE TEXT SEARCH CONFIGURATION novaweb_exact (COPY = novaweb_search)",
    """
    ALTER TEXT SEARCH CONFIGURATION novaweb_exact
    ALTER MAPPING FOR asciiword, word, numword, hword_asciipart, hword_part, hword_numpart WITH novaweb_exact_words
    """,
    # The words as written weigh "A" (the vocabulary of typo corrections takes those; ranking weighs A and D
    # alike). The owner goes in front of each lexeme in the vector's text form, where every lexeme is quoted.
    """
    CREATE FUNCTION novaweb_search_document(t text, owner bigint, chars integer) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
      SELECT regexp_replace(
               (to_tsvector('novaweb_search', f) || setweight(to_tsvector('novaweb_exact', f), 'A'))::text,
               $re$'((?:[^']|'')*)'$re$, $to$'$to$ || owner || $to$:\\1'$to$, 'g')::tsvector
      FROM (SELECT left(novaweb_fold(t), chars) AS f) folded
    $$
    """,
    """
    CREATE FUNCTION novaweb_search_keys(owner bigint, id bigint) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT ARRAY[owner * 1048576 + (id >> 16)] $$
    """,
]
DROP_SQL = [
    "DROP FUNCTION novaweb_search_keys(bigint, bigint)",
    "DROP FUNCTION novaweb_search_document(text, bigint, integer)",
    "DROP TEXT SEARCH CONFIGURATION novaweb_exact",
    "DROP TEXT SEARCH DICTIONARY novaweb_exact_words",
    "DROP TEXT SEARCH CONFIGURATION novaweb_search",
    "DROP FUNCTION novaweb_fold(text)",
]

OWNER_SQL = [
    """
    CREATE FUNCTION novaweb_message_owner() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.owner_id := (SELECT owner_id FROM chat_conversation WHERE id = NEW.conversation_id);
      RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER message_owner BEFORE INSERT OR UPDATE OF conversation_id, owner_id ON chat_message
    FOR EACH ROW EXECUTE FUNCTION novaweb_message_owner()
    """,
    """
    CREATE FUNCTION novaweb_conversation_owner() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE chat_message SET owner_id = NEW.owner_id WHERE conversation_id = NEW.id;
      RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER conversation_owner AFTER UPDATE OF owner_id ON chat_conversation
    FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION novaweb_conversation_owner()
    """,
    "UPDATE chat_message m SET owner_id = c.owner_id FROM chat_conversation c WHERE c.id = m.conversation_id",
]
OWNER_DROP_SQL = [
    "DROP TRIGGER conversation_owner ON chat_conversation",
    "DROP FUNCTION novaweb_conversation_owner()",
    "DROP TRIGGER message_owner ON chat_message",
    "DROP FUNCTION novaweb_message_owner()",
]


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0004_organise_sidebar'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(CREATE_SQL, DROP_SQL),
        migrations.AlterModelOptions(
            name='message',
            options={'base_manager_name': 'objects', 'ordering': ['created_at', 'id']},
        ),
        migrations.AddField(
            model_name='message',
            name='owner',
            field=models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunSQL(OWNER_SQL, OWNER_DROP_SQL),
        migrations.AddField(
            model_name='conversation',
            name='search_vector',
            field=models.GeneratedField(db_persist=True, expression=models.Func(models.F('title'), models.F('owner'), models.Value(200), function='novaweb_search_document', output_field=django.contrib.postgres.search.SearchVectorField()), output_field=django.contrib.postgres.search.SearchVectorField()),
        ),
        migrations.AddField(
            model_name='message',
            name='search_vector',
            field=models.GeneratedField(db_persist=True, expression=models.Case(models.When(state='streaming', then=models.Value(None)), default=models.Func(models.F('content'), models.F('owner'), models.Value(100000), function='novaweb_search_document', output_field=django.contrib.postgres.search.SearchVectorField()), output_field=django.contrib.postgres.search.SearchVectorField()), output_field=django.contrib.postgres.search.SearchVectorField()),
        ),
        migrations.AddIndex(
            model_name='conversation',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='conversation_search'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=django.contrib.postgres.indexes.GinIndex(models.Func(models.F('owner'), models.F('id'), function='novaweb_search_keys', output_field=django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)), models.F('search_vector'), name='message_search'),
        ),
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(condition=models.Q(('deleted_at__isnull', True)), fields=['owner'], include=('id', 'archived_at'), name='conversation_owner_live'),
        ),
    ]
