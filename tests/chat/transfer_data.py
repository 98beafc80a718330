"""Conversations and files for the export and import tests, written by hand."""

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chat.models import Conversation, Folder, Message

T0 = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stamp(message: Message, minutes: int) -> Message:
    """Give a message a time of our choosing (created_at fills in "now" on save)."""
    Message.objects.filter(pk=message.pk).update(created_at=at(minutes), updated_at=at(minutes + 1))
    message.refresh_from_db()
    return message


def rich_conversation(owner, key, *, title="Rome trip · “plans”/ideas") -> Conversation:
    """A conversation with everything an export must keep: a retried reply (two versions), usage with
    credits and provider extras, image links, alternatives, a stopped reply, instructions, a folder, pinned
    and archived."""
    folder = Folder.objects.create(owner=owner, name="Travel")
    conversation = Conversation.objects.create(
        owner=owner,
        title=title,
        credential=key,
        model="novakit/large",
        params={"temperature": 0.4, "max_tokens": 800},
        instructions="Suggest places a short walk apart.\nPrices in euros.",
        folder=folder,
        pinned_at=at(0),
        archived_at=at(0),
    )

    def add(parent, role, content, minutes, **fields):
        message = Message.objects.create(
            conversation=conversation, parent=parent, role=role, content=content, **fields
        )
        return stamp(message, minutes)

    question = add(
        None,
        "user",
        "What should I see in **Rome**?\nTwo days only.",
        1,
        images=["https://example.com/colosseum.jpg"],
    )
    first = add(
        question,
        "assistant",
        "Start at the Colosseum.",
        2,
        state="failed",
        error="Rate limited — try again.",
        model="novakit/small",
        credential=key,
    )
    second = add(
        question,
        "assistant",
        "## Day one\n\n- Colosseum\n- Forum\n\n```python\nprint('ciao')\n```",
        3,
        model="novakit/large",
        credential=key,
        params={"temperature": 0.4},
        prompt_tokens=12,
        completion_tokens=40,
        credits=Decimal("0.001250"),
        usage_reported=True,
        usage_extra={"model_tier": "pro", "credits_breakdown": {"input": "0.0005", "output": "0.00075"}},
        finish_reason="stop",
    )
    follow = add(second, "user", "And day two?", 4)
    reply = add(
        follow,
        "assistant",
        "Vatican first.",
        5,
        state="stopped",
        model="novakit/large",
        choices=["Vatican first.", "Trastevere first."],
        finish_reason="",
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        current_leaf=reply, created_at=at(0), updated_at=at(6)
    )
    conversation.refresh_from_db()
    conversation.test_messages = {
        "question": question,
        "first": first,
        "second": second,
        "follow": follow,
        "reply": reply,
    }
    return conversation


def zip_bytes(files: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def node(key, parent, role=None, text=None, *, created=None, children=(), content=None, **message_fields):
    """One node of a ChatGPT `mapping`; role None makes the message-less root."""
    message = None
    if role is not None:
        message = {
            "id": key,
            "author": {"role": role, "name": None, "metadata": {}},
            "create_time": created,
            "update_time": None,
            "content": content or {"content_type": "text", "parts": [text]},
            "status": "finished_successfully",
            "end_turn": True if role == "assistant" else None,
            "weight": 1.0,
            "metadata": message_fields.pop("metadata", {}),
            "recipient": message_fields.pop("recipient", "all"),
        }
    return key, {"id": key, "message": message, "parent": parent, "children": list(children)}


EPOCH = 1_700_000_000.25  # 2023-11-14 22:13:20.25 UTC


def chatgpt_conversation() -> dict:
    """A ChatGPT conversation as its data export writes it: a root without a message, a hidden system
    message, an edited first question (two versions), a regenerated answer (two versions), a tool call
    with its output, hidden reasoning, an image the person sent, and the branch on screen ending last."""
    assistant = {"model_slug": "gpt-4o", "finish_details": {"type": "stop"}}
    nodes = dict(
        [
            node("root", None, children=["sys"]),
            node(
                "sys",
                "root",
                "system",
                "",
                created=None,
                metadata={"is_visually_hidden_from_conversation": True},
                children=["q1", "q1b"],
            ),
            node("q1", "sys", "user", "How do I boil an egg?", created=EPOCH, children=["a1"]),
            node("a1", "q1", "assistant", "Put it in water.", created=EPOCH + 5, metadata=assistant),
            node(
                "q1b",
                "sys",
                "user",
                "How do I boil an egg, softly?",
                created=EPOCH + 60,
                children=["a2", "a2b"],
            ),
            node("a2", "q1b", "assistant", "Six minutes.", created=EPOCH + 65, metadata=assistant),
            node(
                "a2b",
                "q1b",
                "assistant",
                "Six and a half minutes.",
                created=EPOCH + 70,
                metadata={"model_slug": "gpt-4o", "finish_details": {"type": "max_tokens"}},
                children=["q2"],
            ),
            node(
                "q2",
                "a2b",
                "user",
                None,
                created=EPOCH + 120,
                children=["think"],
                content={
                    "content_type": "multimodal_text",
                    "parts": [
                        {"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-abc"},
                        "Is this one done?",
                    ],
                },
            ),
            node(
                "think",
                "q2",
                "assistant",
                None,
                created=EPOCH + 121,
                children=["call"],
                content={"content_type": "thoughts", "thoughts": [{"summary": "Looking", "content": "…"}]},
            ),
            node(
                "call",
                "think",
                "assistant",
                None,
                created=EPOCH + 122,
                recipient="python",
                children=["out"],
                content={"content_type": "code", "language": "python", "text": "print(6 * 60)"},
            ),
            node(
                "out",
                "call",
                "tool",
                None,
                created=EPOCH + 123,
                children=["a3"],
                content={"content_type": "execution_output", "text": "360"},
            ),
            node(
                "a3", "out", "assistant", "Yes — the yolk is soft.", created=EPOCH + 124, metadata=assistant
            ),
        ]
    )
    return {
        "title": "Boiling eggs",
        "create_time": EPOCH - 1,
        "update_time": EPOCH + 124,
        "mapping": nodes,
        "current_node": "a3",
        "conversation_id": "6553f5e0-0000-4000-8000-000000000001",
        "is_archived": True,
        "default_model_slug": "gpt-4o",
    }


def to_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
