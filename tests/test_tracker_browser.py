"""The browser tracker (/t.js) in a real headless Chromium against a real `journeymap serve`.

A static page server on one port (the site's origin) loads the tracker from the collector on
another port (a different origin, allowed by ``collector.cors_origins``), exactly as a website
would. Events are checked where they end up: in the store, through the JSON API's timeline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import httpx
import pytest

from journeymap.mapview.screenshot import BrowserError, find_chromium

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CLI = [sys.executable, "-m", "journeymap.cli"]
UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale&utm_term=crm&utm_content=hero"
REFERRER = "https://search.example/?q=journey+analytics"
# Records every request the tracker makes (fetch and sendBeacon) with its messageIds and outcome.
SPY = """
window.__jmSent = [];
(function () {
  function ids(body) { try { return JSON.parse(body).batch.map(function (m) { return m.messageId; }); }
                       catch (e) { return []; } }
  var realFetch = window.fetch;
  window.fetch = function (url, init) {
    var rec = {kind: "fetch", url: String(url), ids: ids(init && init.body), outcome: "pending", at: Date.now()};
    window.__jmSent.push(rec);
    return realFetch.apply(this, arguments).then(function (r) { rec.outcome = r.status; return r; },
                                                 function (e) { rec.outcome = "error"; throw e; });
  };
  var realBeacon = navigator.sendBeacon && navigator.sendBeacon.bind(navigator);
  if (realBeacon) navigator.sendBeacon = function (url, data) {
    window.__jmSent.push({kind: "beacon", url: String(url), ids: [], outcome: "beacon"});
    return realBeacon(url, data);
  };
})();
"""


# --- the site: a static server on its own origin ------------------------------------------------
class Site:
    """Serves ``pages`` (path -> html) and the tracker file at /static/t.js, from a thread.

    ``POST /busy/v1/batch`` stands in for an overloaded collector: it answers the first
    ``busy_answers`` requests with 503 and ``Retry-After: 2``, then forwards to ``forward_to``."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.busy_answers = 0
        self.forward_to = ""
        tracker = resources.files("journeymap.collector").joinpath("static/t.js").read_bytes()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                if path == "/static/t.js":
                    body, kind = tracker, "application/javascript"
                elif path in site.pages:
                    body, kind = site.pages[path].encode("utf-8"), "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/busy/v1/batch":
                    self.send_error(404)
                    return
                if site.busy_answers > 0:
                    site.busy_answers -= 1
                    status, answer, extra = 503, b'{"ok":false,"error":"busy","errors":[],"status":503}', {
                        "Retry-After": "2"}
                else:
                    forwarded = httpx.post(site.forward_to + "/v1/batch", content=body, timeout=10,
                                           headers={"Content-Type": "text/plain"})
                    status, answer, extra = forwarded.status_code, forwarded.content, {}
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", "Content-Length": str(len(answer)),
                                    **extra}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, path: str, title: str, *, tracker_src: str, write_key: str, extra_attrs: str = "",
             before: str = "") -> str:
        self.pages[path] = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<script>window.journeymap = window.journeymap || []; {before}</script>
<script src="{tracker_src}" data-write-key="{write_key}" {extra_attrs} async></script>
</head><body><h1>{title}</h1></body></html>"""
        return self.origin + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the collector: `journeymap serve` as a subprocess -------------------------------------------
class Collector:
    def __init__(self, folder: Path, site_origin: str) -> None:
        self.folder = folder
        self.store = folder / "store.duckdb"
        self.config = folder / "journeymap.toml"
        self.config.write_text(f'[collector]\ncors_origins = ["{site_origin}"]\n', encoding="utf-8")
        self.write_key = self._key("--write")
        self.read_token = self._key("--read")
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log: list[str] = []

    def _key(self, kind: str) -> str:
        done = subprocess.run([*CLI, "--db", str(self.store), "keys", "create", kind, "--source", "website",
                               "--format", "json"], capture_output=True, text=True, timeout=120, cwd=self.folder)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["secret"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0, timeout: float = 45) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "--config", str(self.config), "--db", str(self.store), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--flush-interval", "0.5s", "--log-requests"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.folder)
        listening = threading.Event()

        def drain(stream) -> None:  # keep reading, so a full pipe never blocks the server
            for line in stream:
                self.log.append(line.rstrip("\n"))
                found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if found:
                    self.port = int(found.group(1))
                    listening.set()

        threading.Thread(target=drain, args=(self.proc.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not listening.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("journeymap serve did not start:\n" + "\n".join(self.log[-30:]))
        # the socket is bound before uvicorn's loop serves it: wait until it answers
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        pytest.fail("journeymap serve never answered /health:\n" + "\n".join(self.log[-30:]))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def statuses(self, status: int) -> int:
        """How many POST /v1/batch requests the server answered with ``status`` (its access log)."""
        return sum(1 for line in list(self.log) if '"POST /v1/batch' in line and f'" {status}' in line)

    def timeline(self, who: str, *, until, timeout: float = 30) -> list[dict]:
        """The customer's timeline once ``until(rows)`` holds (events show after a flush)."""
        deadline, rows = time.monotonic() + timeout, []
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{self.url}/api/customers/{who}/timeline", timeout=10,
                                   headers={"Authorization": f"Bearer {self.read_token}"})
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code == 200:
                rows = answer.json()["rows"]
                if until(rows):
                    return rows
            time.sleep(0.3)
        pytest.fail(f"the timeline of {who} never got the expected events; last rows: {json.dumps(rows)[:3000]}")


# --- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_chromium()
    except BrowserError as exc:
        pytest.skip(f"headless Chromium is not installed ({exc}); apt-get install -y chromium")


@pytest.fixture(scope="module")
def site():
    server = Site()
    yield server
    server.close()


@pytest.fixture(scope="module")
def collector(site, tmp_path_factory):
    server = Collector(tmp_path_factory.mktemp("tracker"), site.origin)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context()
    ctx.add_init_script(SPY)
    yield ctx
    ctx.close()


def ready(page) -> None:
    page.wait_for_function("window.journeymap && window.journeymap.__journeymap", timeout=15_000)


def events(rows: list[dict]) -> list[str]:
    return [r["event"] for r in rows]


def wait_until(page, check, timeout: float = 20, what: str = "condition") -> None:
    """Poll ``check()``; the page's wait lets Playwright deliver its events (console) meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        page.wait_for_timeout(100)
    pytest.fail(f"timed out waiting for {what}")


# --- tests ----------------------------------------------------------------------------------------
def test_t_js_is_served_as_javascript(collector):
    answer = httpx.get(collector.url + "/t.js", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    assert "journeymap.js" in answer.text and "/v1/batch" in answer.text
    assert len(answer.content) < 16_000
    shipped = resources.files("journeymap.collector").joinpath("static/t.js").read_bytes()
    assert answer.content == shipped


def test_page_track_identify_land_stitched_to_one_customer(collector, site, context):
    url = site.page("/pricing.html", "Pricing - Test Shop", tracker_src=collector.url + "/t.js",
                    write_key=collector.write_key,
                    before='journeymap.push(["track", "Queued Before Load", {"early": true}]);')
    page = context.new_page()
    page.goto(f"{url}?{UTM}", referer=REFERRER)
    ready(page)
    page.evaluate("journeymap.track('Signed Up', {plan: 'pro', seats: 3})")
    page.evaluate("journeymap.identify('user-42', {plan: 'pro', email: 'ada@example.com'})")
    page.evaluate("journeymap.track('Upgraded', {})")  # after identify: carries the user id
    anon = page.evaluate("journeymap.anonymousId()")

    expected = ["page_view", "Queued Before Load", "Signed Up", "identify", "Upgraded"]
    rows = collector.timeline("user-42", until=lambda rows: set(expected) <= set(events(rows)))
    assert events(rows) == expected  # in call order: timestamps strictly increase
    assert len({r["customer_id"] for r in rows}) == 1
    assert {r["anonymous_id"] for r in rows} == {anon}
    assert [r["user_id"] for r in rows] == [None, None, None, "user-42", "user-42"]
    cookie = {c["name"]: c for c in context.cookies()}["jm_anon"]
    assert cookie["value"] == anon and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert cookie["expires"] > time.time() + 360 * 86400
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", anon)

    view = rows[0]
    assert view["url"] == f"{url}?{UTM}"
    assert view["page_title"] == "Pricing - Test Shop"
    assert view["referrer"] == REFERRER
    assert (view["utm_source"], view["utm_medium"], view["utm_campaign"], view["utm_term"],
            view["utm_content"]) == ("newsletter", "email", "spring-sale", "crm", "hero")
    view_props = json.loads(view["properties"])
    assert view_props["path"] == "/pricing.html" and view_props["search"] == f"?{UTM}"
    assert view_props["context_library"] == {"name": "journeymap.js", "version": "1.0.0"}
    assert view_props["context_userAgent"] and view_props["context_locale"]

    signed_up = rows[2]
    assert json.loads(signed_up["properties"])["plan"] == "pro"
    assert signed_up["url"] == f"{url}?{UTM}"  # every message carries context.page
    assert rows[3]["email_hash"]
    # every message went out once, by fetch, and was acknowledged
    sent = page.evaluate("window.__jmSent")
    ids = [i for rec in sent for i in rec["ids"]]
    assert len(ids) == len(set(ids)) == 5 and {rec["outcome"] for rec in sent} == {200}
    assert page.evaluate("localStorage.getItem('jm_queue')") is None


def test_anonymous_id_survives_a_second_page_load(collector, site, context):
    first = site.page("/a.html", "Page A", tracker_src=collector.url + "/t.js", write_key=collector.write_key)
    second = site.page("/b.html", "Page B", tracker_src=collector.url + "/t.js", write_key=collector.write_key)
    page = context.new_page()
    page.goto(first)
    ready(page)
    anon = page.evaluate("journeymap.anonymousId()")
    with page.expect_navigation():
        page.evaluate(f"location.href = {json.dumps(second)}")  # a navigation with a referrer
    ready(page)
    assert page.evaluate("journeymap.anonymousId()") == anon
    # an event just before the page goes away leaves by sendBeacon, not by a second fetch
    page.evaluate("journeymap.track('Left Page', {}); window.dispatchEvent(new Event('pagehide'))")
    rows = collector.timeline(anon, until=lambda rows: len(rows) >= 3)
    assert [(r["event"], r["url"], r["anonymous_id"]) for r in rows] == [
        ("page_view", first, anon), ("page_view", second, anon), ("Left Page", second, anon)]
    assert rows[1]["referrer"] == first
    sent = page.evaluate("window.__jmSent")
    assert any(rec["kind"] == "beacon" for rec in sent)
    assert not any(rows[2]["event_id"] in rec["ids"] for rec in sent)
    wait_until(page, lambda: page.evaluate("localStorage.getItem('jm_queue')") is None,
               what="the stored queue to empty")
    # cookies cleared: the id comes back from localStorage (and the cookie is restored)
    context.clear_cookies()
    page.reload()
    ready(page)
    assert page.evaluate("journeymap.anonymousId()") == anon
    assert {c["name"]: c["value"] for c in context.cookies()}["jm_anon"] == anon
    # reset() (log out) starts a new anonymous id and forgets the user
    page.evaluate("journeymap.identify('user-reset', {}); journeymap.reset()")
    assert page.evaluate("journeymap.anonymousId()") != anon
    assert page.evaluate("journeymap.userId()") is None


def test_auto_page_off_and_init(collector, site, context):
    url = site.page("/manual.html", "Manual", tracker_src=collector.url + "/t.js", write_key="",
                    extra_attrs='data-auto-page="false"',
                    before=f'journeymap.push(["init", {{"writeKey": "{collector.write_key}"}}]);'
                           'journeymap.push(["page", "Manual page", {"section": "docs"}]);')
    page = context.new_page()
    page.goto(url)
    ready(page)
    anon = page.evaluate("journeymap.anonymousId()")
    rows = collector.timeline(anon, until=lambda rows: len(rows) >= 1)
    # no automatic page view: the one queued page() call was the only message sent
    assert [i for rec in page.evaluate("window.__jmSent") for i in rec["ids"]] == [rows[0]["event_id"]]
    assert [(r["event"], json.loads(r["properties"]).get("section")) for r in rows] == [("page_view", "docs")]


def test_a_4xx_is_not_retried(collector, site, context):
    url = site.page("/badkey.html", "Bad key", tracker_src=collector.url + "/t.js", write_key="jmw_not_a_key")
    page = context.new_page()
    warnings: list[str] = []
    page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)
    before = collector.statuses(401)
    page.goto(url)
    ready(page)
    page.evaluate("journeymap.track('Never Stored', {})")
    wait_until(page, lambda: any("401" in w for w in warnings), what="the tracker's warning about the 401")
    wait_until(page, lambda: not page.evaluate("window.__jmSent.some(r => r.outcome === 'pending')"),
               what="the requests to finish")
    page.wait_for_timeout(3000)  # a retry would come within 1.25 s, the next within 2.5 s more
    sent = page.evaluate("window.__jmSent")
    ids = [i for rec in sent for i in rec["ids"]]
    assert len(ids) == len(set(ids)) == 2, sent  # the page view and the track event, each sent once
    assert {rec["outcome"] for rec in sent} == {401}
    assert collector.statuses(401) - before == len(sent)
    assert page.evaluate("localStorage.getItem('jm_queue')") is None  # dropped, not kept for later


def test_events_wait_out_an_outage_and_a_navigation_then_arrive_once(collector, site, context):
    """The collector is down while the visitor reads page A and goes on to page B; when it comes
    back, page B's tracker sends page A's events (kept in localStorage): each stored once."""
    tracker = site.origin + "/static/t.js"  # the tracker from the site itself: the collector is down
    attrs = f'data-host="{collector.url}"'
    first = site.page("/outage-a.html", "Outage A", tracker_src=tracker, write_key=collector.write_key,
                      extra_attrs=attrs)
    second = site.page("/outage-b.html", "Outage B", tracker_src=tracker, write_key=collector.write_key,
                       extra_attrs=attrs)
    port = collector.port
    collector.stop()
    try:
        page = context.new_page()
        page.goto(first)
        ready(page)
        anon = page.evaluate("journeymap.anonymousId()")
        page.evaluate("journeymap.track('Read Article', {slug: 'outage'})")
        wait_until(page, lambda: page.evaluate("window.__jmSent.filter(r => r.outcome === 'error').length") >= 1,
                   what="a failed send")
        stored = page.evaluate("JSON.parse(localStorage.getItem('jm_queue') || '[]')")
        assert [m.get("event", m["type"]) for m in stored] == ["page", "Read Article"]
        page.goto(second)
        ready(page)
        stored = page.evaluate("JSON.parse(localStorage.getItem('jm_queue') || '[]')")
        assert len(stored) == 3  # page A's two messages and page B's view
        wait_until(page, lambda: page.evaluate("window.__jmSent.filter(r => r.outcome === 'error').length") >= 1,
                   what="page B's failed send")
    finally:
        collector.start(port=port)
    rows = collector.timeline(anon, until=lambda rows: len(rows) >= 3)
    assert [(r["event"], r["url"]) for r in rows] == [("page_view", first), ("Read Article", first),
                                                      ("page_view", second)]
    wait_until(page, lambda: page.evaluate("localStorage.getItem('jm_queue')") is None, what="the stored queue to empty")
    sent = page.evaluate("window.__jmSent")
    delivered = [i for rec in sent if rec["outcome"] == 200 for i in rec["ids"]]
    assert sorted(delivered) == sorted({m["messageId"] for m in stored})  # each acknowledged once
    time.sleep(1)
    rows = collector.timeline(anon, until=lambda rows: len(rows) >= 3)
    assert len(rows) == 3


def test_a_503_is_retried_after_retry_after(collector, site, context):
    """Retry-After (readable here: the stand-in answers from the page's own origin) is waited out,
    longer than the first backoff step (at most 1.25 s); the retry is the same messages."""
    site.busy_answers, site.forward_to = 1, collector.url
    url = site.page("/busy.html", "Busy", tracker_src=site.origin + "/static/t.js", write_key=collector.write_key,
                    extra_attrs=f'data-host="{site.origin}/busy"')
    page = context.new_page()
    page.goto(url)
    ready(page)
    anon = page.evaluate("journeymap.anonymousId()")
    rows = collector.timeline(anon, until=lambda rows: len(rows) >= 1)
    assert [(r["event"], r["url"]) for r in rows] == [("page_view", url)]
    sent = page.evaluate("window.__jmSent")
    assert [rec["outcome"] for rec in sent] == [503, 200]
    assert sent[0]["ids"] == sent[1]["ids"] == [rows[0]["event_id"]]
    assert sent[1]["at"] - sent[0]["at"] >= 1900
