/*! journeymap.js: the browser tracker served by `journeymap serve` at /t.js. No dependencies.
 *
 *   <script src="https://collector.example/t.js" data-write-key="jmw_..." async></script>
 *   <script>
 *     window.journeymap = window.journeymap || [];
 *     journeymap.push(["track", "Signed Up", {plan: "pro"}]);    // works before and after load
 *     journeymap.push(["identify", "user-42", {plan: "pro"}]);
 *   </script>
 *
 * After load, window.journeymap also has page(name?, props?), track(event, props?),
 * identify(userId, traits?), reset(), flush(), anonymousId(), userId() and
 * init({writeKey, host, autoPage}). The collector is the folder of this script's src
 * (data-host overrides it); data-auto-page="false" turns off the page view sent on load.
 * Ids: anonymous id in the first-party cookie jm_anon (1 year, SameSite=Lax, Secure on https;
 * localStorage fallback), user id from identify() in jm_user; reset() forgets the user and
 * starts a new anonymous id. Messages (Segment spec: messageId, timestamp, context with page,
 * campaign from utm_* in the URL, library, userAgent, locale, screen) go in batches of up to 20,
 * about a second apart, as text/plain (no CORS preflight) with writeKey and sentAt in the body;
 * on pagehide or a hidden tab by sendBeacon. Network errors, 429 and 5xx are retried with
 * exponential backoff and jitter (Retry-After honoured when readable); another 4xx is dropped
 * with a console warning. Unsent messages wait in localStorage (jm_queue, at most 100) and are
 * resent by the next page; retries keep their messageId, so the collector stores them once.
 */
(function (w, d) {
  "use strict";
  var VERSION = "1.0.0", FLUSH_AT = 20, FLUSH_MS = 1000, MAX_STORED = 100;
  var MAX_MSG = 32000, MAX_BATCH = 500000, KEEPALIVE_MAX = 60000, YEAR = 31536000;
  var stub = w.journeymap;
  if (stub && stub.__journeymap) return; // loaded twice
  var pending = Array.isArray(stub) ? stub.slice() : [];
  var script = d.currentScript || d.querySelector("script[data-write-key],script[src$='/t.js']");
  var attr = function (n) { return script && script.getAttribute(n); };
  var src = script && script.src ? script.src.split(/[?#]/)[0] : "";
  var cfg = { writeKey: attr("data-write-key"), host: attr("data-host") || src.replace(/\/[^\/]*$/, ""),
              autoPage: attr("data-auto-page") !== "false" };
  var q = [], inflight = false, timer = null, retryTimer = null, failures = 0, lastTs = 0;

  function warn(m) { try { console.warn("journeymap: " + m); } catch (e) { /* no console */ } }
  function uuid() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var b = new Uint8Array(16), i, h = "";
    if (c && c.getRandomValues) c.getRandomValues(b); else for (i = 0; i < 16; i++) b[i] = Math.random() * 256;
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (i = 0; i < 16; i++) h += (i === 4 || i === 6 || i === 8 || i === 10 ? "-" : "") + (b[i] + 256).toString(16).slice(1);
    return h;
  }
  function ls(k, v) { // localStorage get (v undefined), set, or remove (v null); never throws
    try {
      if (v === undefined) return w.localStorage.getItem(k);
      if (v === null) w.localStorage.removeItem(k); else w.localStorage.setItem(k, v);
    } catch (e) { /* blocked */ }
    return null;
  }
  function cookie(k, v) {
    try {
      if (v === undefined) {
        var m = d.cookie.match(new RegExp("(?:^|;\\s*)" + k + "=([^;]*)"));
        return m ? decodeURIComponent(m[1]) : null;
      }
      d.cookie = k + "=" + (v === null ? "; Max-Age=0" : encodeURIComponent(v) + "; Max-Age=" + YEAR) +
        "; Path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
    } catch (e) { /* blocked */ }
    return null;
  }
  function id(k, v) { // read or write an id in the cookie and in localStorage
    if (v !== undefined) { cookie(k, v); ls(k, v); return v; }
    v = cookie(k) || ls(k);
    if (v) cookie(k, v); // refresh the expiry, or restore a cookie from localStorage
    return v;
  }
  var anon = id("jm_anon") || id("jm_anon", uuid());

  function size(s) { try { return new Blob([s]).size; } catch (e) { return s.length * 3; } }
  function load() { try { return JSON.parse(ls("jm_queue") || "[]") || []; } catch (e) { return []; } }
  function save(add, drop) { // merge into the stored queue (other tabs may share it)
    var ids = {}, out = [];
    (drop || []).forEach(function (m) { ids[m.messageId] = 1; });
    load().concat(add || []).forEach(function (m) {
      if (m && m.messageId && !ids[m.messageId]) { ids[m.messageId] = 1; out.push(m); }
    });
    ls("jm_queue", out.length ? JSON.stringify(out.slice(-MAX_STORED)) : null);
  }

  function context() {
    var p = new URLSearchParams(location.search), c = {}, ctx;
    ["source", "medium", "name:campaign", "term", "content"].forEach(function (f) {
      var k = f.split(":"), v = p.get("utm_" + (k[1] || k[0]));
      if (v) c[k[0]] = v;
    });
    ctx = { library: { name: "journeymap.js", version: VERSION }, page: page(), userAgent: navigator.userAgent,
            locale: navigator.language, screen: { width: screen.width, height: screen.height,
            density: w.devicePixelRatio } };
    try { ctx.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* old browser */ }
    if (Object.keys(c).length) ctx.campaign = c;
    return ctx;
  }
  function page() {
    return { url: location.href.split("#")[0], path: location.pathname, title: d.title,
             referrer: d.referrer, search: location.search };
  }
  function obj(v) { return v && typeof v === "object" && !Array.isArray(v) ? v : {}; }

  function enqueue(m) {
    var t = Math.max(Date.now(), lastTs + 1); // strictly increasing: the timeline keeps call order
    lastTs = t;
    m.messageId = uuid(); m.timestamp = new Date(t).toISOString(); m.anonymousId = anon; m.context = context();
    var user = id("jm_user");
    if (user && !m.userId) m.userId = user;
    if (size(JSON.stringify(m)) > MAX_MSG) return warn("message dropped: larger than " + MAX_MSG + " bytes");
    q.push(m);
    if (q.length > MAX_STORED * 10) q.shift();
    save([m]);
    if (q.length >= FLUSH_AT) flush(); else if (!timer) timer = setTimeout(flush, FLUSH_MS);
  }
  function body(batch) { return JSON.stringify({ batch: batch, sentAt: new Date().toISOString(), writeKey: cfg.writeKey }); }
  function take(limit) { // the next batch: at most FLUSH_AT messages and `limit` bytes
    var batch = [], bytes = 200;
    while (q.length && batch.length < FLUSH_AT) {
      var n = size(JSON.stringify(q[0])) + 1;
      if (batch.length && bytes + n > limit) break;
      bytes += n; batch.push(q.shift());
    }
    return batch;
  }
  function flush() {
    clearTimeout(timer); timer = null;
    if (inflight || retryTimer || !q.length || !cfg.writeKey || !cfg.host) return;
    var batch = take(MAX_BATCH), text = body(batch);
    inflight = true;
    fetch(cfg.host + "/v1/batch", { method: "POST", body: text, keepalive: size(text) < KEEPALIVE_MAX,
      credentials: "omit", headers: { "Content-Type": "text/plain" } }).then(function (r) {
      inflight = false;
      if (r.ok) {
        failures = 0; save(null, batch);
        r.json().then(function (b) {
          if (b && b.errors && b.errors.length) warn("some messages were refused: " + JSON.stringify(b.errors));
        }, function () {});
      } else if (r.status === 429 || r.status >= 500) {
        return retry(batch, parseFloat(r.headers.get("Retry-After")));
      } else {
        save(null, batch);
        r.text().then(function (t) { warn("collector answered " + r.status + ", messages dropped: " + t); });
      }
      if (q.length) flush();
    }, function () {
      inflight = false;
      if (!failures) warn("collector unreachable (network or CORS: check collector.cors_origins); retrying");
      retry(batch);
    });
  }
  function retry(batch, after) {
    q = batch.concat(q);
    var wait = Math.min(60000, 1000 * Math.pow(2, failures++)) * (0.75 + Math.random() / 2);
    if (after > 0) wait = Math.max(wait, Math.min(after, 300) * 1000);
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, wait);
  }
  function beacon() { // the page is going away: hand everything to the browser
    if (!cfg.writeKey || !cfg.host || !navigator.sendBeacon) return;
    var all = q.slice(), failing = failures || retryTimer;
    while (q.length) {
      var batch = take(KEEPALIVE_MAX), ok = false;
      try {
        ok = navigator.sendBeacon(cfg.host + "/v1/batch", new Blob([body(batch)], { type: "text/plain" }));
      } catch (e) { /* refused */ }
      if (!ok) { q = batch.concat(q); break; }
      if (!failing) save(null, batch);
    }
    if (failing) q = all; // the collector was failing: keep retrying them here and on the next page
  }

  var api = {
    __journeymap: VERSION,
    push: function (call) { var f = call && api[call[0]]; if (typeof f === "function" && call[0] !== "push") f.apply(api, call.slice(1)); else warn("unknown call " + (call && call[0])); },
    init: function (o) {
      o = obj(o);
      if (o.writeKey) cfg.writeKey = o.writeKey;
      if (o.host) cfg.host = String(o.host).replace(/\/+$/, "");
      if (o.autoPage !== undefined) cfg.autoPage = !!o.autoPage;
      if (q.length) flush();
    },
    page: function (name, props) {
      if (typeof name === "object") { props = name; name = null; }
      var m = { type: "page", properties: Object.assign(page(), obj(props)) };
      if (name) m.name = String(name);
      enqueue(m);
    },
    track: function (event, props) {
      if (!event) return warn("track needs an event name");
      enqueue({ type: "track", event: String(event), properties: obj(props) });
    },
    identify: function (userId, traits) {
      if (typeof userId === "object" && userId) { traits = userId; userId = null; }
      if (userId != null && userId !== "") id("jm_user", String(userId));
      enqueue({ type: "identify", traits: obj(traits) }); // userId: the remembered one, if any
    },
    reset: function () { cookie("jm_user", null); ls("jm_user", null); anon = id("jm_anon", uuid()); },
    flush: function () { flush(); },
    anonymousId: function () { return anon; },
    userId: function () { return id("jm_user"); }
  };
  w.journeymap = api;

  q = load(); // unsent messages of earlier pages
  pending.forEach(function (c) { if (c && c[0] === "init") api.push(c); });
  if (!cfg.writeKey) warn("no write key: add data-write-key to the script tag or call journeymap.init({writeKey})");
  if (cfg.autoPage) api.page();
  pending.forEach(function (c) { if (c && c[0] !== "init") api.push(c); });
  if (q.length && !timer) timer = setTimeout(flush, FLUSH_MS);
  w.addEventListener("pagehide", beacon);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") beacon(); });
})(window, document);
