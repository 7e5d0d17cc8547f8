"""The fake's secure playback token service (nanoStream's ``/api/v1/splay``), over real HTTP.

Nothing here needs Django: the fake must work in any test suite.
"""

import base64
import json
import re
import threading
import time

import pytest
import requests

from wagtail_nanovod import testing
from wagtail_nanovod.testing import FakeBintu, Fault

KEY = "made-up-test-key"
DAY = 24 * 3600

# The shipped fixture, pulled in the way a site's conftest.py would.
fake_bintu = testing.fake_bintu


def call(method, url, *, key=KEY, timeout=5.0, **kwargs):
    """One request, straight to the fake (no proxy from the environment, no redirects)."""
    headers = {"X-BINTU-APIKEY": key} if key else {}
    with requests.Session() as session:
        session.trust_env = False
        return session.request(
            method, url, headers=headers, timeout=timeout, allow_redirects=False, **kwargs
        )


def ask(bintu, body=None, **kwargs):
    """A token request: *body* as JSON (bytes as they are)."""
    if isinstance(body, bytes):
        return call("POST", bintu.token_url, data=body, **kwargs)
    return call("POST", bintu.token_url, json=body, **kwargs)


def token_for(bintu, **body):
    """A token the fake issued for *body*."""
    response = ask(bintu, body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["token"]


def claims_of(bintu, **body):
    """The claims of a token the fake issued for *body*, read without checking it."""
    return decode(token_for(bintu, **body).split(".")[1])


def verify(bintu, token):
    return call("POST", bintu.token_url + "/verify", key=None, json={"token": token})


def decode(segment):
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def encode(value):
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def stream_info_works(bintu):
    """Whether Stream Info answers as usual."""
    stream_id = bintu.add_stream()
    response = call("GET", f"{bintu.api_url}/stream/{stream_id}")
    return response.status_code == 200 and response.json()["id"] == stream_id


def assert_refused(response, status, code):
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    data = response.json()
    assert (data["success"], data["errorCode"]) == (False, code)
    assert isinstance(data["message"], str) and data["message"]
    assert KEY not in response.text


# -- addresses ---------------------------------------------------------------------------------


def test_token_url_and_settings(fake_bintu):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1/splay", fake_bintu.token_url)
    assert fake_bintu.token_url.rsplit("/api/", 1)[0] not in {
        fake_bintu.api_url,
        *fake_bintu.region_urls.values(),
    }  # a server of its own
    assert fake_bintu.settings()["TOKEN_URL"] == fake_bintu.token_url
    assert KEY not in repr(fake_bintu)


def test_token_url_needs_start():
    with pytest.raises(RuntimeError, match="not running"):
        FakeBintu().token_url  # noqa: B018


# -- issuing tokens ----------------------------------------------------------------------------


def test_token_is_an_hs256_jwt_with_the_documented_answer(fake_bintu):
    before = int(time.time())
    response = ask(fake_bintu, {"groupid": "group-1", "domain": "example.com"})
    after = int(time.time())

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    data = response.json()
    assert set(data) == {"success", "data"} and data["success"] is True
    token = data["data"]["token"]
    assert token.startswith("eyJ")
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)  # no padding
    header, claims, _ = token.split(".")
    assert decode(header) == {"alg": "HS256", "typ": "JWT"}
    claims = decode(claims)
    assert set(claims) == {"groupid", "domain", "nbf", "exp", "iat", "jti"}
    assert (claims["groupid"], claims["domain"]) == ("group-1", "example.com")
    assert before <= claims["iat"] == claims["nbf"] <= after
    assert claims["exp"] == claims["iat"] + 14 * DAY  # two weeks by default
    assert claims["jti"] != claims_of(fake_bintu, groupid="group-1")["jti"]


def test_group_and_domain_token_verifies_only_with_them(fake_bintu):
    token = token_for(fake_bintu, groupid="group-1", domain="example.com")

    claims = fake_bintu.verify_token(token, groupid="group-1", domain="example.com")
    assert claims["groupid"] == "group-1" and claims["domain"] == "example.com"
    assert fake_bintu.verify_token(token) == claims
    assert fake_bintu.verify_token(token, groupid="group-1") == claims
    assert fake_bintu.verify_token(token, groupid="group-2") is None
    assert fake_bintu.verify_token(token, domain="example.org") is None
    assert fake_bintu.verify_token(token, groupid="group-2", domain="example.com") is None

    no_domain = token_for(fake_bintu, groupid="group-1")
    assert fake_bintu.verify_token(no_domain, groupid="group-1")
    assert fake_bintu.verify_token(no_domain, domain="example.com") is None


def test_streams_and_orgawide_tokens(fake_bintu):
    streams = fake_bintu.verify_token(token_for(fake_bintu, streams=["AbCdE-fGhIj", "AbCdE-k"]))
    assert streams["streams"] == ["AbCdE-fGhIj", "AbCdE-k"] and "groupid" not in streams
    orgawide = fake_bintu.verify_token(token_for(fake_bintu, orgawide=True))
    assert orgawide["orgawide"] is True and "groupid" not in orgawide
    assert fake_bintu.verify_token(token_for(fake_bintu, orgawide=True), groupid="g") is None


def test_given_times_are_kept_and_other_options_accepted(fake_bintu):
    now = int(time.time())
    token = token_for(
        fake_bintu,
        groupid="g",
        nbf=now - 60,
        exp=now + 3600,
        ip="203.0.113.7",
        tag="tag",
        user="user",
        forceDisconnect=True,
    )
    claims = fake_bintu.verify_token(token)
    assert (claims["nbf"], claims["exp"]) == (now - 60, now + 3600)


def test_revocable_caps_the_expiry_at_a_day(fake_bintu):
    capped = claims_of(fake_bintu, groupid="g", revocable=True)
    assert capped["exp"] == capped["iat"] + DAY

    now = int(time.time())
    long = claims_of(fake_bintu, groupid="g", revocable=True, exp=now + 7 * DAY)
    assert long["exp"] == long["iat"] + DAY
    short = claims_of(fake_bintu, groupid="g", revocable=True, exp=now + 60)
    assert short["exp"] == now + 60
    kept = claims_of(fake_bintu, groupid="g", revocable=False, exp=now + 7 * DAY)
    assert kept["exp"] == now + 7 * DAY


def test_token_not_valid_before_nbf_nor_after_exp(fake_bintu):
    later = token_for(fake_bintu, groupid="g", nbf=int(time.time()) + 3600)
    assert fake_bintu.verify_token(later) is None
    assert_refused(verify(fake_bintu, later), 400, 1002)

    # Whole seconds: a token asked to end two seconds from now, checked after it has.
    token = token_for(fake_bintu, groupid="g", exp=int(time.time()) + 2)
    assert fake_bintu.verify_token(token) is not None
    time.sleep(2.1)
    assert fake_bintu.verify_token(token) is None
    assert_refused(verify(fake_bintu, token), 400, 1002)


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY + "x", KEY[:-1]])
def test_wrong_or_missing_key_is_403_1001(fake_bintu, key):
    assert_refused(ask(fake_bintu, {"groupid": "g"}, key=key), 403, 1001)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"groupid": "g"',
        b"\xff\xfe",
        [],
        ["groupid", "g"],
        "groupid",
        None,
        {},
        {"domain": "example.com"},
        {"groupid": ""},
        {"groupid": 5},
        {"groupid": None},
        {"groupid": ["g"]},
        {"streams": []},
        {"streams": "AbCdE-fGhIj"},
        {"streams": [""]},
        {"orgawide": False},
        {"orgawide": "true"},
        {"groupid": "g", "streams": ["s"]},
        {"groupid": "g", "domain": 3},
        {"groupid": "g", "exp": "tomorrow"},
        {"groupid": "g", "exp": 4102444800.5},
        {"groupid": "g", "exp": True},
        {"groupid": "g", "exp": None},
        {"groupid": "g", "nbf": "now"},
        {"groupid": "g", "nbf": 1.0},
        {"groupid": "g", "exp": 1_000_000_000},  # 2001: in the past
        {"groupid": "g", "exp": 0},
        {"groupid": "g", "nbf": 4102444800, "exp": 4102444000},  # expires before it starts
    ],
)
def test_bad_bodies_are_400_1002(fake_bintu, body):
    assert_refused(ask(fake_bintu, body), 400, 1002)


def test_exp_must_lie_in_the_future(fake_bintu):
    response = ask(fake_bintu, {"groupid": "g", "exp": int(time.time()) - 1})
    assert_refused(response, 400, 1002)
    assert "exp" in response.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/splay", 405),
        ("PUT", "/api/v1/splay", 405),
        ("DELETE", "/api/v1/splay", 405),
        ("GET", "/api/v1/splay/verify", 405),
        ("POST", "/api/v1/other", 404),
        ("POST", "/", 404),
        ("GET", "/stream", 404),
    ],
)
def test_other_methods_and_paths(fake_bintu, method, path, status):
    base = fake_bintu.token_url.removesuffix("/api/v1/splay")
    response = call(method, base + path, json={"groupid": "g"})
    assert response.status_code == status
    assert response.json()["success"] is False


# -- checking tokens ---------------------------------------------------------------------------


def test_verify_endpoint(fake_bintu):
    token = token_for(fake_bintu, groupid="g", domain="example.com")

    response = verify(fake_bintu, token)  # no key needed

    assert response.status_code == 200
    assert response.json() == {"success": True, "data": fake_bintu.verify_token(token)}
    for body in ({"token": token[:-2]}, {"token": 42}, {}, [token]):
        response = call("POST", fake_bintu.token_url + "/verify", key=None, json=body)
        assert_refused(response, 400, 1002)
    response = call("POST", fake_bintu.token_url + "/verify", key=None, data=b"{")
    assert_refused(response, 400, 1002)


def test_tampered_and_foreign_tokens_do_not_verify(fake_bintu):
    token = token_for(fake_bintu, groupid="g", domain="example.com")
    header, claims, signature = token.split(".")
    widened = encode({**decode(claims), "groupid": "other", "exp": decode(claims)["exp"] + DAY})
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    none_header = encode({"alg": "none", "typ": "JWT"})
    with FakeBintu(api_key=KEY) as elsewhere:
        foreign = token_for(elsewhere, groupid="g", domain="example.com")
    tampered = [
        f"{header}.{widened}.{signature}",
        f"{header}.{claims}.{flipped}",
        f"{header}.{claims}.{signature}=",
        f"{header}.{claims}.{signature}AA",
        f"{header}.{claims}.",
        f"{none_header}.{claims}.",
        f"{none_header}.{claims}.{signature}",
        f"{header}.{claims}",
        token + ".x",
        " " + token,
        foreign,
    ]
    for bad in tampered:
        assert fake_bintu.verify_token(bad) is None, bad
        assert_refused(verify(fake_bintu, bad), 400, 1002)
    assert fake_bintu.verify_token(token)  # the real one still does


@pytest.mark.parametrize(
    "garbage",
    [None, 42, 1.5, b"a.b.c", ["a.b.c"], {}, "", ".", "..", "a.b.c", "not a token", "é.é.é"],
)
def test_verify_token_never_raises(fake_bintu, garbage):
    assert fake_bintu.verify_token(garbage) is None
    assert fake_bintu.verify_token(garbage, groupid="g", domain="example.com") is None


# -- faults on the token service ---------------------------------------------------------------


def test_latency(fake_bintu):
    fake_bintu.inject(Fault.latency(0.2), service="token")

    started = time.monotonic()
    response = ask(fake_bintu, {"groupid": "g"})

    assert time.monotonic() - started >= 0.2
    assert fake_bintu.verify_token(response.json()["data"]["token"], groupid="g")


def test_hang_until_release(fake_bintu):
    fake_bintu.inject(Fault.hang(), service="token")
    errors = []

    def hung_call():
        try:
            ask(fake_bintu, {"groupid": "g"})
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=hung_call)
    thread.start()
    try:
        while fake_bintu.token_calls() == 0:
            time.sleep(0.01)
        assert stream_info_works(fake_bintu)  # the API answers meanwhile
        assert verify(fake_bintu, "a.b.c").status_code == 400  # and so does /verify
    finally:
        fake_bintu.release()
        thread.join(timeout=2)

    assert not thread.is_alive()
    assert isinstance(errors[0], requests.ConnectionError)  # closed without an answer
    assert ask(fake_bintu, {"groupid": "g"}).status_code == 200


def test_hang_times_out_the_client_and_stop_is_prompt():
    bintu = FakeBintu(api_key=KEY).start()
    try:
        bintu.inject(Fault.hang(), service="token")
        with pytest.raises(requests.Timeout):
            ask(bintu, {"groupid": "g"}, timeout=0.2)
        assert bintu.token_calls() == 1  # recorded although never answered
    finally:
        started = time.monotonic()
        bintu.stop()
    assert time.monotonic() - started < 1.0


def test_status(fake_bintu):
    fake_bintu.inject(Fault.status(503), times=1, service="token")
    response = ask(fake_bintu, {"groupid": "g"})
    assert response.status_code == 503
    assert response.json() == {"error": {"message": "service unavailable", "code": 503}}

    refusal = {"success": False, "errorCode": 2011, "message": "token service busy"}
    fake_bintu.inject(Fault.status(403, refusal), times=1, service="token")
    response = ask(fake_bintu, {"groupid": "g"})
    assert (response.status_code, response.json()) == (403, refusal)

    fake_bintu.inject(Fault.rate_limited(retry_after=2), times=1, service="token")
    response = ask(fake_bintu, {"groupid": "g"})
    assert (response.status_code, response.headers["Retry-After"]) == (429, "2")


def test_malformed_json(fake_bintu):
    fake_bintu.inject(Fault.malformed_json(), service="token")
    response = ask(fake_bintu, {"groupid": "g"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()


def test_wrong_type_json(fake_bintu):
    fake_bintu.inject(Fault.wrong_type_json(), service="token")
    response = ask(fake_bintu, {"groupid": "g"})
    assert response.status_code == 200 and isinstance(response.json(), list)


def test_garbled_token(fake_bintu):
    fake_bintu.inject(Fault.garbled("data.token", 42), times=1, service="token")
    response = ask(fake_bintu, {"groupid": "g"})
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"token": 42}}


def test_garbled_success_keeps_the_rest_of_the_answer(fake_bintu):
    fake_bintu.inject(Fault.garbled("success", False), times=1, service="token")
    response = ask(fake_bintu, {"groupid": "g", "domain": "example.com"})
    data = response.json()
    assert (response.status_code, data["success"]) == (200, False)
    assert fake_bintu.verify_token(data["data"]["token"], groupid="g", domain="example.com")


def test_garbled_adds_a_missing_field(fake_bintu):
    fake_bintu.inject(Fault.garbled("data.expires", "soon"), times=1, service="token")
    data = ask(fake_bintu, {"groupid": "g"}).json()
    assert data["data"]["expires"] == "soon" and fake_bintu.verify_token(data["data"]["token"])


def test_oversized(fake_bintu):
    fake_bintu.inject(Fault.oversized(300_000), service="token")
    response = ask(fake_bintu, {"groupid": "g"})
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content) == 300_000
    assert isinstance(response.json(), dict)


def test_drop_connection(fake_bintu):
    fake_bintu.inject(Fault.drop_connection(), service="token")
    with pytest.raises(requests.ConnectionError):
        ask(fake_bintu, {"groupid": "g"})


def test_redirect(fake_bintu):
    with FakeBintu(api_key="another-key") as elsewhere:
        fake_bintu.inject(Fault.redirect(elsewhere.token_url, code=307), service="token")
        response = ask(fake_bintu, {"groupid": "g"})
        assert (response.status_code, response.headers["Location"]) == (307, elsewhere.token_url)

        followed = ask(elsewhere, {"groupid": "g"})  # sent on with our key: refused there

        assert_refused(followed, 403, 1001)
        (request,) = elsewhere.requests
        assert (request.server, request.headers["X-BINTU-APIKEY"]) == ("token", KEY)


def test_faults_come_before_the_key_check(fake_bintu):
    fake_bintu.inject(Fault.status(503), times=1, service="token")
    assert ask(fake_bintu, {"groupid": "g"}, key=None).status_code == 503
    assert ask(fake_bintu, {"groupid": "g"}, key=None).status_code == 403


def test_times_limits_a_fault_and_clear_faults_removes_both_kinds(fake_bintu):
    fake_bintu.inject(Fault.status(500), times=1, service="token")
    assert [ask(fake_bintu, {"groupid": "g"}).status_code for _ in range(2)] == [500, 200]

    fake_bintu.inject(Fault.status(500), service="token")
    fake_bintu.inject(Fault.status(502))
    assert ask(fake_bintu, {"groupid": "g"}).status_code == 500
    assert not stream_info_works(fake_bintu)
    fake_bintu.clear_faults()
    assert ask(fake_bintu, {"groupid": "g"}).status_code == 200
    assert stream_info_works(fake_bintu)


def test_verify_endpoint_is_spared(fake_bintu):
    token = token_for(fake_bintu, groupid="g")
    fake_bintu.inject(Fault.status(500), service="token")
    assert verify(fake_bintu, token).status_code == 200


def test_inject_checks_its_service(fake_bintu):
    with pytest.raises(ValueError, match="service"):
        fake_bintu.inject(Fault.status(500), service="tokens")
    with pytest.raises(ValueError, match="stream_id"):
        fake_bintu.inject(Fault.status(500), stream_id="s", service="token")


FAULTS = [
    Fault.latency(0.05),
    Fault.status(503),
    Fault.rate_limited(),
    Fault.malformed_json(),
    Fault.wrong_type_json(),
    Fault.garbled("id", 42),
    Fault.garbled("data.token", 42),
    Fault.oversized(1000),
    Fault.drop_connection(),
    Fault.redirect("http://127.0.0.1:9/elsewhere"),
    Fault.hang(),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.kind)
def test_token_faults_leave_stream_info_alone(fake_bintu, fault):
    fake_bintu.inject(fault, service="token")
    try:
        assert stream_info_works(fake_bintu)
        assert call("GET", f"{fake_bintu.api_url}/stream").status_code == 200
    finally:
        fake_bintu.release()


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.kind)
def test_api_faults_leave_the_token_service_alone(fake_bintu, fault):
    fake_bintu.inject(fault)
    try:
        assert fake_bintu.verify_token(token_for(fake_bintu, groupid="g"), groupid="g")
    finally:
        fake_bintu.release()


# -- what the fake received --------------------------------------------------------------------


def test_token_requests_are_recorded_and_counted_apart(fake_bintu):
    stream_id = fake_bintu.add_stream()
    token = token_for(fake_bintu, groupid="g")
    ask(fake_bintu, {"groupid": "g"}, key="wrong-key")
    ask(fake_bintu, b"not json")
    fake_bintu.inject(Fault.drop_connection(), times=1, service="token")
    with pytest.raises(requests.ConnectionError):
        ask(fake_bintu, {"groupid": "g"})
    call("GET", fake_bintu.token_url)  # not a token request
    verify(fake_bintu, token)  # nor is this
    call("POST", fake_bintu.token_url + "/", json={"groupid": "g"})  # but this is
    call("GET", f"{fake_bintu.api_url}/stream/{stream_id}")

    assert fake_bintu.token_calls() == 5
    assert fake_bintu.calls() == fake_bintu.calls(stream_id) == 1
    first = fake_bintu.requests[0]
    assert (first.server, first.method, first.path) == ("token", "POST", "/api/v1/splay")
    assert (first.query, first.stream_id) == ({}, None)
    assert first.headers["X-Bintu-ApiKey"] == KEY
    assert first.headers["content-type"] == "application/json"
    assert KEY not in repr(first)  # assertion messages do not leak the key
    assert [r.server for r in fake_bintu.requests] == ["token"] * 7 + ["api"]

    fake_bintu.reset_requests()
    assert fake_bintu.token_calls() == 0
