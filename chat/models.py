from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, F, Q

# True for a pinned conversation: the sidebar's first sort key (pinned on top). The index below is built on
# this very expression, so PostgreSQL can read the list in order from it.
IS_PINNED = ExpressionWrapper(Q(pinned_at__isnull=False), output_field=BooleanField())

# Search indexes the first this-many characters of a text: a tsvector holds at most 1 MB, and word positions
# stop counting at 16,383 anyway (see docs/architecture.md, "Search").
SEARCH_INDEXED_CHARS = 100_000


def search_document(field: str, chars: int = SEARCH_INDEXED_CHARS) -> models.Func:
    """The searchable form of a text column: accents folded, identifiers split, English stems plus the words as
    written, each lexeme marked with the owner (SQL made by migration chat 0004, which says why)."""
    return models.Func(
        models.F(field), models.F("owner"), models.Value(chars),
        function="novaweb_search_document", output_field=SearchVectorField(),
    )  # fmt: skip


class ConversationQuerySet(models.QuerySet):
    def for_user(self, user):
        """Every conversation query starts here: a user only ever sees their own, and never one deleted
        (during its few seconds of undo it is gone for every page, socket and search)."""
        return self.filter(owner=user, deleted_at__isnull=True)

    def deleted_for_user(self, user):
        """`user`'s deleted conversations still inside their undo window (only Undo and the purge look)."""
        return self.filter(owner=user, deleted_at__isnull=False)


class Folder(models.Model):
    """A user's folder of conversations in the sidebar."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=80)
    # Shown folded in the sidebar (its conversations are not even loaded then); kept across devices.
    collapsed = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="folder_name_unique_per_owner")]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    """A tree of messages; `current_leaf` is the end of the path on screen.

    `params` are the parameters for its next replies, as the user set them (cleaned again against the key's
    preset on every send); `mode` "text" continues a raw prompt with a text completion instead of chatting.
    """

    class Mode(models.TextChoices):
        CHAT = "chat", "Chat"
        TEXT = "text", "Text completion"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    credential = models.ForeignKey("keys.Credential", null=True, blank=True, on_delete=models.SET_NULL)
    model = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.CHAT)
    # Sent before the history as a system message, in chat mode ("Answer in French."). Columns added after the
    # first release carry a database default too, so rows written outside the ORM (COPY in the benches) work.
    instructions = models.TextField(blank=True, default="", db_default="")
    current_leaf = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    # Organising: set when pinned / archived; `deleted_at` hides it during the undo window before it goes.
    pinned_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Where an imported conversation came from ("novaweb:12:<created_at>", "chatgpt:<id>"; see chat/imports.py),
    # so importing the same file again skips it. Empty for a conversation started here.
    imported_from = models.CharField(max_length=300, blank=True, default="", db_default="")
    # The title, searchable (see chat/search.py).
    search_vector = models.GeneratedField(
        expression=search_document("title", chars=200), output_field=SearchVectorField(), db_persist=True
    )

    objects = ConversationQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="conversation_owner_recent"),
            models.Index(
                fields=["owner", "imported_from"],
                name="conversation_imported_from",
                condition=~Q(imported_from=""),
            ),
            # The sidebar's lists, pinned first, then newest first: a person's main list (no folder) and
            # one folder's. The keyset cursor seeks into them, so a deep page costs what the first does.
            # Two indexes, as "folder IS NULL" is no equality to PostgreSQL: after it an index gives no order.
            models.Index(
                F("owner"),
                IS_PINNED.desc(),
                F("updated_at").desc(),
                F("id").desc(),
                name="conversation_sidebar",
                condition=Q(
                    folder__isnull=True,
                    deleted_at__isnull=True,
                    archived_at__isnull=True,
                    current_leaf__isnull=False,
                ),
            ),
            models.Index(
                F("folder"),
                IS_PINNED.desc(),
                F("updated_at").desc(),
                F("id").desc(),
                name="conversation_folder",
                condition=Q(
                    folder__isnull=False,
                    deleted_at__isnull=True,
                    archived_at__isnull=True,
                    current_leaf__isnull=False,
                ),
            ),
            models.Index(
                F("owner"),
                F("updated_at").desc(),
                F("id").desc(),
                name="conversation_archived",
                condition=Q(deleted_at__isnull=True, archived_at__isnull=False),
            ),
            # Deleted rows wait a few seconds for Undo; this small index finds them for Undo and the purge.
            models.Index(
                fields=["owner", "deleted_at"],
                name="conversation_deleted",
                condition=Q(deleted_at__isnull=False),
            ),
            GinIndex(fields=["search_vector"], name="conversation_search"),
            # The conversations a search may look at, read from the index alone (chat/search.py).
            models.Index(
                fields=["owner"],
                include=["id", "archived_at"],
                condition=models.Q(deleted_at__isnull=True),
                name="conversation_owner_live",
            ),
        ]

    def __str__(self) -> str:
        return self.title or "New chat"

    @property
    def display_title(self) -> str:
        return self.title or "New chat"


class MessageManager(models.Manager):
    """Messages without their search vector (as large as the text; only chat/search.py reads it, in SQL)."""

    def get_queryset(self):
        return super().get_queryset().defer("search_vector")


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"
        SYSTEM = "system", "System"

    class State(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DONE)
    model = models.CharField(max_length=200, blank=True)
    credential = models.ForeignKey("keys.Credential", null=True, blank=True, on_delete=models.SET_NULL)
    params = models.JSONField(default=dict, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    credits = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    usage_reported = models.BooleanField(default=False)
    # Provider extras about the reply, e.g. NovaKit's model_tier, credits_breakdown, tokens_remaining_estimate.
    usage_extra = models.JSONField(default=dict, blank=True)
    # Image URLs sent with a user message (NovaKit vision models); shown by the browser, never fetched here.
    images = models.JSONField(default=list, blank=True)
    # With n > 1: the text of every alternative, until the person keeps one (content is the first meanwhile).
    choices = models.JSONField(default=list, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    # The browser's id for one send: a repeated send (double Enter, resend after reconnect) is recognised.
    client_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The conversation's owner, copied in by the database on insert (a trigger; see migration chat 0004): search
    # keys its index on it. Not set on an instance until it is read back; use conversation.owner in Python.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, editable=False, on_delete=models.CASCADE, related_name="+"
    )
    # The text, searchable once final (see chat/search.py): a streaming reply is re-saved every second and
    # is not worth indexing until it ends. Loaded only when asked for (MessageManager).
    search_vector = models.GeneratedField(
        expression=models.Case(
            models.When(state="streaming", then=models.Value(None)),
            default=search_document("content"),
            output_field=SearchVectorField(),
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = MessageManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="message_client_id_unique_per_conversation",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="message_conversation_created"),
            models.Index(
                fields=["state", "updated_at"],
                name="message_state_updated",
                condition=models.Q(state="streaming"),
            ),
            # Per person and slice of ids (newest matches first), then the words.
            GinIndex(
                models.Func(
                    models.F("owner"),
                    models.F("id"),
                    function="novaweb_search_keys",
                    output_field=ArrayField(models.BigIntegerField()),
                ),
                models.F("search_vector"),
                name="message_search",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk}"

    @property
    def is_streaming(self) -> bool:
        return self.state == self.State.STREAMING

    @property
    def is_final(self) -> bool:
        return self.state != self.State.STREAMING

    @property
    def can_continue(self) -> bool:
        """A reply that ended early with its text kept (cut at the token limit, stopped, interrupted)."""
        return (
            self.role == self.Role.ASSISTANT
            and bool(self.content)
            and (
                self.state in (self.State.STOPPED, self.State.INTERRUPTED)
                or (self.state == self.State.DONE and self.finish_reason == "length")
            )
        )


class SearchTerm(models.Model):
    """A word of a person's messages: the vocabulary a search with no results corrects its words against.

    Filled by a database trigger, only where the server has pg_trgm (migration chat 0005; chat/search_typos.py).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    term = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "term"], name="searchterm_unique_per_owner")]

    def __str__(self) -> str:
        return self.term
