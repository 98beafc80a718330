"""The usage ledger as CSV: one line per settled ledger row (one reply), streamed while it is read.

One line per reply rather than per day and group, so the file can be summed, pivoted or audited in a
spreadsheet any way one likes; its sums equal the page's totals for the same filters (replies still in
progress are left out, as on the page).
"""

import csv
import io

from django.db.models import CharField, F, Func
from django.db.models.functions import Coalesce
from django.utils.http import content_disposition_header

from keys.usage_filters import Period
from keys.usage_report import SETTLED, in_period

HEADER = [
    "created_at",
    "settled_at",
    "person",
    "team",
    "key",
    "key_owner",
    "shared_key",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "credits",
    "estimated",
]
# Rows fetched per database round trip, and lines per chunk sent to the client.
FETCH_ROWS = 2000
LINES_PER_CHUNK = 500
# Excel reads a UTF-8 file as UTF-8 only when it starts with a byte order mark (names are not all ASCII).
BOM = "\ufeff"
# A spreadsheet treats a cell starting with one of these as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str | None) -> str:
    """Text as a spreadsheet will show it, never run it: a leading apostrophe disarms a formula."""
    text = text or ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def filename(period: Period, *, team: bool) -> str:
    who = "team-usage" if team else "usage"
    return f"novaweb-{who}-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}.csv"


def disposition(period: Period, *, team: bool) -> str:
    return content_disposition_header(True, filename(period, team=team))


class IsoUtc(Func):
    """A timestamp as ISO 8601 text in UTC ("2026-05-03T14:02:11Z"), formatted by PostgreSQL: turning two
    timestamps per row into Python datetimes and back was most of a long CSV's cost."""

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    output_field = CharField()


async def csv_chunks(entries, period: Period):
    """The CSV text in chunks of a few hundred lines; rows are read in batches (a server-side cursor), so
    memory stays flat however long the period is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(HEADER)
    # values(), not values_list(): the latter runs its query as soon as it is iterated, which aiterator()
    # does on the event loop's thread (Django 5.2), where database calls are refused.
    rows = (
        in_period(entries, period)
        .filter(SETTLED)
        .order_by("created_at", "id")
        .values(
            "shared",
            "model",
            "prompt_tokens",
            "completion_tokens",
            "credits",
            "estimated",
            created=IsoUtc("created_at"),
            settled=IsoUtc("settled_at"),
            person_name=F("user__username"),
            team_name=F("team__name"),
            key_label=Coalesce("credential__label", "credential_label"),
            owner_name=F("credential__owner__username"),
        )
    )
    lines = 0
    async for row in rows.aiterator(chunk_size=FETCH_ROWS):
        writer.writerow(
            [
                row["created"],
                row["settled"] or "",
                safe_cell(row["person_name"]),
                safe_cell(row["team_name"]),
                safe_cell(row["key_label"]),
                "" if row["shared"] else safe_cell(row["owner_name"] or row["person_name"]),
                "yes" if row["shared"] else "no",
                safe_cell(row["model"]),
                row["prompt_tokens"],
                row["completion_tokens"],
                row["prompt_tokens"] + row["completion_tokens"],
                row["credits"],
                "yes" if row["estimated"] else "no",
            ]
        )
        lines += 1
        if lines % LINES_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
