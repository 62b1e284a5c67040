"""The workbench pages through the Flask test client: sign-in and session cookie, CSRF, roles,
queue filters and counts, the assessment page's numbers, dispositions, rules, playground,
impact report, escaping."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from cli.main import main
from tests.api.support import auth
from tests.web.conftest import EXAMPLES, ROOT, close, csrf_of, make_workbench, sign_in


def test_pages_need_a_session(workbench: Flask) -> None:
    client = workbench.test_client()
    for url in ("/ui/queue", "/ui/rules", "/ui/playground", "/ui/impact"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.location.startswith("/ui/sign-in")
    # an API key in a header is not a session
    assert client.get("/ui/queue", headers=auth("all")).status_code == 302


def test_sign_in_sets_a_hardened_cookie_and_refuses_bad_keys(workbench: Flask) -> None:
    client = workbench.test_client()
    page = client.get("/ui/sign-in").get_data(as_text=True)
    bad = client.post("/ui/sign-in", data={"api_key": "rr_wrong", "csrf_token": csrf_of(page)})
    assert bad.status_code == 401
    assert "not valid" in bad.get_data(as_text=True)
    good = client.post("/ui/sign-in", data={"api_key": _token("auditor"),
                                            "csrf_token": csrf_of(page),
                                            "next": "//evil.example/x"})
    assert good.status_code == 302 and good.location == "/ui/queue"  # no open redirect
    cookie = good.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert _token("auditor") not in cookie


def test_secure_cookie_behind_tls(sqlite_url: str) -> None:
    app = make_workbench(sqlite_url, SECURE_COOKIES=True)
    try:
        client = app.test_client()
        page = client.get("/ui/sign-in").get_data(as_text=True)
        response = client.post("/ui/sign-in", data={"api_key": _token("auditor"),
                                                    "csrf_token": csrf_of(page)})
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        close(app)


def _token(who: str) -> str:
    from tests.api.support import TOKENS

    return TOKENS[who]


def test_forms_without_csrf_are_refused(workbench: Flask, stored: dict[str, Any]) -> None:
    client = workbench.test_client()
    assert client.post("/ui/sign-in", data={"api_key": _token("reviewer")}).status_code == 400
    sign_in(client, "reviewer")
    target = stored["launch-jv-roscosmos"]["id"]
    for token in (None, "forged"):
        data = {"decision": "reject", "reason": "x"}
        if token:
            data["csrf_token"] = token
        response = client.post(f"/ui/assessments/{target}/dispositions", data=data)
        assert response.status_code == 400
        assert "CSRF" in response.get_data(as_text=True)
    history = client.get(f"/v1/assessments/{target}/dispositions", headers=auth("reviewer"))
    assert history.get_json()["items"] == []


def test_roles_as_in_the_api(workbench: Flask, stored: dict[str, Any]) -> None:
    client = workbench.test_client()
    sign_in(client, "submitter2")  # a submitter reads only what its own key created
    assert client.get("/ui/queue").get_data(as_text=True).count('class="open"') == 0
    assert client.get(f"/ui/assessments/{stored['launch-jv-roscosmos']['id']}").status_code == 404
    assert client.get("/ui/rules").status_code == 200  # any key reads the rules
    client = workbench.test_client()
    sign_in(client, "submitter")
    assert client.get("/ui/queue").get_data(as_text=True).count('class="open"') == len(stored)
    assert client.get(f"/ui/assessments/{stored['launch-jv-roscosmos']['id']}").status_code == 200
    client = workbench.test_client()
    sign_in(client, "admin")  # admin holds every role
    assert 'id="disposition-form"' in client.get(
        f"/ui/assessments/{stored['launch-jv-roscosmos']['id']}").get_data(as_text=True)
    client = workbench.test_client()
    sign_in(client, "auditor")
    page = client.get(f"/ui/assessments/{stored['launch-jv-roscosmos']['id']}")
    assert page.status_code == 200
    assert 'id="disposition-form"' not in page.get_data(as_text=True)  # auditors only read
    token = csrf_of(page.get_data(as_text=True))
    refused = client.post(f"/ui/assessments/{stored['launch-jv-roscosmos']['id']}/dispositions",
                          data={"csrf_token": token, "decision": "reject", "reason": "x"})
    assert refused.status_code == 403


def test_queue_counts_filters_and_paging(workbench: Flask, stored: dict[str, Any]) -> None:
    client = workbench.test_client()
    sign_in(client, "reviewer")
    html = client.get("/ui/queue").get_data(as_text=True)
    decisions = [doc["decision"] for doc in stored.values()]
    for decision in ("approve", "review", "escalate", "reject"):
        assert f'data-decision="{decision}">{decisions.count(decision)}<' in html
    assert f'data-decision="all">{len(stored)}<' in html
    rejected = client.get("/ui/queue?decision=reject").get_data(as_text=True)
    assert rejected.count('class="open"') == decisions.count("reject")
    provisional = [d for d in stored.values() if d.get("provisional")]
    html = client.get("/ui/queue?provisional=true").get_data(as_text=True)
    assert html.count('class="open"') == len(provisional) > 0
    ref = stored["ev-licensing-china-soe"]["reference"]
    html = client.get(f"/ui/queue?reference={ref}").get_data(as_text=True)
    assert html.count('class="open"') == 1 and stored["ev-licensing-china-soe"]["id"] in html
    assert client.get("/ui/queue?to=2000-01-01").get_data(as_text=True).count('class="open"') == 0
    assert client.get("/ui/queue?from=yesterday").status_code == 400
    assert client.get("/ui/queue?decision=maybe").status_code == 400
    # record one disposition: with / without
    page = client.get(f"/ui/assessments/{stored['battery-research-canada']['id']}")
    client.post(f"/ui/assessments/{stored['battery-research-canada']['id']}/dispositions",
                data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                      "decision": "approve", "reason": "plain deal"})
    assert client.get("/ui/queue?disposition=with").get_data(as_text=True).count(
        'class="open"') == 1
    assert client.get("/ui/queue?disposition=without").get_data(as_text=True).count(
        'class="open"') == len(stored) - 1


def test_queue_pages(sqlite_url: str) -> None:
    import api.web as web

    app = make_workbench(sqlite_url)
    old = web.PAGE_SIZE
    web.PAGE_SIZE = 2
    try:
        client = app.test_client()
        from tests.web.conftest import store_examples

        store_examples(client)
        sign_in(client, "auditor")
        seen: list[str] = []
        url: str | None = "/ui/queue"
        while url:
            html = client.get(url).get_data(as_text=True)
            seen += re.findall(r'/ui/assessments/([0-9a-f-]{36})" class="open"', html)
            found = re.search(r'href="([^"]+)" rel="next"', html)
            url = found.group(1).replace("&amp;", "&") if found else None
        assert len(seen) == len(set(seen)) == 5
    finally:
        web.PAGE_SIZE = old
        close(app)


def test_assessment_page_numbers_match_the_json(workbench: Flask, stored: dict[str, Any]) -> None:
    client = workbench.test_client()
    sign_in(client, "auditor")
    for doc in stored.values():
        html = client.get(f"/ui/assessments/{doc['id']}").get_data(as_text=True)
        groups = re.findall(r'<g class="factor" data-factor="([^"]+)" data-raw="([^"]+)" '
                            r'data-inherent="([^"]+)" data-residual="([^"]+)" '
                            r'data-weight="([^"]+)" data-contribution="([^"]+)"', html)
        assert [g[0] for g in groups] == [f["factor"] for f in doc["factors"]]
        for (_, raw, inherent, residual, weight, contribution), factor in zip(
                groups, doc["factors"], strict=True):
            points = sum(Decimal(str(r["points"])) for r in factor["rules"]
                         if r["kind"] != "mitigation")
            assert Decimal(raw) == points
            assert Decimal(inherent) == Decimal(str(factor["inherent_score"]))
            assert Decimal(residual) == Decimal(str(factor["score"]))
            assert Decimal(weight) == Decimal(str(factor["weight"]))
            assert Decimal(contribution) == Decimal(str(factor["contribution"]))
        total = re.search(r'class="total" data-score="([^"]+)" data-sum="([^"]+)"', html)
        assert total and Decimal(total.group(1)) == Decimal(total.group(2)) == \
            Decimal(str(doc["score"])).quantize(Decimal("0.01"))
        for hit in (h for f in doc["factors"] for h in f["rules"]):
            assert f'id="hit-{hit["rule"]}"' in html
            for basis in hit.get("legal_basis") or []:
                assert f'href="{basis["url"]}"' in html


def test_clamp_is_shown(workbench: Flask, stored: dict[str, Any]) -> None:
    doc = stored["launch-jv-roscosmos"]
    clamped = [f for f in doc["factors"]
               if sum(r["points"] for r in f["rules"] if r["kind"] != "mitigation") > 100]
    assert clamped, "the fixture should exceed 100 points in a factor"
    client = workbench.test_client()
    sign_in(client, "auditor")
    html = client.get(f"/ui/assessments/{doc['id']}").get_data(as_text=True)
    assert html.count('class="clamp-note"') == len(clamped)


def test_assessment_page_shows_missing_information_and_what_would_change(
        workbench: Flask, stored: dict[str, Any]) -> None:
    doc = stored["energy-storage-egypt-missing-info"]
    client = workbench.test_client()
    sign_in(client, "auditor")
    html = client.get(f"/ui/assessments/{doc['id']}").get_data(as_text=True)
    for missing in doc["missing_information"]:
        assert f"<code>{missing['path']}</code>" in html
    assert 'id="what-would-change"' in html
    moved = 0
    for stored_doc in stored.values():  # the page shows the API's band-edge moves
        what_if = client.get(f"/v1/assessments/{stored_doc['id']}?what_if=true",
                             headers=auth("auditor")).get_json()["what_if"]
        page = client.get(f"/ui/assessments/{stored_doc['id']}").get_data(as_text=True)
        section = page[page.index('id="what-would-change"'):page.index('id="proposal"')]
        assert section.count("<li>") >= len(what_if["band_edge"]["moves"])
        for move in what_if["band_edge"]["moves"]:
            moved += 1
            for change in move["changes"]:
                assert f'/ui/rules/{change["rule"]}">{change["rule"]}</a>' in section
                assert change["change"] in section
    assert moved > 0
    assert doc["provisional"] and doc["unsettled"] and doc["checked_clear"]
    path = html[html.index('id="decision-path"'):html.index('id="fired"')]
    for entry in doc["unsettled"] + doc["checked_clear"]:
        assert f'/ui/rules/{entry["rule"]}">{entry["rule"]}</a>' in path
    assert f'Stops and floors checked and clear ({len(doc["checked_clear"])})' in path


def test_record_disposition_from_the_page(workbench: Flask, stored: dict[str, Any]) -> None:
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    doc = stored["ev-licensing-china-soe"]
    client = workbench.test_client()
    sign_in(client, "reviewer")
    page = client.get(f"/ui/assessments/{doc['id']}").get_data(as_text=True)
    blank = client.post(f"/ui/assessments/{doc['id']}/dispositions",
                        data={"csrf_token": csrf_of(page), "decision": "reject", "reason": " "})
    assert blank.status_code == 422 and "reason" in blank.get_data(as_text=True)
    done = client.post(f"/ui/assessments/{doc['id']}/dispositions",
                       data={"csrf_token": csrf_of(page), "decision": "reject",
                             "reason": "state owner", "conditions": "a\n\nb",
                             "expires_on": later})
    assert done.status_code == 303
    current = client.get(f"/v1/assessments/{doc['id']}",
                         headers=auth("auditor")).get_json()["disposition"]["current"]
    assert (current["decision"], current["reviewer"], current["conditions"],
            current["expires_on"]) == ("reject", "reviewer", ["a", "b"], later)


def test_text_is_escaped(workbench: Flask) -> None:
    client = workbench.test_client()
    body = json.loads((EXAMPLES / "battery-research-canada.json").read_text())
    body["reference"] = "<script>alert(1)</script>"
    created = client.post("/v1/assessments", json=body, headers=auth("submitter")).get_json()
    sign_in(client, "auditor")
    for url in ("/ui/queue", f"/ui/assessments/{created['id']}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_rule_browser_counts_and_links(workbench: Flask, stored: dict[str, Any]) -> None:
    client = workbench.test_client()
    sign_in(client, "auditor")
    html = client.get("/ui/rules").get_data(as_text=True)
    fired: dict[str, list[str]] = {}
    for doc in stored.values():
        for rule in {h["rule"] for f in doc["factors"] for h in f["rules"]}:
            fired.setdefault(rule, []).append(doc["id"])
    assert fired
    for rule, ids in fired.items():
        assert re.search(rf'data-rule="{rule}"><a href="/ui/rules/{rule}#fired">{len(ids)}</a>',
                         html), rule
        detail = client.get(f"/ui/rules/{rule}").get_data(as_text=True)
        assert all(f"/ui/assessments/{i}" in detail for i in ids)
    detail = client.get("/ui/rules/KO-005").get_data(as_text=True)
    assert "some item of technologies where" in detail
    assert 'href="https://www.ecfr.gov/current/title-22/section-126.1"' in detail
    assert client.get("/ui/rules/NOPE").status_code == 404


def test_playground_scores_without_storing(workbench: Flask) -> None:
    client = workbench.test_client()
    sign_in(client, "submitter")
    page = client.get("/ui/playground?example=launch-jv-roscosmos").get_data(as_text=True)
    assert "Roscosmos" in page
    text = (EXAMPLES / "launch-jv-roscosmos.json").read_text()
    result = client.post("/ui/playground", data={"csrf_token": csrf_of(page), "proposal": text})
    html = result.get_data(as_text=True)
    assert 'id="engine-decision">reject<' in html and 'class="waterfall"' in html
    before = client.get("/v1/assessments", headers=auth("auditor")).get_json()["items"]
    assert before == []  # nothing stored
    for bad, message in (("{", "Not JSON"), ('{"title": 1}', "title"),
                         ('{"a": 1, "a": 2}', "Not JSON")):
        html = client.post("/ui/playground", data={"csrf_token": csrf_of(page),
                                                   "proposal": bad}).get_data(as_text=True)
        assert 'id="playground-errors"' in html and message in html


def test_impact_report(workbench: Flask, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("ev-licensing-india", "ev-licensing-china-soe", "battery-research-canada"):
        (corpus / f"{name}.json").write_text((EXAMPLES / f"{name}.json").read_text())
    head = tmp_path / "head"
    import shutil

    shutil.copytree(ROOT / "rules", head)
    pack = head / "pack.yaml"
    pack.write_text(pack.read_text().replace("{band: medium, min: 20, decision: review}",
                                             "{band: medium, min: 30, decision: review}"))
    capsys.readouterr()
    assert main(["diff", "--base", str(ROOT / "rules"), "--head", str(head), "--format",
                 "json", "--workers", "1", str(corpus)]) == 0
    report = json.loads(capsys.readouterr().out)
    client = workbench.test_client()
    sign_in(client, "auditor")
    page = client.get("/ui/impact").get_data(as_text=True)
    import io

    response = client.post("/ui/impact", data={
        "csrf_token": csrf_of(page),
        "report": (io.BytesIO(json.dumps(report).encode()), "diff.json")},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert 'id="matrix-decisions"' in html and 'id="matrix-bands"' in html
    assert len(report["changed"]) >= 1
    for changed in report["changed"]:
        assert changed["label"] in html
    big = dict(report, padding="x" * (3 * 1024 * 1024))  # over the API's 1 MiB body limit
    response = client.post("/ui/impact", data={"csrf_token": csrf_of(page),
                                               "report_text": json.dumps(big)})
    assert response.status_code == 200 and 'id="matrix-decisions"' in response.get_data(
        as_text=True)
    refused = client.post("/ui/impact", data={"csrf_token": csrf_of(page),
                                              "report_text": '{"a": 1}'})
    assert "not a `riskrules diff" in refused.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/ui/static/workbench.css"])
def test_static_assets_are_local(workbench: Flask, url: str) -> None:
    client = workbench.test_client()
    with client.get(url) as response:
        assert response.status_code == 200
        text = response.get_data(as_text=True)
    assert "@media print" in text and "http" not in text


def test_screening_record_per_party(workbench: Flask, stored: dict[str, Any]) -> None:
    """An assessment carrying a screening record (lists, per party outcome and candidates)
    shows it, and evidence pointing into it links to the party's row."""
    from datetime import UTC, datetime

    from api.context import EXTENSION
    from api.service import dumps
    from api.store import NewAssessment

    doc = json.loads(json.dumps(stored["fleet-software-serbia-possible-match"]))
    doc["id"] = "00000000-0000-7000-8000-00000000beef"
    doc["screening"] = {
        "threshold": 88, "possible_at": 75, "max_age_days": 30, "sample": True, "stale": False,
        "lists": [{"name": "sdn_sample", "file": "watchlists/sdn_sample.yaml",
                   "as_of": "2026-11-01", "age_days": 26, "digest": "sha256:" + "a" * 64,
                   "entries": 120, "sample": True, "stale": False}],
        "parties": [
            {"role": "initiator", "path": "initiator", "names": ["Acme GmbH"],
             "outcome": "clear", "score": 41.0, "candidates": []},
            {"role": "owner", "path": "counterparties[0].owners[0]",
             "names": ["Rostec <b>Holding</b>"], "outcome": "possible", "score": 80.5,
             "candidates": [{"list": "sdn_sample", "source": "", "entry_id": "SDN-42",
                             "entry": "State Corporation Rostec", "listed_name": "Rostec",
                             "programs": ["RUSSIA-EO14024"], "score": 80.5,
                             "name": "Rostec Holding", "basis": "partial",
                             "reading": "bgn", "paired": [["rostec", "rostec"]]}]}]}
    first = next(f for f in doc["factors"] if f["rules"])["rules"][0]["evidence"][0]
    first["screening_record"] = "/screening/parties/1"
    svc = workbench.extensions[EXTENSION]
    svc.store.insert([NewAssessment(
        id=doc["id"], created_at=datetime.now(UTC).replace(microsecond=0), reference="SCR",
        decision=doc["decision"], band=doc["band"], score=doc["score"], pack_name="p",
        pack_version="1", pack_digest=doc["ruleset"]["digest"], api_key_id="submitter",
        idempotency_key=None, body_hash=None, proposal_json="{}", assessment_json=dumps(doc))])
    client = workbench.test_client()
    sign_in(client, "auditor")
    html = client.get(f"/ui/assessments/{doc['id']}").get_data(as_text=True)
    section = html[html.index('id="screening"'):]
    assert 'id="screening-party-1"' in section and "State Corporation Rostec" in section
    assert "SDN-42" in section and "80.5 by partial" in section and "RUSSIA-EO14024" in section
    assert "Rostec &lt;b&gt;Holding&lt;/b&gt;" in section  # escaped
    assert "a sample list was used" in section and "sha256:" + "a" * 64 in section
    assert 'id="other-screening"' not in html  # laid out, not dumped generically
    assert '<a href="#screening-party-1">screening record</a>' in html


def test_revoking_the_key_ends_its_sessions(sqlite_url: str, tmp_path: Path) -> None:
    from api.auth import ApiKey, generate_key, hash_key, revoke_keys, write_keys

    secrets = {"officer": generate_key(), "other": generate_key()}
    keys_file = str(tmp_path / "keys.yaml")
    write_keys(keys_file, [ApiKey(k, hash_key(v), frozenset({"auditor", "reviewer"}))
                           for k, v in secrets.items()])
    app = make_workbench(sqlite_url, KEYS=None, KEYS_FILE=keys_file, KEYS_CHECK_INTERVAL=0)
    try:
        client = app.test_client()
        page = client.get("/ui/sign-in").get_data(as_text=True)
        signed = client.post("/ui/sign-in", data={"api_key": secrets["officer"],
                                                  "csrf_token": csrf_of(page)})
        assert signed.status_code == 302
        assert client.get("/ui/queue").status_code == 200
        revoke_keys(keys_file, ["officer"])
        response = client.get("/ui/queue")
        assert response.status_code == 302 and response.location.startswith("/ui/sign-in")
    finally:
        close(app)
