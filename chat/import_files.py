"""Reading an uploaded file into JSON documents, within bounds: the upload's size, what a zip may expand to
(zip bombs), how many files it holds and what they are named, the encoding, and the JSON itself.

Nothing here knows the formats; `chat.imports` hands each document to its reader.
"""

import codecs
import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings

from chat.import_tree import ImportRejected

MAX_ZIP_ENTRIES = 20_000
# Parsing makes a Python object of every value, many times the bytes it came from. A real export of the
# largest size allowed holds far fewer of these (a ChatGPT message node is a KB or two of JSON).
MAX_JSON_CONTAINERS = 2_000_000
MAX_JSON_STRINGS = 4_000_000
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20


@dataclass
class Document:
    name: str  # how errors name it: "" for the uploaded file itself, else its path in the zip
    data: object  # the parsed JSON
    novaweb_only: bool = False  # a file of a NovaWeb export zip: nothing else belongs there


def max_bytes() -> int:
    """The largest upload, and the most its JSON may expand to once unzipped (NOVAWEB_IMPORT_MAX_MB)."""
    return settings.NOVAWEB_IMPORT_MAX_MB * 1024 * 1024


def read_upload(upload) -> Iterator[Document]:
    """The JSON documents of an upload, one at a time: the file itself, or from a zip either ChatGPT's
    conversations.json or every .json file of a NovaWeb export (its index aside)."""
    limit = max_bytes()
    size = getattr(upload, "size", None)
    if size is None or size > limit:
        size_text = f"{size / 1024 / 1024:,.1f} MB" if size is not None else "of unknown size"
        raise ImportRejected(f"The file is {size_text}; the limit is {settings.NOVAWEB_IMPORT_MAX_MB} MB.")
    if size == 0:
        raise ImportRejected("The file is empty.")
    upload.seek(0)
    is_zip = upload.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
    upload.seek(0)
    if not is_zip:
        yield Document("", parse_json(upload.read(), "The file"))
        return
    yield from _zip_documents(upload, limit)


def parse_json(data: bytes, where: str):
    """JSON from UTF-8 bytes (a byte-order mark allowed), with errors a person can act on."""
    # Count the values that cost most (objects, lists, strings) first: a file of millions of tiny ones is
    # refused before Python builds them.
    if data.count(b"{") + data.count(b"[") > MAX_JSON_CONTAINERS or data.count(b'"') // 2 > MAX_JSON_STRINGS:
        raise ImportRejected(f"{where} holds millions of tiny values; that is not a conversation export.")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"{where} is not UTF-8 text (byte {exc.start:,} cannot be read).") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ImportRejected(f"{where} is nested too deeply to be a conversation export.") from None
    except json.JSONDecodeError as exc:
        raise ImportRejected(
            f"{where} is not valid JSON: {exc.msg} (line {exc.lineno:,}, column {exc.colno:,})."
        ) from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ImportRejected(f"{where} is not valid JSON: {exc}.") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _zip_documents(upload, limit: int) -> Iterator[Document]:
    try:
        archive = zipfile.ZipFile(upload)
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise ImportRejected("The file is not a readable zip archive.") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ImportRejected(f"The zip holds {len(entries):,} files; at most {MAX_ZIP_ENTRIES:,}.")
    for entry in entries:
        if not _safe_name(entry.filename):
            raise ImportRejected(f"The zip holds a file with an unsafe name: {entry.filename[:100]!r}.")
    files = [e for e in entries if not e.is_dir()]
    chatgpt = sorted(
        (e for e in files if PurePosixPath(e.filename).name == "conversations.json"),
        key=lambda e: e.filename.count("/"),
    )
    if chatgpt:
        entry = chatgpt[0]
        yield Document(entry.filename, parse_json(_read_entry(archive, entry, limit), entry.filename))
        return
    ours = [
        e for e in files if e.filename.endswith(".json") and PurePosixPath(e.filename).name != "index.json"
    ]
    if not ours:
        raise ImportRejected(
            "The zip holds neither a conversations.json (a ChatGPT export) nor NovaWeb conversation files."
        )
    budget = limit  # for all the files together
    for entry in sorted(ours, key=lambda e: e.filename):
        data = _read_entry(archive, entry, budget)
        budget -= len(data)
        yield Document(entry.filename, parse_json(data, entry.filename), novaweb_only=True)


def _safe_name(name: str) -> bool:
    """No absolute paths, drive letters, parent steps or NUL bytes: this zip is only read, never unpacked,
    but a name like that says the archive was made to attack whatever unpacks it."""
    parts = name.replace("\\", "/").split("/")
    return not (name.startswith(("/", "\\")) or "\x00" in name or ".." in parts or ":" in parts[0])


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int) -> bytes:
    """One file of the zip, refusing to expand past `budget` bytes (whatever its header claims)."""
    if entry.flag_bits & 0x1:
        raise ImportRejected(f"{entry.filename} is encrypted; export it again without a password.")
    too_big = ImportRejected(
        f"{entry.filename} expands to more than {settings.NOVAWEB_IMPORT_MAX_MB} MB; that is over the limit."
    )
    if entry.file_size > budget:
        raise too_big
    chunks, total = [], 0
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > budget:
                    raise too_big
                chunks.append(chunk)
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError, ValueError):
        raise ImportRejected(
            f"{entry.filename} in the zip cannot be read (damaged or compressed oddly)."
        ) from None
    return b"".join(chunks)
