"""The workbench in a real browser: Debian's headless Chromium driven by selenium.

Signs in, opens the queue and an assessment, checks the waterfall's numbers against the JSON
of the API, records a disposition through the form and reads it back through the API, sees a
form without its CSRF token refused, and scores a proposal in the playground. Screenshots of
each page go to a temporary folder (or to $RISKRULES_SCREENSHOTS, for docs/img).

Needs `chromium` and `chromium-driver` (Debian packages; .ci/run installs them): without
them the tests fail, saying so, rather than skip.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.api.support import TOKENS, auth
from tests.web.conftest import close, make_workbench, store_examples

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.slow


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The app's access log is enough."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    from api.migrate import upgrade

    path = tmp_path_factory.mktemp("browser") / "db.sqlite3"
    upgrade(f"sqlite:///{path}")
    app = make_workbench(f"sqlite:///{path}")
    store_examples(app.test_client())
    http = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}", app
    http.shutdown()
    thread.join(timeout=5)
    close(app)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: "
                    "apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1600", "--lang=en-US",
                     "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(20)
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("RISKRULES_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _shot(driver: Any, folder: Path, name: str, full: bool = False) -> None:
    if full:
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(int(height) + 40, 6000))
    driver.save_screenshot(str(folder / f"{name}.png"))
    driver.set_window_size(1280, 1600)


def test_review_session(server: tuple[str, Flask], browser: Any, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    base, app = server
    api = app.test_client()
    browser.get(f"{base}/ui/queue")
    assert "/ui/sign-in" in browser.current_url
    browser.find_element(By.ID, "api_key").send_keys(TOKENS["reviewer"])
    _shot(browser, shots, "sign-in")
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser, lambda d: d.current_url.endswith("/ui/queue"))
    assert browser.find_element(By.ID, "who").text == "reviewer"
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue a.open")
    assert len(rows) == 5
    _shot(browser, shots, "queue")
    browser.find_element(By.ID, "queue").screenshot(str(shots / "queue-detail.png"))

    # the escalated Chinese SOE licensing deal
    doc = _find(api, "escalate")
    browser.find_element(By.CSS_SELECTOR, f'a.open[href="/ui/assessments/{doc["id"]}"]').click()
    _wait(browser, lambda d: f'/ui/assessments/{doc["id"]}' in d.current_url)
    assert doc["id"] in browser.find_element(By.TAG_NAME, "h1").text
    groups = browser.find_elements(By.CSS_SELECTOR, "svg.waterfall g.factor")
    assert [g.get_attribute("data-factor") for g in groups] == [
        f["factor"] for f in doc["factors"]]
    for group, factor in zip(groups, doc["factors"], strict=True):
        shown = group.find_element(By.CSS_SELECTOR, "text.contribution").text
        assert Decimal(shown) == Decimal(str(factor["contribution"])).quantize(Decimal("0.01"))
        residual = group.find_element(By.CSS_SELECTOR, "text.residual").text
        assert Decimal(residual) == Decimal(str(factor["score"])).quantize(Decimal("0.01"))
        assert Decimal(group.get_attribute("data-weight")) == Decimal(str(factor["weight"]))
    total = browser.find_element(By.CSS_SELECTOR, "svg.waterfall text.total")
    assert Decimal(total.get_attribute("data-score")) == Decimal(str(doc["score"]))
    assert Decimal(browser.find_element(By.ID, "contributions-total").text) == \
        Decimal(str(doc["score"]))
    _shot(browser, shots, "assessment", full=True)
    browser.find_element(By.ID, "waterfall").screenshot(str(shots / "waterfall-detail.png"))

    # record a disposition through the form, read it back through the API
    browser.find_element(By.CSS_SELECTOR, 'input[name="decision"][value="request_information"]'
                         ).click()
    browser.find_element(By.ID, "reason").send_keys("Need the licence record for the ITAR items")
    browser.find_element(By.ID, "conditions").send_keys("licence number on file")
    browser.find_element(By.ID, "record").click()
    _wait(browser, lambda d: d.current_url.endswith("#disposition"))
    browser.find_element(By.ID, "disposition").screenshot(str(shots / "disposition-detail.png"))
    current = api.get(f"/v1/assessments/{doc['id']}", headers=auth("auditor")).get_json()
    recorded = current["disposition"]["current"]
    assert (recorded["decision"], recorded["reviewer"], recorded["reason"],
            recorded["conditions"]) == ("request_information", "reviewer",
                                        "Need the licence record for the ITAR items",
                                        ["licence number on file"])
    assert browser.find_element(By.ID, "effective-decision").text == "request_information"

    # the same form without its CSRF token is refused, and nothing is recorded
    browser.execute_script(
        "const f = document.getElementById('disposition-form');"
        "f.querySelector('input[name=csrf_token]').remove();"
        "f.querySelector('input[value=reject]').checked = true;"
        "document.getElementById('reason').value = 'forged'; f.submit();")
    _wait(browser, lambda d: d.find_elements(By.ID, "error-message"))
    message = browser.find_element(By.ID, "error-message").text
    assert "CSRF" in message
    history = api.get(f"/v1/assessments/{doc['id']}/dispositions", headers=auth("auditor"))
    assert [d["decision"] for d in history.get_json()["items"]] == ["request_information"]

    # playground: load an example, score it, same explanation as the assessment page
    browser.get(f"{base}/ui/playground?example=ev-licensing-russia-german-initiator")
    browser.find_element(By.ID, "score").click()
    _wait(browser, lambda d: d.find_elements(By.ID, "result"))
    assert browser.find_element(By.ID, "engine-decision").text == "reject"
    assert browser.find_elements(By.CSS_SELECTOR, "#result svg.waterfall g.factor")
    _shot(browser, shots, "playground", full=True)
    stored = api.get("/v1/assessments?limit=500", headers=auth("auditor")).get_json()["items"]
    assert len(stored) == 5  # the playground stores nothing

    browser.get(f"{base}/ui/rules")
    assert browser.find_elements(By.CSS_SELECTOR, "#rules tbody tr")
    _shot(browser, shots, "rules")

    # a deal near a band edge: the moves the API reports are on the page
    for item in stored:
        what_if = api.get(f"/v1/assessments/{item['id']}?what_if=true",
                          headers=auth("auditor")).get_json()["what_if"]
        if what_if["band_edge"]["moves"]:
            break
    else:
        pytest.fail("no stored example is near a band edge")
    browser.get(f"{base}/ui/assessments/{item['id']}")
    section = browser.find_element(By.ID, "what-would-change")
    moves = section.find_elements(By.CSS_SELECTOR, "ol.moves > li")
    assert len(moves) == len(what_if["band_edge"]["moves"])
    section.screenshot(str(shots / "what-would-change-detail.png"))


def _wait(driver: Any, condition: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(condition)


def _find(api: Any, decision: str) -> dict[str, Any]:
    items = api.get(f"/v1/assessments?decision={decision}",
                    headers=auth("auditor")).get_json()["items"]
    assert items
    found: dict[str, Any] = items[0]
    return found


def test_keyboard_reaches_the_main_content(server: tuple[str, Flask], browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, _ = server
    browser.get(f"{base}/ui/rules")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    active = browser.switch_to.active_element
    assert active.get_attribute("class") == "skip"
    active.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"


def test_the_printed_assessment_page_is_the_audit_file(server: tuple[str, Flask], browser: Any,
                                                        shots: Path) -> None:
    """With the print stylesheet (emulated print media), the page keeps everything an auditor
    needs (decision, rule pack digest, disposition history, waterfall, decision path, fired
    rules with their legal basis written out, screening, missing information, the proposal)
    and drops what only works on screen (navigation, the forms); Chromium prints it as a PDF."""
    import base64

    from selenium.webdriver.common.by import By

    base, app = server
    doc = _find(app.test_client(), "escalate")
    browser.get(f"{base}/ui/sign-in")
    if "/ui/sign-in" in browser.current_url and browser.find_elements(By.ID, "api_key"):
        browser.find_element(By.ID, "api_key").send_keys(TOKENS["reviewer"])
        browser.find_element(By.ID, "sign-in").click()
        _wait(browser, lambda d: "/ui/sign-in" not in d.current_url)
    browser.get(f"{base}/ui/assessments/{doc['id']}")
    shown = ("summary", "disposition", "waterfall", "decision-path", "fired", "screening",
             "missing", "proposal", "engine-decision")
    hidden_on_paper = ("header.top", "#disposition-form", "details")

    def displayed(selector: str) -> bool:
        return bool(browser.execute_script(
            "const e = document.querySelector(arguments[0]);"
            "return e !== null && getComputedStyle(e).display !== 'none';", selector))

    assert all(displayed(sel) for sel in hidden_on_paper)  # on screen, all there
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert [sel for sel in hidden_on_paper if displayed(sel)] == []
        assert [name for name in shown if not displayed(f"#{name}")] == []
        legal_links = browser.find_elements(By.CSS_SELECTOR, "#fired .legal a")
        assert legal_links, "no legal basis link on the page"
        after = browser.execute_script(
            "return getComputedStyle(arguments[0], '::after').content;", legal_links[0])
        assert legal_links[0].get_attribute("href") in after  # the URL written out on paper
        _shot(browser, shots, "assessment-print", full=True)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(browser.print_page())
    assert pdf.startswith(b"%PDF")
    (shots / "assessment.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages >= 2, f"the printed assessment has {pages} page(s)"
