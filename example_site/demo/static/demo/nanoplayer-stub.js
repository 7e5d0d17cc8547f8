/*
 * A stand-in for nanoStream's H5Live player, for the offline example site only.
 *
 * Offline, https://demo.nanocosmos.de/nanoplayer/... cannot load and the fake bintu has no
 * live stream to play, so settings.py points WAGTAIL_NANOVOD["H5LIVE_SCRIPT_URL"] here. It
 * offers the part of the NanoPlayer API that wagtail-nanovod's script uses,
 *
 *     new NanoPlayer(id).setup(config)   // a Promise, resolved with config
 *     player.destroy()
 *
 * (plus play, pause, mute, unmute and config.events.onReady/onPlay/onError), and plays a
 * local clip in a loop under a "LIVE (simulated)" badge. The clip is the one the live event's
 * recording turns out to be, served as a static file next to this script.
 *
 * The demo organisation requires secure playback, as the real player would enforce it: a
 * config without a token in source.group.security.jwtoken, or with one that has expired, is
 * for another group or bound to another host, gets an error and plays nothing. (The real
 * player has nanoStream's servers check the signature; the stub reads the claims only.)
 */
(function () {
  "use strict";
  if (window.NanoPlayer) return;

  const script = document.currentScript;
  const CLIP = new URL("clips/eu.mp4", script ? script.src : document.baseURI).href;

  function call(events, name, data) {
    const handler = events && events[name];
    if (typeof handler === "function") {
      try {
        handler(data);
      } catch (error) {
        console.error(error);
      }
    }
  }

  // The reason a token does not allow this group here, or "" when it does.
  function refusal(token, group) {
    if (!token) return "no secure playback token";
    let claims;
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      claims = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    } catch (error) {
      return "the token is not a JWT";
    }
    if (!(claims.exp * 1000 > Date.now())) return "the token has expired";
    if (claims.groupid !== group && !claims.orgawide) return "the token is for another group";
    if (claims.domain && claims.domain !== location.hostname) return "the token is for another host";
    return "";
  }

  class NanoPlayer {
    constructor(id) {
      this.id = id;
      this.video = null;
      this.root = null;
      this.container = null;
      this.fallback = null;
      this.config = null;
    }

    setup(config) {
      return new Promise((resolve, reject) => {
        const container = document.getElementById(this.id);
        if (!container) {
          const error = { code: 1000, message: `NanoPlayer stub: no element #${this.id}` };
          call(config && config.events, "onError", { data: error });
          reject(error);
          return;
        }
        this.destroy();
        this.config = config || {};
        const playback = this.config.playback || {};
        const style = this.config.style || {};
        const source = (this.config.source || {}).group || {};
        const group = source.id || "";
        const refused = refusal((source.security || {}).jwtoken, group);
        if (refused) {
          const error = { code: 2002, message: `NanoPlayer stub: ${refused}` };
          container.dataset.stubError = error.message;
          call(this.config.events, "onError", { data: error });
          reject(error);
          return;
        }

        const root = document.createElement("div");
        root.className = "nanoplayer-stub";
        root.style.cssText = "position: relative; width: 100%; height: 100%; background: #000;";
        const video = document.createElement("video");
        video.src = CLIP;
        video.loop = true;
        video.playsInline = true;
        // Browsers autoplay muted video only; the real player behaves the same way.
        video.muted = playback.muted !== false;
        video.autoplay = playback.autoplay !== false;
        video.controls = false;
        if (style.poster) video.poster = style.poster;
        video.style.cssText = "display: block; width: 100%; height: 100%; object-fit: cover;";
        const badge = document.createElement("span");
        badge.className = "nanoplayer-stub__badge";
        badge.textContent = "LIVE (simulated)";
        badge.title = group ? `Offline stand-in for H5Live; stream group ${group}` : "";
        badge.style.cssText =
          "position: absolute; top: .6rem; right: .6rem; padding: .15rem .5rem; border-radius: 3px;" +
          "background: #d93025; color: #fff; font: 600 .8rem/1.4 system-ui, sans-serif;" +
          "letter-spacing: .04em; pointer-events: none;";
        const secured = document.createElement("span");
        secured.className = "nanoplayer-stub__secured";
        secured.textContent = "secure playback";
        secured.style.cssText =
          "position: absolute; bottom: .6rem; right: .6rem; padding: .15rem .5rem;" +
          "background: rgba(0, 0, 0, .75); color: #fff; font: .75rem/1.4 system-ui, sans-serif;";
        root.append(video, badge, secured);
        // In place of what the container shows before the player starts (the page's
        // fallback message), as the real player takes over its container.
        this.fallback = [...container.childNodes];
        container.replaceChildren(root);
        this.container = container;
        this.root = root;
        this.video = video;

        video.addEventListener("playing", () => call(this.config.events, "onPlay", { data: {} }));
        if (video.autoplay) {
          // A refused autoplay leaves the poster; a click starts it, as with the real player.
          video.play().catch(() => {});
        }
        root.addEventListener("click", () => this.play());
        call(this.config.events, "onReady", { data: { config: this.config } });
        resolve(this.config);
      });
    }

    play() {
      if (this.video) this.video.play().catch(() => {});
    }

    pause() {
      if (this.video) this.video.pause();
    }

    mute() {
      if (this.video) this.video.muted = true;
    }

    unmute() {
      if (this.video) this.video.muted = false;
    }

    destroy() {
      if (this.video) {
        // Let go of the file at once: an element only removed may keep downloading.
        this.video.pause();
        this.video.removeAttribute("src");
        this.video.load();
      }
      if (this.root) {
        this.root.remove();
        if (this.container && !this.container.hasChildNodes()) {
          this.container.append(...(this.fallback || []));
        }
      }
      this.video = this.root = this.container = this.fallback = null;
    }
  }

  window.NanoPlayer = NanoPlayer;
})();
