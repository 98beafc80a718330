"""A synthetic but realistic chat corpus for bench/search.py, written straight into PostgreSQL with COPY.

Messages alternate between a person's question (a sentence or three) and a model's answer (prose of very
varied length, Markdown lists and headings, fenced code with snake_case, camelCase and dotted identifiers,
paths and URLs). About one message in ten is French, German or Spanish, with their accents. Words follow a
Zipf distribution over a vocabulary of common English and technical words plus a long tail of made-up
names, so some words are in a third of the messages and most in a handful.

Everything is seeded: the same arguments make the same corpus.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass


def words(text: str) -> list[str]:
    return text.split()


COMMON = words("""
the be to of and a in that have it for not on with he as you do at this but his by from they we say her she
or an will my one all would there their what so up out if about who get which go me when make can like time
no just him know take people into year your good some could them see other than then now look only come its
over think also back after use two how our work first well way even new want because any these give day most
us is are was were been has had did does made said used found need help file data code value list error line
question answer problem change test result case point number part place thing system group set order show
different small large long great little own old right big high important few public same able early young
find tell ask seem feel try leave call keep let begin start run move live believe hold bring happen write
provide sit stand lose pay meet include continue learn lead understand watch follow stop create speak read
allow add spend grow open walk win offer remember love consider appear buy wait serve die send expect build
stay fall cut reach kill remain suggest raise pass sell require report decide pull explain note example
simple clear quick easy hard possible likely instead rather already still often never always usually maybe
perhaps really actually probably simply exactly especially finally currently recently together however
""")
TECH = words("""
function database server client request response query index table column schema migration model view
template partial session cookie token header payload endpoint websocket stream buffer cache queue worker
thread process memory latency throughput benchmark deploy container kubernetes docker image volume network
socket protocol encryption certificate password secret credential permission role account invoice payment
webhook callback promise async await generator iterator decorator closure lambda regex parser compiler
runtime interpreter bytecode debugger breakpoint stacktrace exception traceback logging metrics dashboard
python javascript typescript django postgres postgresql redis nginx linux kernel filesystem directory
variable constant parameter argument return boolean integer string float array dictionary tuple object class
method interface module package dependency version release branch commit merge rebase repository pipeline
refactor optimize transaction rollback deadlock isolation replica backup restore snapshot shard partition
tokenizer embedding vector prompt completion temperature sampling inference gradient tensor matrix dataset
""")
FRENCH = words("""
le la les un une des et est être avoir pour dans avec sur pas plus très bien aussi comme mais ou donc car
café résumé élève déjà où à été même fenêtre château garçon français façon leçon reçu naïve noël hôtel
théâtre forêt tâche problème requête réponse données système fichier serveur créer modèle événement
sécurité paramètre vérifier répertoire clé mémoire première dernière général spécial réseau accès
""")
GERMAN = words("""
der die das und ist nicht ein eine mit für auf sich auch als noch wie aber nach bei aus wenn nur
über für schön grün größe straße müssen können würde möchte später früher zurück natürlich ähnlich
prüfen lösung schlüssel benutzer datenbank fehler anfrage antwort größer übersicht änderung ausführen
""")
SPANISH = words("""
el la los las un una y es en que de por con para no se lo como más pero sus le ya o este
mañana niño año señor está también además según qué cómo dónde información configuración función
aplicación conexión búsqueda página código número rápido fácil difícil último después método
""")
FOLDERS = ["Work", "Research", "Personal", "Archive 2025"]
MODELS = [
    "gpt-4o",
    "llama-3.3-70b-versatile",
    "novakit-pro",
    "mistral-large",
    "qwen2.5-coder-32b",
    "novita-r1",
]
SYLLABLES = words(
    "ka ve lor tin mar sel dor an re qui zo pel vin tra mo sur ex ly fen gar bri col dun oth ri ta"
)
FENCE_LANGS = ["python", "javascript", "sql", "bash", "typescript", "go"]


@dataclass(frozen=True)
class Shape:
    users: int = 100
    conversations: int = 50_000
    messages: int = 1_000_000
    target_messages: int = 100_000  # the searching user's share


def zipf_weights(n: int, s: float = 1.05) -> list[float]:
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


class Words:
    """Word samplers: English + technical words with a long tail of made-up names, and three other languages."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        tail = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(60_000)})
        rng.shuffle(tail)
        self.english = COMMON + TECH + tail
        self.cum_english = list(itertools.accumulate(zipf_weights(len(self.english))))
        self.tail = tail
        self.foreign = {lang: words for lang, words in (("fr", FRENCH), ("de", GERMAN), ("es", SPANISH))}

    def english_words(self, k: int) -> list[str]:
        return self.rng.choices(self.english, cum_weights=self.cum_english, k=k)

    def identifier(self) -> str:
        parts = [w for w in self.english_words(4) if w.isalpha()][: self.rng.randint(2, 3)] or [
            "value",
            "name",
        ]
        style = self.rng.random()
        if style < 0.45:
            return "_".join(parts)
        if style < 0.8:
            return parts[0] + "".join(p.capitalize() for p in parts[1:])
        return ".".join(parts) + "()"


class Corpus:
    """Pools of sentences, code blocks and foreign sentences; messages are drawn from them (plus a few fresh
    words and identifiers each), which keeps generating a million messages to a few seconds a hundred
    thousand."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.words = Words(self.rng)
        self.sentences = [self._sentence() for _ in range(40_000)]
        self.foreign = {
            lang: [self._foreign_sentence(lang) for _ in range(3_000)] for lang in ("fr", "de", "es")
        }
        self.code = [self._code_block() for _ in range(4_000)]

    def _sentence(self) -> str:
        words = self.words.english_words(self.rng.randint(5, 22))
        if self.rng.random() < 0.15:
            words[self.rng.randrange(len(words))] = f"`{self.words.identifier()}`"
        text = " ".join(words)
        return text[0].upper() + text[1:] + self.rng.choice([".", ".", ".", "?", "!", ":"])

    def _foreign_sentence(self, lang: str) -> str:
        words = self.rng.choices(self.words.foreign[lang], k=self.rng.randint(5, 16))
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def _code_block(self) -> str:
        lang = self.rng.choice(FENCE_LANGS)
        lines = []
        for _ in range(self.rng.randint(3, 18)):
            ident = self.words.identifier()
            kind = self.rng.random()
            if kind < 0.3:
                lines.append(
                    f"def {ident.rstrip('()').replace('.', '_')}(request, {self.words.identifier()}):"
                )
            elif kind < 0.55:
                lines.append(f"    {ident.rstrip('()').replace('.', '_')} = {self.words.identifier()}")
            elif kind < 0.7:
                lines.append(f'    path = "src/{self.words.english_words(1)[0]}/{ident.split(".")[0]}.py"')
            elif kind < 0.8:
                lines.append(f"    # see https://docs.example.com/{self.words.english_words(1)[0]}/{ident}")
            else:
                lines.append(f"    return {ident} if {self.words.identifier()} else None")
        return f"```{lang}\n" + "\n".join(lines) + "\n```"

    def title(self) -> str:
        words = [w for w in self.words.english_words(8) if len(w) > 3][: self.rng.randint(2, 5)]
        return " ".join(words).capitalize() or "Untitled"

    def question(self) -> str:
        rng = self.rng
        if rng.random() < 0.1:
            return " ".join(rng.choices(self.foreign[rng.choice(("fr", "de", "es"))], k=rng.randint(1, 2)))
        parts = rng.choices(self.sentences, k=rng.randint(1, 3))
        if rng.random() < 0.3:
            parts.append(f"What about `{self.words.identifier()}` and {rng.choice(self.words.tail)}?")
        return " ".join(parts)

    def answer(self) -> str:
        rng = self.rng
        if rng.random() < 0.1:
            lang = rng.choice(("fr", "de", "es"))
            return " ".join(rng.choices(self.foreign[lang], k=rng.randint(2, 12)))
        # Lengths from a few words to several pages: log-normal number of sentences.
        n = max(1, min(120, int(rng.lognormvariate(1.6, 0.9))))
        blocks, sentences = [], rng.choices(self.sentences, k=n)
        i = 0
        while i < n:
            take = rng.randint(1, 5)
            chunk = sentences[i : i + take]
            style = rng.random()
            if style < 0.12:
                blocks.append("\n".join(f"- {s}" for s in chunk))
            elif style < 0.18:
                blocks.append(f"## {self.title()}\n\n" + " ".join(chunk))
            else:
                blocks.append(" ".join(chunk))
            i += take
            if rng.random() < 0.12:
                blocks.append(rng.choice(self.code))
        # A few words seen almost nowhere else: names, ids, the long tail.
        blocks.append(
            f"{rng.choice(self.words.tail).capitalize()} {rng.choice(self.words.tail)} #{rng.randint(1, 99999)}."
        )
        return "\n\n".join(blocks)


def plan(shape: Shape, rng: random.Random) -> list[tuple[int, int]]:
    """(user index, message count) per conversation: user 0 holds `target_messages` in a tenth of the
    conversations; the rest share the remainder."""
    target_convs = shape.conversations * shape.target_messages // shape.messages
    other_convs = shape.conversations - target_convs
    out = []
    for users, convs, total in (
        ([0], target_convs, shape.target_messages),
        (list(range(1, shape.users)), other_convs, shape.messages - shape.target_messages),
    ):
        # Conversation lengths vary (2 to ~80 messages) and add up to the total exactly.
        lengths = [max(2, int(rng.expovariate(1 / (total / convs)))) for _ in range(convs)]
        scale = total / sum(lengths)
        lengths = [max(1, round(n * scale)) for n in lengths]
        lengths[-1] += total - sum(lengths)
        while lengths[-1] < 1:  # rounding overshot: take the excess from the longest
            longest = max(range(convs), key=lengths.__getitem__)
            lengths[longest] -= 1
            lengths[-1] += 1
        out += [(users[i % len(users)], n) for i, n in enumerate(lengths)]
    return out


def write_messages(
    conn, corpus: Corpus, conversations, first_conversation: int, first_message: int, now, seed
):
    """COPY the messages of `conversations` (numbered from `first_conversation`); returns the conversation rows
    to write afterwards. Runs in its own thread and connection: parsing the text into tsvectors is what
    takes the time, and PostgreSQL does it in the connection's backend."""
    rng = random.Random(seed)
    corpus.rng = corpus.words.rng = rng  # this thread's own draws (the pools are shared, read-only)
    rows, message_id, span = [], first_message, dt.timedelta(days=730)
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # a bench database: no FK checks while loading
        with cur.copy(
            "COPY chat_message (id, conversation_id, owner_id, parent_id, role, content, state, model, params,"
            " usage_reported, usage_extra, images, choices, finish_reason, error, created_at, updated_at) FROM STDIN"
        ) as copy:
            for cid, (u, count) in enumerate(conversations, first_conversation):
                start = now - span * rng.random()
                model = rng.choice(MODELS)
                parent, at = None, start
                for k in range(count):
                    message_id += 1
                    assistant = k % 2 == 1
                    text = corpus.answer() if assistant else corpus.question()
                    at += dt.timedelta(seconds=rng.randint(5, 600))
                    copy.write_row((
                        message_id, cid, u + 1, parent, "assistant" if assistant else "user", text, "done",
                        model if assistant else "", "{}", assistant, "{}", "[]", "[]",
                        "stop" if assistant else "", "", at, at,
                    ))  # fmt: skip
                    parent = message_id
                rows.append((cid, u, model, parent, start, at))
    conn.commit()
    return rows


def load(connect, shape: Shape, *, seed: int = 7, workers: int = 2, log=print) -> dict:
    """Write users, folders, conversations and messages into a migrated, empty database; `connect()` opens a
    psycopg connection. Returns what the bench needs to know about the corpus."""
    import threading

    now = dt.datetime.now(dt.UTC)
    corpus = Corpus(seed)
    rng = random.Random(seed + 1)
    conversations = plan(shape, rng)
    rng.shuffle(conversations)  # the searching user's conversations interleaved with everyone else's
    with connect() as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY accounts_user (id, password, is_superuser, username, first_name, last_name, email, is_staff,"
            " is_active, date_joined, role) FROM STDIN"
        ) as copy:
            for u in range(shape.users):
                copy.write_row((u + 1, "!", False, f"bench{u}", "", "", "", False, True, now, "member"))
        with cur.copy("COPY chat_folder (id, owner_id, name, created_at) FROM STDIN") as copy:
            for u in range(shape.users):
                for k, name in enumerate(FOLDERS):
                    copy.write_row((u * len(FOLDERS) + k + 1, u + 1, name, now))
    log(
        f"  {shape.users} users; {len(conversations)} conversations, {shape.messages} messages in {workers} connections …"
    )
    # Each worker takes a contiguous run of conversations and of message ids.
    chunks, start, first_message = [], 0, 0
    for w in range(workers):
        end = len(conversations) * (w + 1) // workers
        part = conversations[start:end]
        chunks.append((part, start + 1, first_message))
        first_message += sum(n for _, n in part)
        start = end
    results: list = [None] * workers
    errors: list = []

    def work(index: int) -> None:
        part, first_conv, first_msg = chunks[index]
        try:
            with connect() as conn:
                results[index] = write_messages(
                    conn, copy_of(corpus), part, first_conv, first_msg, now, seed + 10 + index
                )
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    rows = [row for part in results for row in part]
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        with cur.copy(
            "COPY chat_conversation (id, owner_id, title, model, params, mode, current_leaf_id, folder_id,"
            " archived_at, deleted_at, created_at, updated_at) FROM STDIN"
        ) as copy:
            for cid, u, model, leaf, started, at in rows:
                archived = at if rng.random() < 0.1 else None
                deleted = at if rng.random() < 0.01 else None
                folder = u * len(FOLDERS) + rng.randrange(len(FOLDERS)) + 1 if rng.random() < 0.3 else None
                copy.write_row(
                    (
                        cid,
                        u + 1,
                        corpus.title(),
                        model,
                        "{}",
                        "chat",
                        leaf,
                        folder,
                        archived,
                        deleted,
                        started,
                        at,
                    )
                )
        for table in ("accounts_user", "chat_folder", "chat_conversation", "chat_message"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    return {"target_user_id": 1, "messages": first_message, "conversations": len(rows), "corpus": corpus}


def copy_of(corpus: Corpus) -> Corpus:
    """The same pools with a random generator of its own (for a worker thread)."""
    twin = object.__new__(Corpus)
    twin.__dict__.update(corpus.__dict__)
    twin.words = object.__new__(Words)
    twin.words.__dict__.update(corpus.words.__dict__)
    return twin
