"""The composer's options per provider: the parameters panel (saved at once, clamped on the server), NovaKit's
web search and image links, Novita's text completion mode; error sentences in the bubble; Retry, Continue and
Edit."""

from playwright.sync_api import Page, expect

from tests.e2e.ui import (
    add_key,
    assert_composer_works,
    body,
    bubbles,
    composer,
    model_field,
    new_chat,
    pick_key,
    send,
    sign_up,
    tokens,
    wait_until_done,
)

IMAGES = ["https://images.example.com/cat.jpg", "https://images.example.com/dog.png"]


def parameters(page: Page):
    """The "Parameters" disclosure (a <details>: a group named by nothing but its summary's text)."""
    return page.get_by_role("group").filter(has=page.get_by_text("Parameters", exact=True))


def open_parameters(page: Page):
    panel = parameters(page)
    if panel.get_attribute("open") is None:
        panel.get_by_text("Parameters", exact=True).click()
    expect(panel.get_by_role("spinbutton").first).to_be_visible()
    return panel


def param_labels(page: Page) -> list[str]:
    return [" ".join(text.split()) for text in parameters(page).locator("label").all_inner_texts()]


def chat_requests(fake_provider) -> list[dict]:
    return [r for r in fake_provider.requests if r["method"] == "POST"]


def change(page: Page, label: str, value: str) -> None:
    """Type into a parameter and leave the field, as a person does; returns once the change is saved and
    the options are shown back as stored."""
    field = page.get_by_label(label)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/options/")):
        field.fill(value)
        field.press("Tab")


def test_parameters_panel_per_provider_and_text_mode(page, fake_provider, screenshots):
    sign_up(page)
    add_key(page, fake_provider, label="Surf", secret="nsk-params-1111aaaa", dialect="novisurf")
    add_key(page, fake_provider, label="Novita", secret="nv-params-2222bbbb", dialect="novita")
    add_key(page, fake_provider, label="Kit", secret="nk-params-3333cccc", dialect="novakit")
    page.get_by_role("link", name="NovaWeb").click()

    new_chat(page, key="Surf", provider="Novisurf", model="fake-model")
    open_parameters(page)
    assert param_labels(page) == [
        "Temperature (0 to 2)",
        "Max tokens (≥ 1)",
        "Top P (0 to 1)",
        "Stop sequences",
    ]
    expect(page.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_role("radio")).to_have_count(0)  # no text completion mode on Novisurf

    # Out of range: saved clamped, and the panel shows what was stored.
    change(page, "Temperature", "7")
    expect(page.get_by_label("Temperature")).to_have_value("2")
    expect(parameters(page).get_by_role("status")).to_have_text(
        "Set to 2, the most it takes."
    )  # not silently
    change(page, "Max tokens", "64")
    expect(page.get_by_label("Max tokens")).to_have_value("64")
    expect(parameters(page).get_by_role("status")).to_have_count(0)  # said once
    fake_provider.reset()
    wait_until_done(send(page, "echo: clamped"))
    (request,) = chat_requests(fake_provider)
    sent = request["json"]
    assert sent["temperature"] == 2 and sent["max_tokens"] == 64, sent
    assert set(sent) <= {"model", "messages", "stream", "temperature", "max_tokens"}, sorted(sent)
    page.reload()
    open_parameters(page)
    expect(page.get_by_label("Temperature")).to_have_value("2")
    expect(page.get_by_label("Max tokens")).to_have_value("64")

    # Novita: its extra parameters, and the text completion mode.
    new_chat(page, key="Novita", provider="Novita AI", model="fake-model")
    open_parameters(page)
    labels = param_labels(page)
    for expected in (
        "Top K (≥ -1)",
        "Min P (0 to 1)",
        "Repetition penalty (0.01 to 2)",
        "Presence penalty (-2 to 2)",
        "Frequency penalty (-2 to 2)",
        "Alternatives (n) (1 to 8)",
        "Logit bias (-100 to 100)",
    ):
        assert expected in labels, labels
    expect(page.get_by_role("checkbox")).to_have_count(0)
    change(page, "Top K", "40")
    expect(page.get_by_label("Top K")).to_have_value("40")
    expect(parameters(page)).to_have_attribute("open", "")  # saving did not close the panel
    # Fields side by side line up, however their labels wrap.
    presence, frequency = page.get_by_label("Presence penalty"), page.get_by_label("Frequency penalty")
    if presence.bounding_box()["x"] < frequency.bounding_box()["x"]:  # on one row
        assert presence.bounding_box()["y"] == frequency.bounding_box()["y"]
    page.get_by_role("heading", level=1).click()  # nothing focused: no focus ring in the picture
    page.screenshot(path=screenshots / "composer-options.png", caret="initial")

    page.get_by_role("radio", name="Text completion").check()
    expect(page.get_by_role("radio", name="Text completion")).to_be_checked()
    fake_provider.reset()
    reply = send(page, "echo: once upon a time")
    wait_until_done(reply)
    expect(body(reply)).to_have_text("once upon a time")
    (request,) = chat_requests(fake_provider)
    assert request["path"] == "/novita/v3/openai/completions", request["path"]
    assert "once upon a time" in request["json"]["prompt"] and "messages" not in request["json"]
    assert request["json"]["top_k"] == 40
    page.reload()
    expect(page.get_by_role("radio", name="Text completion")).to_be_checked()

    # Novita n > 1: the alternatives side by side; the one kept becomes the reply. And a logit bias.
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/options/")):
        page.get_by_role("radio", name="Chat").check()  # saved before the next change, as a person waits
    open_parameters(page)
    change(page, "Alternatives (n)", "3")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/options/")):
        page.get_by_label("Logit bias").fill("50256: -150")
        page.get_by_label("Alternatives (n)").focus()
    expect(page.get_by_label("Logit bias")).to_have_value("50256: -100")  # clamped and shown back
    fake_provider.reset()
    reply = send(page, "echo: pick me")
    wait_until_done(reply)
    alternatives = reply.get_by_role("region", name="Alternative")
    expect(alternatives).to_have_count(3)
    expect(alternatives.nth(2)).to_contain_text("[choice 2] pick me")
    (request,) = chat_requests(fake_provider)
    assert (request["json"]["n"], request["json"]["logit_bias"]) == (3, {"50256": -100}), request["json"]
    reply.get_by_role("button", name="Keep alternative 3").click()
    expect(reply.get_by_role("button", name="Keep alternative 1")).to_have_count(0)
    expect(body(reply)).to_have_text("[choice 2] pick me")
    change(page, "Alternatives (n)", "1")

    # NovaKit: the web search toggle and the penalties.
    pick_key(page, "Kit", "NovaKit")
    expect(page.get_by_role("checkbox", name="Web search")).to_be_visible()
    expect(page.get_by_role("radio")).to_have_count(0)
    open_parameters(page)
    labels = param_labels(page)
    assert "Frequency penalty (-2 to 2)" in labels and "Presence penalty (-2 to 2)" in labels, labels
    assert "Top K (≥ -1)" not in labels, labels


def test_a_late_save_does_not_undo_what_was_typed_since(page, fake_provider):
    """On a slow link the answer to one parameter's save can arrive while the person types in the next:
    the panel is not redrawn under their cursor, and their next change saves both."""
    sign_up(page)
    add_key(page, fake_provider, label="Surf", secret="nsk-late-4444dddd", dialect="novisurf")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, key="Surf", provider="Novisurf", model="fake-model")
    open_parameters(page)

    held = []  # the first save, gone out and not answered yet: the slow link

    def slow_first_save(route):
        if route.request.method == "POST" and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/options/", slow_first_save)
    page.get_by_label("Temperature").fill("0.5")
    page.get_by_label("Temperature").press("Tab")  # leaving the field saves it
    expect(page.get_by_label("Max tokens")).to_be_focused()
    page.keyboard.type("300")  # typing in the next field while the first save is on its way
    assert len(held) == 1
    page.evaluate(
        """() => { window.saveAnswered = false;
        document.addEventListener("htmx:afterRequest", () => { window.saveAnswered = true; }, { once: true }); }"""
    )
    held[0].continue_()
    page.wait_for_function("() => window.saveAnswered")
    expect(page.get_by_label("Max tokens")).to_have_value("300")  # not redrawn as stored (empty)
    expect(page.get_by_label("Max tokens")).to_be_focused()

    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/options/")):
        page.keyboard.press("Tab")  # the next change saves, and its answer is drawn
    expect(page.get_by_label("Temperature")).to_have_value("0.5")
    expect(page.get_by_label("Max tokens")).to_have_value("300")
    page.reload()
    open_parameters(page)
    expect(page.get_by_label("Temperature")).to_have_value("0.5")
    expect(page.get_by_label("Max tokens")).to_have_value("300")


def test_novakit_web_search_and_images(page, fake_provider):
    sign_up(page)
    add_key(page, fake_provider, label="Kit", secret="nk-vision-4444dddd", dialect="novakit")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="openai/gpt-4o")

    page.get_by_text("Images", exact=True).click()
    page.get_by_label("Image links").fill("\n".join(IMAGES))
    # Toggling web search saves it and re-renders the options: the links typed stay, the box stays focused.
    search = page.get_by_role("checkbox", name="Web search")
    search.check()
    expect(search).to_be_checked()
    expect(search).to_be_focused()
    expect(page.get_by_label("Image links")).to_have_value("\n".join(IMAGES))
    fake_provider.reset()
    reply = send(page, "echo: what is in these?")
    wait_until_done(reply)
    expect(body(reply)).to_have_text("what is in these?")
    expect(reply.locator(".usage")).to_contain_text("tokens")
    expect(reply.locator(".usage")).to_contain_text("credits")
    expect(reply.locator(".usage")).to_contain_text("standard tier")

    question = bubbles(page).first
    for n, url in enumerate(IMAGES, 1):
        image = question.get_by_role("img", name=f"Image {n} sent with this message")
        expect(image).to_have_attribute("src", url)
    (request,) = chat_requests(fake_provider)
    sent = request["json"]
    assert sent["web_search"] is True, sent
    assert sent["messages"][-1]["images"] == IMAGES, sent["messages"][-1]

    # A model that takes no images: a clear error under the composer, nothing sent.
    page.reload()
    expect(page.get_by_role("checkbox", name="Web search")).to_be_checked()
    model_field(page).fill("meta-llama/llama-3.1-8b")
    page.get_by_text("Images", exact=True).click()
    page.get_by_label("Image links").fill(IMAGES[0])
    fake_provider.reset()
    composer(page).fill("and this one?")
    composer(page).press("Enter")
    expect(page.locator("#composer").get_by_role("alert")).to_have_text(
        "meta-llama/llama-3.1-8b does not take images — pick a vision model such as openai/gpt-4o, "
        "or remove the images."
    )
    expect(composer(page)).to_have_value("and this one?")
    expect(bubbles(page)).to_have_count(2)
    assert chat_requests(fake_provider) == []

    # Edit can change the images a message asked about (an emptied field drops them).
    model_field(page).fill("openai/gpt-4o")
    question = bubbles(page).first
    question.locator("summary", has_text="Edit").click()
    links = question.get_by_role("textbox", name="Images asked about")
    expect(links).to_have_value("\n".join(IMAGES) + "\n")
    links.fill(IMAGES[1])
    links.press("Enter")  # a new line for another link, not a send
    expect(links).to_have_value(IMAGES[1] + "\n")
    question.get_by_role("textbox", name="New wording").press("Enter")
    edited = bubbles(page).first
    expect(edited.get_by_text("2 / 2")).to_be_visible()
    expect(edited.get_by_role("img")).to_have_count(1)
    expect(edited.get_by_role("img", name="Image 1 sent with this message")).to_have_attribute(
        "src", IMAGES[1]
    )
    wait_until_done(bubbles(page).last)
    assert chat_requests(fake_provider)[-1]["json"]["messages"][-1]["images"] == [IMAGES[1]]


# model directive, key dialect, the sentence in the bubble
FAILURES = [
    ("fake-model~status=401", "openai", "OpenAI-compatible: the key was rejected — check the key"),
    ("fake-model~status=402", "novisurf", "Novisurf: out of credits — top up your account."),
    ("fake-model~status=403", "novakit", "NovaKit: your key lacks the chat scope"),
    ("missing-model", "novita", "Novita AI: this model does not exist — check the model name"),
    ("fake-model~status=429~retry_after=0", "novakit", "NovaKit: rate-limited — wait a moment"),
    ("fake-model~status=500~retry_after=0", "novisurf", "Novisurf: Provider error (HTTP 500)"),
]
KEY_OF = {
    "openai": ("Generic", "OpenAI-compatible"),
    "novisurf": ("Surf", "Novisurf"),
    "novakit": ("Kit", "NovaKit"),
    "novita": ("Novita", "Novita AI"),
}


def test_error_sentences_per_provider(page, fake_provider):
    sign_up(page)
    for dialect, (label, _) in KEY_OF.items():
        add_key(page, fake_provider, label=label, secret=f"key-errors-{dialect}-0000", dialect=dialect)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page)
    for model, dialect, sentence in FAILURES:
        pick_key(page, *KEY_OF[dialect])
        model_field(page).fill(model)
        fake_provider.reset()
        reply = send(page, f"try {model}")
        wait_until_done(reply, "failed")
        error = reply.get_by_role("alert")
        expect(error).to_contain_text(sentence)
        expect(error).to_contain_text("The provider said:")
        attempts = len(chat_requests(fake_provider))
        assert attempts == (3 if "status=429" in model or "status=500" in model else 1), (model, attempts)
    assert_composer_works(page, "still fine")


def test_retry_makes_a_new_version_and_continue_extends_the_reply(page, fake_provider):
    sign_up(page)
    add_key(page, fake_provider, label="Generic", secret="sk-versions-5555eeee")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model~status=402")
    failed = send(page, "echo: second time lucky")
    wait_until_done(failed, "failed")
    expect(failed.get_by_role("button", name="Continue")).to_have_count(0)

    model_field(page).fill("fake-model")
    failed.get_by_role("button", name="Retry").click()
    reply = bubbles(page).last
    wait_until_done(reply)
    expect(bubbles(page)).to_have_count(2)
    expect(body(reply)).to_have_text("second time lucky")
    expect(reply.get_by_text("2 / 2")).to_be_visible()
    expect(reply.get_by_role("button", name="Next version")).to_be_disabled()

    reply.get_by_role("button", name="Previous version").click()
    old = bubbles(page).last
    expect(old.get_by_text("1 / 2")).to_be_visible()
    expect(old).to_have_attribute("data-state", "failed")
    expect(old.get_by_role("alert")).to_contain_text("out of credits")
    expect(old.get_by_role("button", name="Previous version")).to_be_disabled()
    old.get_by_role("button", name="Next version").click()
    expect(bubbles(page).last.get_by_text("2 / 2")).to_be_visible()
    expect(body(bubbles(page).last)).to_have_text("second time lucky")

    # Cut at the token limit: Continue carries on in the same bubble.
    model_field(page).fill("fake-model~tokens=5~finish=length")
    cut = send(page, "count")
    wait_until_done(cut)
    expect(cut.get_by_text("Cut at the token limit")).to_be_visible()
    expect(body(cut)).to_have_text(tokens(5))
    fake_provider.reset()
    cut.get_by_role("button", name="Continue").click()
    expect(body(bubbles(page).last)).to_have_text(tokens(5) + " " + tokens(5))
    wait_until_done(bubbles(page).last)
    expect(bubbles(page)).to_have_count(4)
    (request,) = chat_requests(fake_provider)
    assert request["json"]["messages"][-1]["role"] == "assistant", request["json"]["messages"]
    assert_composer_works(page, "after continue")


def test_edit_asks_again_with_the_message_rewritten_and_keeps_the_old_version(
    page, fake_provider, screenshots
):
    sign_up(page)
    add_key(page, fake_provider, label="Generic", secret="sk-edits-6666ffff")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    wait_until_done(send(page, "echo: The capital of Australia is Sydney."))
    question = bubbles(page).first

    question.locator("summary", has_text="Edit").click()
    box = question.get_by_role("textbox", name="New wording")
    expect(box).to_be_focused()
    expect(box).to_have_value("echo: The capital of Australia is Sydney.")
    box.fill("echo: The capital of Australia is Canberra.")
    box.press("Enter")  # as in the composer; the button "Ask again" does the same
    reply = bubbles(page).last
    expect(body(reply)).to_have_text("The capital of Australia is Canberra.")
    wait_until_done(reply)
    expect(bubbles(page)).to_have_count(2)
    edited = bubbles(page).first
    expect(body(edited)).to_have_text("echo: The capital of Australia is Canberra.")
    expect(edited.get_by_text("2 / 2")).to_be_visible()
    expect(edited.get_by_role("button", name="Next version")).to_be_disabled()
    page.screenshot(path=screenshots / "edit-versions.png", caret="initial")

    # The first wording and its reply are a click away, and stay on screen after a reload.
    edited.get_by_role("button", name="Previous version").click()
    expect(body(bubbles(page).first)).to_have_text("echo: The capital of Australia is Sydney.")
    expect(body(bubbles(page).last)).to_have_text("The capital of Australia is Sydney.")
    page.reload()
    expect(bubbles(page).first.get_by_text("1 / 2")).to_be_visible()
    expect(body(bubbles(page).last)).to_have_text("The capital of Australia is Sydney.")

    # Cancel leaves the message as it was, and the editor opens on its text again.
    question = bubbles(page).first
    question.locator("summary", has_text="Edit").click()
    question.get_by_role("textbox", name="New wording").fill("echo: never sent")
    page.screenshot(path=screenshots / "edit-open.png", caret="initial")
    page.get_by_role("button", name="Switch theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=screenshots / "edit-open-dark.png", caret="initial")
    page.get_by_role("button", name="Switch theme").click()
    # An open editor leaves the composer's names to the composer ("Message", "Send").
    expect(page.get_by_label("Message")).to_have_count(1)
    expect(page.get_by_role("button", name="Send")).to_have_count(1)
    question.get_by_role("button", name="Cancel").click()
    expect(question.get_by_role("textbox", name="New wording")).to_be_hidden()
    question.locator("summary", has_text="Edit").click()
    expect(question.get_by_role("textbox", name="New wording")).to_have_value(
        "echo: The capital of Australia is Sydney."
    )
    question.get_by_role("textbox", name="New wording").press("Shift+Enter")  # a new line, not a send
    question.get_by_role("textbox", name="New wording").press("Escape")  # cancels too
    expect(question.get_by_role("textbox", name="New wording")).to_be_hidden()
    expect(question.locator("summary", has_text="Edit")).to_be_focused()  # where the keyboard left off
    expect(bubbles(page)).to_have_count(2)
    assert_composer_works(page, "after the edits")


def test_instructions_set_in_a_chat_go_to_the_model_first(page, fake_provider, screenshots):
    sign_up(page)
    add_key(page, fake_provider, label="Generic", secret="sk-instructions-7777aaaa")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    page.locator("summary", has_text="Instructions").click()
    box = page.get_by_role("textbox", name="Instructions")
    box.fill("Answer in French.")
    box.blur()  # saved on change, like the parameters
    expect(page.locator("details.instructions > summary")).to_contain_text("set")
    expect(page.get_by_role("textbox", name="Instructions")).to_be_visible()  # still open after the save
    page.screenshot(path=screenshots / "instructions.png", caret="initial")
    fake_provider.reset()
    wait_until_done(send(page, "echo: bonjour"))
    [asked] = [r for r in fake_provider.requests if r["path"].endswith("/chat/completions")]
    assert asked["json"]["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "echo: bonjour"},
    ]
    page.reload()
    page.locator("summary", has_text="Instructions").click()
    expect(page.get_by_role("textbox", name="Instructions")).to_have_value("Answer in French.")


def test_a_style_left_on_a_redrawn_element_breaks_nothing(page, fake_provider):
    """Browser extensions (and spell checkers, password managers) put inline styles on fields. When htmx
    redraws such an element it must not try to carry that style over: the page's CSP forbids inline
    style, so each attempt would be an error."""
    sign_up(page)
    add_key(page, fake_provider, label="Surf", dialect="novisurf")
    add_key(page, fake_provider, label="Kit", dialect="novakit")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, key="Surf", provider="Novisurf", model="fake-model")
    page.locator("#composer-options").evaluate("panel => { panel.style.outline = '1px solid transparent'; }")
    pick_key(page, "Kit", "NovaKit")
    expect(page.get_by_text("Web search")).to_be_visible()  # NovaKit's panel is drawn
    assert_composer_works(page, "still here")
