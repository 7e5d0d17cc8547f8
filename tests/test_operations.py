"""What operators run and read: nanovod_check, nanovod_sync, the system checks and the
"Broken videos" report, against the fake bintu. No output may ever show the API key.
"""

import html
import io
import re
import time

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import caches
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_tasks.backends.base import BaseTaskBackend

from wagtail_nanovod import locks
from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet
from wagtail_nanovod.snapshot import LIVE, READY
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY

pytestmark = pytest.mark.django_db

WRONG_KEY = "made-up-wrong"
DUMMY_CACHE = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
REPORT_URL = "/admin/reports/nanostream-broken-videos/"


class WorkerBackend(BaseTaskBackend):
    """A task backend with workers elsewhere, as django-tasks' database backend is."""

    def enqueue(self, task, args, kwargs):
        raise NotImplementedError


class TerminalIO(io.StringIO):
    """Captured output that says it is a terminal."""

    def isatty(self):
        return True


def run(name, *args, stdout=None):
    """``(exit code, stdout, stderr)`` of a management command, as manage.py would exit."""
    stdout, stderr = stdout or io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=stdout, stderr=stderr)
    except CommandError as exc:
        code, error = 1, str(exc)
    else:
        code, error = 0, ""
    output, errors = stdout.getvalue(), stderr.getvalue() + error
    for secret in (TEST_KEY, WRONG_KEY):
        assert secret not in output + errors
    return code, output, errors


def line(output, label):
    """The line of nanovod_check's output about ``label``."""
    return next(row for row in output.splitlines() if f" {label}: " in row)


def use(settings, **nanovod):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, **nanovod}


# -- nanovod_check ----------------------------------------------------------------------


def test_check_passes_against_bintu_and_never_shows_the_key(bintu, settings):
    use(settings, TASK_BACKEND="default")
    code, output, _errors = run("nanovod_check")
    assert code == 0
    assert line(output, "Settings").startswith("ok ")
    assert line(output, "API key") == (
        f"ok       API key: set (in settings); bintu at {bintu.api_url} accepted it."
    )
    assert line(output, "Cache").startswith("ok       Cache: 'default' (LocMemCache) works.")
    assert "immediate backend" in line(output, "Task backend")
    assert output.rstrip().endswith("All nanoStream checks passed.")
    assert bintu.calls() == 1


def test_check_says_where_the_key_comes_from_never_what_it_is(bintu, settings, monkeypatch):
    monkeypatch.setenv("NANOVOD_API_KEY", TEST_KEY)
    use(settings, API_KEY=None, TASK_BACKEND="default")
    code, output, _errors = run("nanovod_check")
    assert code == 0
    assert "API key: set (from the environment); bintu at" in output


def test_check_without_a_key_says_it_is_missing(bintu, settings, monkeypatch):
    monkeypatch.delenv("NANOVOD_API_KEY", raising=False)
    use(settings, API_KEY=None)
    code, output, _errors = run("nanovod_check")
    assert code == 1
    assert line(output, "API key").startswith("problem  API key: missing.")
    assert bintu.calls() == 0


def test_check_with_a_wrong_key_says_bintu_refused_it(bintu, settings):
    use(settings, API_KEY=WRONG_KEY, TASK_BACKEND="default")
    code, output, errors = run("nanovod_check")
    assert code == 1
    assert line(output, "API key").startswith(
        "problem  API key: set (in settings), but bintu refused it (HTTP 401)."
    )
    assert "1 problem found" in errors


def test_check_with_bintu_down_says_it_could_not_be_asked(bintu, settings):
    use(settings, TASK_BACKEND="default")
    bintu.inject(Fault.status(503))
    code, output, _errors = run("nanovod_check")
    assert code == 1
    assert "but bintu could not be asked: bintu failed with HTTP 503" in line(output, "API key")


def test_check_finds_a_cache_that_caches_nothing(bintu, settings):
    settings.CACHES = {**settings.CACHES, "nothing": DUMMY_CACHE}
    use(settings, CACHE_ALIAS="nothing", TASK_BACKEND="default")
    code, output, _errors = run("nanovod_check")
    assert code == 1
    assert line(output, "Cache").startswith(
        "problem  Cache: 'nothing' is a DummyCache: it caches nothing"
    )


def test_check_finds_an_unknown_cache_alias(bintu, settings):
    use(settings, CACHE_ALIAS="nowhere", TASK_BACKEND="default")
    code, output, _errors = run("nanovod_check")
    assert code == 1
    assert "problem  Cache: 'nowhere' is not a cache in settings.CACHES" in output


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("nowhere", "problem  Task backend: 'nowhere' is not a task backend in settings.TASKS"),
        ("refresh", "problem  Task backend: 'refresh' is a DummyBackend"),
        ("default", "ok       Task backend: 'default' is the immediate backend"),
        ("worker", "ok       Task backend: 'worker' (tests.test_operations.WorkerBackend) "
         "queues refreshes for a worker"),
    ],
)  # fmt: skip
def test_check_says_what_the_task_backend_does(bintu, settings, alias, expected):
    settings.TASKS = {
        **settings.TASKS,
        "worker": {"BACKEND": "tests.test_operations.WorkerBackend"},
    }
    use(settings, TASK_BACKEND=alias)
    code, output, _errors = run("nanovod_check")
    assert line(output, "Task backend").startswith(expected)
    assert code == (0 if expected.startswith("ok") else 1)


def test_check_runs_with_broken_settings_and_names_them(bintu, settings):
    use(settings, TIMEOUT=None, TASK_BACKEND="default")
    code, output, _errors = run("nanovod_check")
    assert code == 1
    assert "problem  Settings: WAGTAIL_NANOVOD['TIMEOUT'] is None" in output
    assert "not tried with bintu until the settings are fixed" in line(output, "API key")
    assert bintu.calls() == 0


def test_check_with_an_unknown_setting_stops_at_the_settings(bintu, settings):
    use(settings, TIMEOUTS=3)
    code, output, _errors = run("nanovod_check")
    assert code == 1
    assert output.splitlines() == [
        line(output, "Settings"),
    ]
    assert "Unknown WAGTAIL_NANOVOD setting 'TIMEOUTS'" in output


# -- nanovod_sync -----------------------------------------------------------------------


def test_sync_takes_in_what_changed_in_bintu(bintu, make_snippet):
    upcoming = make_snippet(title="Upcoming", state="live", regions=())
    settled = make_snippet(title="Settled")
    assert upcoming.status == LIVE
    bintu.set_state(upcoming.stream_id_str, "ended")
    bintu.add_recording(upcoming.stream_id_str)
    code, output, _errors = run("nanovod_sync")
    assert code == 0
    upcoming.refresh_from_db()
    assert (upcoming.status, upcoming.recording_count) == (READY, 1)
    assert output.splitlines() == [
        f"[1/2] Settled ({settled.stream_id}): Ready",
        f"[2/2] Upcoming ({upcoming.stream_id}): Ready",
        output.splitlines()[2],
        "By state: Ready 2.",
        "No failures.",
    ]
    assert re.fullmatch(r"Refreshed 2 of 2 streams in \d+\.\ds\.", output.splitlines()[2])


def test_sync_counts_states_and_failures_by_reason(bintu, make_snippet):
    make_snippet(title="Ready")
    make_snippet(title="Processing", regions=())
    upcoming = make_snippet(title="Upcoming", state="created", regions=())
    gone = make_snippet(title="Gone")
    down = make_snippet(title="Down")
    bintu.remove_stream(gone.stream_id_str)
    bintu.inject(Fault.status(503), stream_id=down.stream_id_str)
    code, output, _errors = run("nanovod_sync")
    assert code == 0
    assert "Refreshed 5 of 5 streams" in output
    # "Down" keeps its last good answer; "Gone" has nothing to play any more.
    assert "By state: Ready 2, Upcoming 1, Processing 1, Unavailable 1." in output
    assert "Failed: 2." in output
    assert (
        f"  nanoStream does not know this stream ID [not_found]: 1: Gone ({gone.stream_id})"
    ) in output
    assert (
        f"  nanoStream had a server error [server_error]: 1: Down ({down.stream_id})"
    ) in output
    assert f"[1/5] Down ({down.stream_id}): failed: nanoStream had a server error" in output
    assert (f"[5/5] Upcoming ({upcoming.stream_id}): Upcoming") in output


def test_sync_stops_at_once_when_bintu_refuses_the_key(bintu, make_snippet, settings):
    for title in ("A", "B", "C"):
        make_snippet(title=title)
    bintu.reset_requests()
    use(settings, API_KEY=WRONG_KEY)
    code, output, errors = run("nanovod_sync")
    assert code == 1
    assert bintu.calls() == 1
    assert "Refreshed 1 of 3 streams" in output
    assert "Stopped: nanoStream refused the API key" in errors
    assert VodStream.objects.filter(status=READY).count() == 3  # the last good answers stay


def test_sync_stale_only_leaves_fresh_streams_alone(bintu, make_snippet):
    fresh = make_snippet(title="Fresh")
    stale = make_snippet(title="Stale")
    VodStream.objects.filter(pk=stale.pk).update(fresh_until=None)
    bintu.reset_requests()
    code, output, _errors = run("nanovod_sync", "--stale-only")
    assert code == 0
    assert (bintu.calls(stale.stream_id_str), bintu.calls(fresh.stream_id_str)) == (1, 0)
    assert "Refreshed 1 of 1 streams" in output
    assert run("nanovod_sync", "--stale-only") == (0, "No stale streams to refresh.\n", "")


def test_sync_of_one_stream(bintu, make_snippet):
    one = make_snippet(title="One")
    other = make_snippet(title="Other")
    bintu.reset_requests()
    code, _output, _errors = run("nanovod_sync", "--stream", one.stream_id_str)
    assert code == 0
    assert (bintu.calls(one.stream_id_str), bintu.calls(other.stream_id_str)) == (1, 0)


@pytest.mark.parametrize(
    ("stream_id", "message"),
    [
        ("1dec3bbc-758b-4879", "is not a nanoStream stream id"),
        ("1dec3bbc-758b-4879-a202-7ae877d511ba", "No stream is registered"),
    ],
)
def test_sync_of_an_unknown_stream_says_so(bintu, stream_id, message):
    code, _output, errors = run("nanovod_sync", "--stream", stream_id)
    assert code == 1
    assert message in errors


def test_sync_with_nothing_to_do_says_so(bintu):
    assert run("nanovod_sync") == (0, "No streams to refresh.\n", "")


def test_sync_asks_bintu_even_with_the_circuit_open(bintu, make_snippet):
    snippet = make_snippet()
    caches["default"].set(locks.CIRCUIT_KEY, time.time() + 60)
    assert locks.circuit_is_open()
    bintu.reset_requests()
    run("nanovod_sync")
    assert bintu.calls(snippet.stream_id_str) == 1


def test_sync_draws_a_progress_bar_on_a_terminal(bintu, make_snippet):
    make_snippet(title="A")
    make_snippet(title="B")
    _code, output, _errors = run("nanovod_sync", stdout=TerminalIO())
    assert output.startswith(f"\r[{'#' * 15}{' ' * 15}] 1/2\r[{'#' * 30}] 2/2\n")


# -- system checks ----------------------------------------------------------------------


def nanovod_messages():
    return {m.id: m for m in run_checks() if m.id and m.id.startswith("wagtail_nanovod.")}


def test_the_test_settings_pass_the_checks():
    assert nanovod_messages() == {}


def test_a_cache_that_caches_nothing_is_a_warning(settings):
    settings.CACHES = {**settings.CACHES, "nothing": DUMMY_CACHE}
    use(settings, CACHE_ALIAS="nothing")
    message = nanovod_messages()["wagtail_nanovod.W002"]
    assert not message.is_serious()
    assert "'nothing' is a DummyCache: it caches nothing" in message.msg
    assert "CACHE_ALIAS" in message.hint


def test_an_unknown_cache_alias_is_an_error(settings):
    use(settings, CACHE_ALIAS="nowhere")
    message = nanovod_messages()["wagtail_nanovod.E005"]
    assert message.is_serious()
    assert "'nowhere' is not a cache in settings.CACHES" in message.msg
    assert "Use one of: default" in message.hint


def test_an_unknown_task_backend_is_an_error(settings):
    use(settings, TASK_BACKEND="nowhere")
    message = nanovod_messages()["wagtail_nanovod.E006"]
    assert message.is_serious()
    assert "'nowhere' is not a task backend in settings.TASKS" in message.msg
    assert "Use one of: default, refresh" in message.hint


@pytest.mark.parametrize(
    ("timeout", "words"),
    [(None, "is None: calls to bintu would have no time limit"), (0, "not 0")],
)
def test_no_timeout_is_an_error_that_says_why(settings, timeout, words):
    use(settings, TIMEOUT=timeout)
    message = nanovod_messages()["wagtail_nanovod.E002"]
    assert words in message.msg
    assert "default of 4.0s" in message.hint


# -- the "Broken videos" report ---------------------------------------------------------


def text(response):
    """The page as text, entities decoded, white space squeezed."""
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def admin_client(django_user_model, name, *codenames):
    """A client logged in as an admin user with these permissions (all, for a superuser)."""
    if not codenames:
        user = django_user_model.objects.create_superuser(name, f"{name}@example.com")
    else:
        user = django_user_model.objects.create_user(name, f"{name}@example.com")
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def broken(bintu, make_snippet, make_event_page):
    """A failing, a gone, a processing and a ready stream, all on one page."""
    failing = make_snippet(title="Failing")
    bintu.inject(Fault.status(503), stream_id=failing.stream_id_str)
    refresh_snippet(failing)
    gone = make_snippet(title="Gone")
    bintu.remove_stream(gone.stream_id_str)
    refresh_snippet(gone)
    processing = make_snippet(title="Processing", regions=())
    not_recorded = make_snippet(title="Not recorded", regions=(), records=False)
    ready = make_snippet(title="Fine")
    page = make_event_page([failing, gone, processing, not_recorded, ready])
    streams = {"failing": failing, "gone": gone, "processing": processing, "ready": ready}
    return {**streams, "not_recorded": not_recorded}, page


def edit_url(snippet):
    return reverse(VodStream.snippet_viewset.get_url_name("edit"), args=[snippet.pk])


def test_the_report_lists_broken_streams_with_their_problem_and_pages(broken, django_user_model):
    streams, page = broken
    response = admin_client(django_user_model, "editor").get(REPORT_URL)
    assert response.status_code == 200
    content, page_text = response.content.decode(), text(response)
    rows = {row.instance.title: row for row in response.context["table"].rows}
    # A recording on its way is not broken; a stream that ended unrecorded is.
    assert sorted(rows) == ["Failing", "Gone", "Not recorded"]
    for name in ("failing", "gone", "not_recorded"):
        assert f'href="{edit_url(streams[name])}"' in content
        assert streams[name].stream_id_str in content
    for name in ("ready", "processing"):
        assert edit_url(streams[name]) not in content
    assert "The last check failed: nanoStream had a server error" in page_text
    assert "nanoStream does not know this stream ID" in page_text
    assert "The stream ended without a recording" in page_text
    page_edit = reverse("wagtailadmin_pages:edit", args=[page.pk])
    assert content.count(f'<a href="{page_edit}">Event</a>') == 3
    assert TEST_KEY not in content


def test_the_report_is_in_the_reports_menu(broken, django_user_model):
    home = admin_client(django_user_model, "editor").get(reverse("wagtailadmin_home"))
    assert '"Broken videos"' in home.content.decode()
    assert f'"{REPORT_URL}"' in home.content.decode()


def test_the_report_exports_csv(broken, django_user_model):
    response = admin_client(django_user_model, "editor").get(REPORT_URL, {"export": "csv"})
    csv = b"".join(response.streaming_content).decode()
    lines = csv.splitlines()
    assert lines[0] == "Stream,Stream ID,Problem,Last failed check,Used on"
    assert len(lines) == 4
    assert any(row.startswith("Gone,") and row.endswith(",Event") for row in lines)
    assert TEST_KEY not in csv
    xlsx = admin_client(django_user_model, "other").get(REPORT_URL, {"export": "xlsx"})
    assert xlsx["Content-Disposition"] == 'attachment; filename="broken-videos.xlsx"'


def test_an_editor_who_may_change_streams_sees_the_report(broken, django_user_model):
    client = admin_client(django_user_model, "streams", "access_admin", "change_vodstream")
    response = client.get(REPORT_URL)
    assert response.status_code == 200
    # The page is named, but not linked: this editor may not edit it.
    assert "Event" in text(response)
    assert reverse("wagtailadmin_pages:edit", args=[broken[1].pk]) not in text(response)
    assert '"Broken videos"' in client.get(reverse("wagtailadmin_home")).content.decode()


def test_the_report_needs_the_change_permission(broken, django_user_model):
    client = admin_client(django_user_model, "viewer", "access_admin", "view_vodstream")
    ajax = client.get(REPORT_URL, headers={"X-Requested-With": "XMLHttpRequest"})
    assert ajax.status_code == 403
    response = client.get(REPORT_URL, follow=True)
    assert response.redirect_chain[-1][0] == reverse("wagtailadmin_home")
    assert "Sorry, you do not have permission to access this area." in text(response)
    assert '"Broken videos"' not in response.content.decode()


def test_the_report_without_broken_streams_says_so(make_snippet, django_user_model):
    make_snippet(title="Fine")
    response = admin_client(django_user_model, "editor").get(REPORT_URL)
    assert "No broken videos: every stream has something to play" in text(response)


def test_a_site_without_the_player_endpoints_is_told_how_to_add_them(settings):
    assert "wagtail_nanovod.W003" not in nanovod_messages()
    settings.ROOT_URLCONF = "tests.urls_without_nanovod"
    message = nanovod_messages()["wagtail_nanovod.W003"]
    assert not message.is_serious()
    assert "will not update by themselves" in message.msg
    assert 'include("wagtail_nanovod.urls")' in message.hint


@pytest.mark.parametrize("value", [0, "20", 2.5, True])
def test_a_poll_interval_that_is_not_whole_seconds_is_an_error(settings, value):
    use(settings, POLL_SECONDS=value)
    message = nanovod_messages()["wagtail_nanovod.E007"]
    assert message.is_serious()
    assert f"not {value!r}" in message.msg
