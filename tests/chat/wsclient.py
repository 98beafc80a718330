"""A small model of what the browser does with our websocket frames, for tests.

Frames are HTML fragments with hx-swap-oob; this applies the ones about reply text to a dict of bubbles,
so a test can assert exactly what a reader would see (no gap, no duplicate).
"""

import asyncio
import html
import re
import uuid

DELTA = re.compile(r'<span hx-swap-oob="beforeend:#msg-(\d+)-stream">(.*?)</span>', re.S)
SNAPSHOT = re.compile(r'<div hx-swap-oob="innerHTML:#msg-(\d+)-stream">(.*?)</div>', re.S)
FINAL = re.compile(r'<article id="msg-(\d+)" class="[^"]*" data-state="(\w+)" hx-swap-oob="true">', re.S)
ERROR = re.compile(r'<p id="composer-error"[^>]*>(.*?)</p>', re.S)


class PageModel:
    def __init__(self, communicator):
        self.communicator = communicator
        self.frames: list[str] = []
        self.stream_text: dict[int, str] = {}
        self.final_state: dict[int, str] = {}
        self.errors: list[str] = []

    def apply(self, frame: str) -> None:
        self.frames.append(frame)
        for message_id, text in SNAPSHOT.findall(frame):
            self.stream_text[int(message_id)] = html.unescape(text)
        for message_id, text in DELTA.findall(frame):
            self.stream_text[int(message_id)] = self.stream_text.get(int(message_id), "") + html.unescape(
                text
            )
        for message_id, state in FINAL.findall(frame):
            self.final_state[int(message_id)] = state
        self.errors += [html.unescape(e) for e in ERROR.findall(frame) if e.strip()]

    async def until(self, predicate, timeout=10.0):
        """Read frames until predicate(self) holds; fail after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out; last frames: {self.frames[-3:]}") from None
            self.apply(await self.communicator.receive_from(timeout=remaining))
        return self

    async def send(self, **payload):
        await self.communicator.send_json_to(payload)

    async def send_message(self, key, text, model="fake-model", *, client_id=None, **options):
        """What the composer sends: `text` with `key` and `model`, plus any fields of its options panel."""
        await self.send(
            action="send",
            client_id=str(client_id or uuid.uuid4()),
            message=text,
            credential=key.pk,
            model=model,
            **options,
        )
