/* wagtail-nanovod player script: plain ES2017, no build step, no dependencies.
 * Keeps upcoming/live/processing players current by polling their state endpoint, starts
 * H5Live players (loading nanoStream's script once, on demand) and loads click-to-load facades.
 *
 * Public hooks:
 *   window.nanovod.loadAll()  load every facade: for consent managers, the same as
 *                             document.dispatchEvent(new Event("nanovod:consent"))
 *   window.nanovod.load(fig)  load one facade
 *   window.nanovod.poll()     ask the state endpoints now
 *   window.nanovodConsent = true   set before this script has run: load facades at once
 * A swapped-in figure fires a bubbling "nanovod:statechange" with detail {streamId, state}.
 */
(() => {
  "use strict";
  if (window.nanovod) return; // the tag follows every player that needs it: run once

  const FIG = "figure[data-nanovod-stream]";
  const MAX_DELAY = 300; // seconds: the back-off cap, so an outage costs little
  const BATCH = 50; // ids per state request: the endpoint's limit
  const players = new WeakMap(); // figure -> NanoPlayer, destroyed when the figure goes
  const swapping = new WeakSet();
  const loaded = new WeakSet(); // loaded by the visitor: a swap must not bring the facade back
  const clipped = new WeakSet(); // videos held to their clip's end
  const scripts = {}; // H5Live script URL -> promise
  const pollers = {}; // state URL -> {timer, busy, failures, interval, hidden}
  let consented = false;
  let count = 0;
  let announcer = null; // the live region that tells screen readers of a state change

  const data = (el, name) => el.getAttribute("data-nanovod-" + name);
  const figures = () => [...document.querySelectorAll(FIG)];
  const isFacade = (fig) => fig.hasAttribute("data-nanovod-facade");
  const isActive = (fig) => fig.hasAttribute("data-nanovod-poll");
  const join = (url, query) => url + (url.includes("?") ? "&" : "?") + query;
  const warn = (what, err) => console.warn("nanovod: " + what, err);

  async function get(url, accept) {
    const response = await fetch(url, {credentials: "same-origin", headers: {Accept: accept}});
    if (!response.ok) throw new Error(response.status + " from " + url);
    return response;
  }

  function loadScript(src) {
    if (window.NanoPlayer) return Promise.resolve();
    return scripts[src] || (scripts[src] = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => {
        delete scripts[src]; // so that a later live player tries again
        script.remove();
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(script);
    }));
  }

  async function startLive(fig) {
    const div = fig.querySelector("[data-nanovod-h5live]");
    if (!div || players.has(fig)) return;
    players.set(fig, null);
    div.id = div.id || "nanovod-js-" + ++count; // NanoPlayer finds its element by id
    try {
      const config = JSON.parse(data(div, "h5live"));
      await loadScript(data(div, "h5live-script"));
      if (!div.isConnected) return; // swapped while the script loaded
      const player = new window.NanoPlayer(div.id);
      players.set(fig, player);
      await player.setup(config);
    } catch (err) {
      warn("H5Live player failed", err);
    }
  }

  // Put the figure's current markup, from its player URL, in its place. how: "play" (the
  // visitor pressed play), "load" (consent: the player, not playing), "" (a state change).
  async function swap(fig, how, version) {
    const url = data(fig, "player-url");
    if (!url || swapping.has(fig)) return null;
    swapping.add(fig);
    how = how || (loaded.has(fig) ? "load" : "");
    // The version keeps a cache in front from answering with the markup it replaces.
    const query = [how && how + "=1", version && "v=" + encodeURIComponent(version)];
    let fresh = null;
    try {
      const template = document.createElement("template");
      const target = query.some(Boolean) ? join(url, query.filter(Boolean).join("&")) : url;
      template.innerHTML = await (await get(target, "text/html")).text();
      // Only the figure; a <script> in it stays inert, this one already runs.
      fresh = template.content.querySelector(FIG);
      if (!fresh) throw new Error("no player from " + url);
      if (!fig.isConnected) return (fresh = null);
      const player = players.get(fig);
      try {
        if (player && player.destroy) player.destroy();
      } catch (err) {
        warn("destroy failed", err);
      }
      fig.replaceWith(fresh);
      if (how) loaded.add(fresh);
      startLive(fresh);
      clips(fresh);
      if (!how) announce(fresh);
      const detail = {streamId: data(fresh, "stream"), state: data(fresh, "state")};
      fresh.dispatchEvent(new CustomEvent("nanovod:statechange", {bubbles: true, detail}));
    } catch (err) {
      warn("player update failed", err);
      fresh = null;
    } finally {
      swapping.delete(fig);
    }
    if (fresh && consented) load(fresh); // consent covers a facade that a state change brings
    resume();
    return fresh;
  }

  // A state change is announced in a live region made before any swap (a region that
  // arrives with new content is not announced): the player's own announcement, else its
  // message.
  function announce(fig) {
    const message = fig.querySelector(".nanovod__message");
    const text = (data(fig, "announcement") || (message ? message.textContent : "")).trim();
    if (!announcer || !text) return;
    announcer.textContent = text;
  }

  function makeAnnouncer() {
    if (announcer || !figures().some(isActive)) return;
    announcer = document.createElement("div");
    announcer.className = "nanovod__announcer";
    announcer.setAttribute("role", "status");
    announcer.setAttribute("aria-live", "polite");
    document.body.appendChild(announcer);
  }

  function active() {
    const groups = {};
    for (const fig of figures().filter(isActive)) {
      const url = data(fig, "state-url");
      if (url && data(fig, "stream")) (groups[url] = groups[url] || []).push(fig);
    }
    return groups;
  }

  async function check(p, url, figs) {
    const ids = [...new Set(figs.map((fig) => data(fig, "stream")))].sort();
    try {
      const streams = {};
      for (let i = 0; i < ids.length; i += BATCH) {
        const query = ids.slice(i, i + BATCH).map((id) => "id=" + encodeURIComponent(id));
        const answer = (await (await get(join(url, query.join("&")), "application/json")).json()) || {};
        Object.assign(streams, answer.streams || {});
        p.interval = answer.interval > 0 ? +answer.interval : 0;
      }
      p.failures = 0;
      // Walk the page, not the answer: streams no longer on the page are ignored.
      const asked = figures().filter((fig) => isActive(fig) && ids.includes(data(fig, "stream")));
      await Promise.all(asked.map((fig) => {
        const s = streams[data(fig, "stream")];
        // A live player that could not be given a secure playback token asks again.
        const changed = s && ((s.state != null && String(s.state) !== data(fig, "state")) ||
          (s.version != null && String(s.version) !== data(fig, "version")) ||
          fig.hasAttribute("data-nanovod-retry"));
        return changed && swap(fig, "", s.version);
      }));
    } catch (err) {
      warn("state request failed", err);
      p.failures++;
    }
  }

  async function ask(url) {
    const p = pollers[url];
    if (p.busy) return p.busy; // one request in flight per state URL
    clearTimeout(p.timer);
    p.timer = null;
    const figs = active()[url];
    if (!figs) return; // nothing active any more: stop
    if (document.hidden) return void (p.hidden = true); // asked again when visible
    p.busy = check(p, url, figs);
    await p.busy;
    p.busy = null;
    schedule(url);
  }

  function schedule(url) {
    const p = pollers[url] || (pollers[url] = {failures: 0});
    const figs = active()[url];
    if (p.timer || p.busy || !figs) return;
    const base = p.interval || Math.min(...figs.map((fig) => +data(fig, "poll") || 15));
    const seconds = Math.max(2, Math.min(base * 2 ** p.failures, MAX_DELAY));
    // Jitter keeps a crowd of visitors from asking in lockstep.
    p.timer = setTimeout(() => ask(url), seconds * (900 + Math.random() * 200));
  }

  const resume = () => Object.keys(active()).forEach(schedule);

  function poll() {
    makeAnnouncer(); // for players added since
    resume(); // a poller for each state URL, also for figures added since
    return Promise.all(Object.keys(active()).map(ask));
  }

  function load(el, how = "load") {
    const fig = el && el.closest && el.closest(FIG);
    return fig && isFacade(fig) ? swap(fig, how) : Promise.resolve(null);
  }

  function loadAll() {
    consented = true;
    return Promise.all(figures().filter(isFacade).map((fig) => load(fig)));
  }

  // Listeners go on at once, so that an early consent is not lost.
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element && event.target.closest("[data-nanovod-load]");
    if (!button || !button.closest(FIG)) return;
    event.preventDefault();
    const fresh = await load(button, "play");
    const video = fresh && fresh.querySelector("video");
    if (!video) return;
    video.focus({preventScroll: true}); // the clicked button is gone
    video.play().catch(() => {}); // an autoplay policy may refuse: the controls are there
  });
  document.addEventListener("nanovod:consent", () => loadAll());
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    for (const url of Object.keys(pollers)) {
      if (pollers[url].hidden) {
        pollers[url].hidden = false;
        ask(url);
      }
    }
  });

  // A clip: browsers that ignore the media fragment's end are stopped there; play after
  // the end starts the clip again.
  function keepToClip(video) {
    if (clipped.has(video)) return;
    clipped.add(video);
    const start = +data(video, "start") || 0;
    const end = +data(video, "end");
    video.addEventListener("timeupdate", () => {
      if (video.currentTime >= end && !video.paused) {
        video.pause();
        video.currentTime = end;
      }
    });
    video.addEventListener("play", () => {
      if (video.currentTime >= end - 0.05) video.currentTime = start;
    });
  }

  const clips = (root) => root.querySelectorAll("video[data-nanovod-end]").forEach(keepToClip);

  function init() {
    // Consent given before this script ran (a consent manager that loads first).
    if (window.nanovodConsent === true) consented = true;
    figures().forEach(startLive);
    clips(document);
    makeAnnouncer();
    resume();
    if (consented) loadAll(); // consent came while the page was loading
  }

  window.nanovod = {loadAll, load, poll};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
