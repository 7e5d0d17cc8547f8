/* Keeps the state badges of streams about to change (upcoming, live, processing) current
   on the admin's screens: the listing, the edit view, the chooser. Every few seconds it
   asks the states view for the badges of those on the page, and swaps in what changed.
   The view queues the same background refresh pages use; nothing here waits on bintu. */
(() => {
  const script = document.currentScript;
  const url = script && script.dataset.nanovodStatesUrl;
  if (!url) return;
  // Until the view says otherwise: what the page was rendered with.
  let interval = Number(script.dataset.nanovodInterval) || 15;

  const changing = () => document.querySelectorAll("[data-nanovod-badge-stream]");

  async function poll() {
    const badges = changing();
    if (badges.length && !document.hidden) {
      const ids = new Set([...badges].map((badge) => badge.dataset.nanovodBadgeStream));
      const query = new URLSearchParams([...ids].map((id) => ["id", id]));
      try {
        const response = await fetch(`${url}?${query}`, {
          // As an AJAX call, a refusal is a 403, not a redirect with a message.
          headers: { Accept: "application/json", "X-Requested-With": "XMLHttpRequest" },
          credentials: "same-origin",
        });
        if (response.status === 403 || response.redirected) return; // not for this user
        if (response.ok) {
          const answer = await response.json();
          interval = answer.interval || interval;
          for (const badge of changing()) {
            const html = answer.badges[badge.dataset.nanovodBadgeStream];
            if (html && html.trim() !== badge.outerHTML.trim()) {
              badge.outerHTML = html.trim();
            }
          }
        }
      } catch (error) {
        // Offline or signed out: the next tick tries again.
      }
    }
    window.setTimeout(poll, interval * 1000);
  }

  window.setTimeout(poll, interval * 1000);
})();
