"""The two endpoints the player script talks to: stream states, and one player's markup.

Public, cheap and cacheable: every open tab of a page with a live stream asks. They
serve what the snapshots say (the resolver's rules: stale is served and refreshed in
the background) and tell nothing a visitor of the page could not already see. The
state endpoint never asks bintu. The player endpoint renders only embeds the site
rendered before (signed tokens), so their streams normally have a snapshot; one never
fetched gets the same bounded first attempt a page render would make.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace

from django.core import signing
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from . import state_answers
from .exceptions import InvalidStreamId
from .models import VodStream
from .parsing import normalize_stream_id
from .playback import playback
from .player import base_url_of, poll_seconds, read_player_token, render_player
from .resolver import refresh_pending, resolve_bare_ids, resolve_snippets

#: More ids than any page shows: a longer question is not from our script.
MAX_STREAMS_PER_REQUEST = 50


@require_GET
def stream_states(request):
    """``{"interval": s, "streams": {id: {"state", "version"}}}`` for ``?id=…&id=…``.

    Ids that no snippet and no snapshot knows are left out: this never asks bintu
    about an id a visitor made up. An answer given before is given again for one cache
    read until a stream changes (:mod:`wagtail_nanovod.state_answers`).
    """
    query = request.META.get("QUERY_STRING", "")
    answer, epoch = state_answers.remembered(query)
    if answer is None or not _refreshes_on_their_way(answer):
        with state_answers.single_flight(query) as mine:
            previous = state_answers.latest(query, max_age=_recheck_seconds())
            if not mine and previous is not None:
                # Another thread is working it out: the answer before, a moment old.
                answer = previous
            else:
                raw_ids = request.GET.getlist("id")
                if not raw_ids:
                    return _error("Ask with ?id=<stream id>, once per stream.")
                if len(raw_ids) > MAX_STREAMS_PER_REQUEST:
                    return _error(f"At most {MAX_STREAMS_PER_REQUEST} streams per request.")
                try:
                    ids = list(dict.fromkeys(normalize_stream_id(value) for value in raw_ids))
                except InvalidStreamId:
                    return _error(
                        "A stream id is a UUID such as 1dec3bbc-758b-4879-a202-7ae877d511ba."
                    )
                answer = _states_answer(ids)
                state_answers.remember(query, epoch, answer)
    response = HttpResponse(answer.body, content_type="application/json")
    # A shared cache in front may answer every tab for a while: half the interval
    # keeps the news at most one interval late. Set whole: patch_cache_control parses
    # the header first, a cost that shows under a crowd.
    response["Cache-Control"] = f"public, max-age={_recheck_seconds()}"
    return response


def _refreshes_on_their_way(answer: state_answers.Answer) -> bool:
    """Whether each stale stream of a remembered answer is being refreshed already, as
    far as this process knows (no cache read)."""
    now = time.time()
    if now < answer.first_due:
        return True
    stale = {sid: news for sid, (fresh_until, news) in answer.due.items() if fresh_until <= now}
    return refresh_pending(stale, now)


def _states_answer(ids: list[str]) -> state_answers.Answer:
    """The endpoint's answer for these (valid) stream ids."""
    states, snapshots = {}, []
    # Snippets never checked with bintu have nothing to serve yet, and a visitor's
    # question must not be what makes us wait on bintu: they are left out.
    snippets = [
        snippet
        for snippet in VodStream.objects.filter(stream_id__in=ids).order_by().defer("captions")
        if snippet.is_known()
    ]
    resolve_snippets(snippets)
    for snippet in snippets:
        states[snippet.stream_id_str] = snippet.playback()
        snapshots.append(snippet.snapshot)
    bare = [sid for sid in ids if sid not in states]
    if bare:
        # Streams shown by their id alone (the template tag): their snapshot rows, one
        # query and one resolver pass for all.
        resolved = resolve_bare_ids(bare, only_known=True)
        states.update((sid, playback(snapshot)) for sid, snapshot in resolved.items())
        snapshots.extend(resolved.values())
    payload = {
        "interval": poll_seconds(),
        "streams": {
            sid: {"state": shown.state, "version": shown.version} for sid, shown in states.items()
        },
    }
    return state_answers.Answer(
        body=json.dumps(payload, separators=(",", ":")).encode(),
        valid_until=min((s.state_changes_at(time.time()) for s in snapshots), default=math.inf),
        due={s.stream_id: (s.fresh_until, s.last_news) for s in snapshots},
    )


def _recheck_seconds() -> int:
    return max(1, poll_seconds() // 2)


@require_GET
def player_markup(request, token: str):
    """The current markup of one embed (a signed token from its page).

    ``?play=1``: the visitor pressed play on its click-to-load facade, so the player,
    playing; ``?load=1``: the player, as after consent, without playing.
    """
    try:
        payload, options = read_player_token(token)
    except signing.BadSignature:
        raise Http404("No such player") from None
    if request.GET.get("play"):
        options = replace(options, play=True)
    elif request.GET.get("load"):
        # Consent given: the player instead of the facade, not playing by itself.
        options = replace(options, click_to_load=False)
    base_url = base_url_of({"request": request})
    if "s" in payload:
        snippet = VodStream.objects.for_render().filter(pk=payload["s"]).first()
        if snippet is None:
            raise Http404("No such player")
        resolve_snippets([snippet])
        html = render_player(snippet, options, base_url=base_url)
    else:
        try:
            stream_id = normalize_stream_id(str(payload.get("i", "")))
        except InvalidStreamId:
            raise Http404("No such player") from None
        snapshot = resolve_bare_ids([stream_id])[stream_id]
        html = render_player(None, options, resolved=snapshot, base_url=base_url)
    response = HttpResponse(html)
    patch_cache_control(response, public=True, max_age=max(1, poll_seconds() // 2))
    response["X-Robots-Tag"] = "noindex"
    return response


def _error(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)
