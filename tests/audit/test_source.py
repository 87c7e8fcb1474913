"""Code: collect call sites in every audited language, web containers and source keys, with look-alikes."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate1to2.audit.comments import CommentStyle
from migrate1to2.audit.source import scan_source
from tests.audit.helpers import FIXTURES, findings_in

CODE = FIXTURES / "code"
WEB = FIXTURES / "web"

Expected = list[tuple[str, int, int | None, str | None]]


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("javascript/collect_v1.js", [("call-site-1.0", 22, 32, "1.0")], id="js-1.0-url-constant"),
    pytest.param("javascript/collect_v2.mjs", [("call-site-2.0", 15, 15, "2.0")], id="js-2.0-new-URL"),
    pytest.param("javascript/beacon_key.js", [("source-key", 2, 72, None)], id="js-key-only"),
    pytest.param("typescript/tracker_v1.ts", [("call-site-1.0", 14, 22, "1.0")], id="ts-1.0-axios"),
    pytest.param("typescript/tracker_v2.ts", [("call-site-2.0", 18, 49, "2.0")], id="ts-2.0-first-party"),
    pytest.param("php/CommandersActTracker.php", [("call-site-1.0", 28, 33, "1.0")], id="php-1.0-guzzle"),
    pytest.param("php/tc_send_event.php", [("call-site-2.0", 7, 23, "2.0")], id="php-2.0-curl-first-party"),
    pytest.param("python/collect_v1.py", [("call-site-1.0", 18, 30, "1.0")], id="python-1.0-requests"),
    pytest.param("python/collect_v2.py", [("source-key", 5, 15, None), ("call-site-2.0", 11, 18, "2.0")],
                 id="python-2.0-httpx-key"),
    pytest.param("java/CollectV1.java", [("call-site-1.0", 25, 22, "1.0")], id="java-1.0-okhttp"),
    pytest.param("java/CollectV2.java", [("call-site-2.0", 14, 94, "2.0")], id="java-2.0-httpclient"),
    pytest.param("kotlin/CollectV1.kt", [("call-site-1.0", 16, 30, "1.0")], id="kotlin-1.0-ktor"),
    pytest.param("kotlin/CollectV2.kt", [("call-site-2.0", 18, 19, "2.0")], id="kotlin-2.0-template"),
    pytest.param("swift/CollectV1.swift", [("call-site-1.0", 14, 60, "1.0")], id="swift-1.0-urlsession"),
    pytest.param("swift/CollectV2.swift", [("call-site-2.0", 17, 39, "2.0")], id="swift-2.0-encodable"),
    pytest.param("objc/TCCollectV1.m", [("source-key", 4, 94, None), ("call-site-1.0", 14, 93, "1.0")],
                 id="objc-1.0-key"),
    pytest.param("objc/TCCollectV2.m", [("call-site-2.0", 11, 93, "2.0")], id="objc-2.0-define"),
    pytest.param("go/collect_v1.go", [("call-site-1.0", 23, 27, "1.0")], id="go-1.0-struct-tags"),
    pytest.param("go/batch_v2.go", [("call-site-2.0", 24, 63, "2.0")], id="go-2.0-batch"),
    pytest.param("ruby/tracking.rb", [("call-site-1.0", 13, 20, "1.0")], id="ruby-1.0-net-http"),
    pytest.param("ruby/tracking_v2.rb", [("call-site-2.0", 5, 39, "2.0")], id="ruby-2.0-faraday"),
    pytest.param("csharp/CollectV1.cs", [("call-site-1.0", 14, 31, "1.0")], id="csharp-1.0-anonymous-type"),
    pytest.param("csharp/CollectV2.cs", [("source-key", 16, 94, None), ("call-site-2.0", 17, 46, "2.0")],
                 id="csharp-2.0-bearer-key"),
    pytest.param("shell/replay_v1.sh", [("call-site-1.0", 5, 27, "1.0")], id="shell-1.0-curl"),
    # 2.0 senders that use the word `properties` (parameters, spread, another vendor's call): still 2.0.
    pytest.param("edge/track_v2_properties.py", [("call-site-2.0", 8, 28, "2.0")], id="python-2.0-param-default"),
    pytest.param("edge/track_v2_properties.ts", [("call-site-2.0", 8, 24, "2.0")], id="ts-2.0-typed-param"),
    pytest.param("edge/TrackV2Properties.kt", [("call-site-2.0", 10, 26, "2.0")], id="kotlin-2.0-typed-param"),
    pytest.param("edge/segment_then_collect_v2.js", [("call-site-2.0", 6, 24, "2.0")],
                 id="js-2.0-after-segment-track"),
    # 1.0 bodies written as JSON in a string (escaped quotes) and with shorthand properties.
    pytest.param("edge/CollectV1Escaped.java", [("call-site-1.0", 12, 62, "1.0")], id="java-1.0-escaped-json"),
    pytest.param("edge/CollectV1Escaped.cs", [("call-site-1.0", 11, 34, "1.0")], id="csharp-1.0-escaped-json"),
    pytest.param("edge/escaped_v1.php", [("call-site-1.0", 5, 13, "1.0")], id="php-1.0-escaped-json"),
    pytest.param("edge/escaped_v1.go", [("call-site-1.0", 11, 31, "1.0")], id="go-1.0-escaped-json-result-assigned"),
    pytest.param("edge/shorthand_v1.js", [("call-site-1.0", 3, 24, "1.0")], id="js-1.0-shorthand"),
    # Reported at the call, once.
    pytest.param("edge/collect_v1_response.py", [("call-site-1.0", 8, 35, "1.0")], id="python-1.0-result-assigned"),
    pytest.param("edge/CollectV1Url.swift", [("call-site-1.0", 6, 35, "1.0")], id="swift-1.0-labelled-argument"),
    # Source keys: a name that says so anywhere in the file; next to the collect host, a `token=` on the next
    # line and a name that says key (not the token of another host).
    pytest.param("edge/site_token.py", [("source-key", 5, 15, None)], id="python-key-site-token"),
    pytest.param("edge/key_next_line.js", [("source-key", 3, 23, None), ("source-key", 4, 17, None)],
                 id="js-key-on-the-next-line-and-api-key"),
])
def test_call_sites(name: str, expected: Expected) -> None:
    assert findings_in(CODE / name) == expected


@pytest.mark.parametrize("name", [
    pytest.param("javascript/lookalikes.js", id="js-segment-mixpanel-config-api-comments-proxy"),
    pytest.param("typescript/lookalikes.ts", id="ts-other-vendor-batch"),
    pytest.param("php/lookalikes.php", id="php-config-api-segment-attribute"),
    pytest.param("python/lookalikes.py", id="python-mixpanel-config-api-github-token"),
    pytest.param("java/Lookalike.java", id="java-segment"),
    pytest.param("kotlin/Lookalike.kt", id="kotlin-sdk-and-firebase"),
    pytest.param("swift/Lookalike.swift", id="swift-mixpanel-and-sdk"),
    pytest.param("objc/Lookalike.m", id="objc-amplitude-commented-out"),
    pytest.param("go/lookalike.go", id="go-segment-context-package"),
    pytest.param("ruby/lookalike.rb", id="ruby-segment"),
    pytest.param("csharp/Lookalike.cs", id="csharp-segment-config-api"),
    pytest.param("docs", id="markdown-docs-not-audited-in-a-folder"),
])
def test_look_alikes_are_not_reported(name: str) -> None:
    assert findings_in(CODE / name) == []


@pytest.mark.parametrize(("name", "expected"), [
    # Generated containers: the wire object built in `tC.trigger = function (options) {...}`, 137 lines below
    # the definition, is the finding (not the `cact('trigger')` wrapper's options object); the default key too.
    pytest.param("tc_container_1234_7.js", [("source-key", 16, 29, None), ("web-container-1.0", 187, 15, "1.0")],
                 id="1.0-generated"),
    pytest.param("tc_container_1234_5.min.js", [("source-key", 1, 113, None), ("web-container-1.0", 1, 818, "1.0")],
                 id="1.0-minified"),
    pytest.param("tc_container_1234_8.js", [("source-key", 16, 29, None), ("web-container-2.0", 187, 15, "2.0")],
                 id="2.0-generated"),
    pytest.param("tc_container_1234_9.min.js", [("source-key", 1, 149, None), ("web-container-2.0", 1, 471, "2.0")],
                 id="2.0-minified"),
    pytest.param("product.html", [("web-container-2.0", 13, 19, "2.0")], id="2.0-inline-html"),
    # A site calling the public API (`tC.trigger({event, properties, config})`, `cact('trigger', ...)`) and a stub.
    pytest.param("site_events.js", [], id="api-calls-and-stub-are-not-containers"),
])
def test_web_containers(name: str, expected: Expected) -> None:
    assert findings_in(WEB / name) == expected


@pytest.mark.parametrize("parser", [True, False], ids=["parser", "regex"])
def test_web_containers_read_the_same_with_and_without_the_parser(parser: bool) -> None:
    """The regular-expression reading is the fallback: it finds what the parser finds in every web fixture."""
    from migrate1to2.audit import audit_paths
    from tests.audit.helpers import as_tuples
    assert as_tuples(audit_paths([str(WEB)], limit=0, parser=parser)) == as_tuples(
        audit_paths([str(WEB)], limit=0, parser=True))


def _scan(text: str, style: CommentStyle = CommentStyle.C, *, web: bool = False) -> Expected:
    return [(f.rule, f.line, f.column, f.version) for f in scan_source(text, style, web=web)]


BODY_V1 = 'const body = {event_name: "x", properties: {}};\n'


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param(BODY_V1 + 'fetch("https://collect.commander1.com/events?tc_s=1", {body});\n',
                 [("call-site-1.0", 2, 16, "1.0")], id="collect-host"),
    pytest.param(BODY_V1 + 'fetch("https://shop.example/cdp/events?tc_s=1", {body});\n',
                 [("call-site-1.0", 2, 28, "1.0")], id="first-party-cdp"),
    pytest.param(BODY_V1 + 'fetch("https://shop.example/x/events/batch?tc_s=1", {body});\n',
                 [("call-site-1.0", 2, 30, "1.0")], id="batch-path-with-site"),
    pytest.param(BODY_V1 + 'fetch("https://vendor.example/v1/events/batch", {body});\n', [],
                 id="batch-path-of-another-vendor"),
    pytest.param('fetch("https://api.commander1.com/v2/1234/events", {body: JSON.stringify(e)});\n',
                 [("call-site-1.0", 1, 16, "1.0")], id="retired-draft-endpoint"),
    pytest.param("fetch(`//api.commander1.com/v2/${site}/events`, {body});\n", [("call-site-1.0", 1, 10, "1.0")],
                 id="retired-draft-endpoint-template"),
    pytest.param('/** Posts to the retired api.commander1.com/v2/{siteId}/events (see https://docs). */\n', [],
                 id="retired-draft-endpoint-in-prose-comment"),
    pytest.param('const doc = "The draft endpoint api.commander1.com/v2/{siteId}/events is retired";\n', [],
                 id="retired-draft-endpoint-named-in-a-string"),
    pytest.param(BODY_V1 + 'fetch("https://api.commander1.com/v2/1234/sources", {body});\n', [],
                 id="configuration-api"),
    pytest.param('fetch("https://collect.commander1.com/events", {body: JSON.stringify({properties: {}})});\n', [],
                 id="no-event-name-or-id-nearby"),
    pytest.param(BODY_V1 + "\n" * 20 + 'fetch("https://collect.commander1.com/events", {body});\n', [],
                 id="body-built-too-far-away"),
    pytest.param(BODY_V1 + '// fetch("https://collect.commander1.com/events", {body});\n', [],
                 id="line-comment"),
    pytest.param(BODY_V1 + '/* fetch("https://collect.commander1.com/events", {body}); */\n', [],
                 id="block-comment"),
    pytest.param('const body = {event_name: "x", context: {}};\nfetch("https://collect.commander1.com/events", {body});\n',
                 [("call-site-2.0", 2, 16, "2.0")], id="2.0"),
    pytest.param('const url = "https://collect.commander1.com/events";\n' + "\n" * 40 + BODY_V1 + "fetch(url, {body});\n",
                 [], id="generic-name-followed-30-lines-only"),
    pytest.param('const COLLECT_URL = "https://collect.commander1.com/events";\n' + "\n" * 40 + BODY_V1
                 + "fetch(COLLECT_URL, {body});\n", [("call-site-1.0", 43, 7, "1.0")], id="specific-name-followed"),
    pytest.param('const COLLECT_URL = "https://collect.commander1.com/events";\nconst a = 1;\n' + BODY_V1
                 + "fetch(COLLECT_URL, {body}); log(COLLECT_URL);\n", [("call-site-1.0", 4, 7, "1.0")],
                 id="one-finding-per-line"),
])
def test_call_site_rules(text: str, expected: Expected) -> None:
    assert _scan(text) == expected


SEND = 'fetch("https://collect.commander1.com/events?tc_s=1", {body: JSON.stringify(body)});\n'
V2_BODY = 'const body = {event_name: name, context: {}};\n'


@pytest.mark.parametrize(("text", "style", "expected"), [
    # `properties` that is not a key of the body: never 1.0 evidence.
    pytest.param("function track(name, properties = {}) {\n  " + V2_BODY + "  " + SEND + "}\n", CommentStyle.C,
                 [("call-site-2.0", 3, 18, "2.0")], id="js-default-parameter"),
    pytest.param("const track = (name, properties) => {\n  " + V2_BODY + "  " + SEND + "};\n", CommentStyle.C,
                 [("call-site-2.0", 3, 18, "2.0")], id="js-arrow-parameter"),
    pytest.param("const track = ({ event_name, properties }) => {\n  " + V2_BODY + "  " + SEND + "};\n",
                 CommentStyle.C, [("call-site-2.0", 3, 18, "2.0")], id="js-destructured-parameter"),
    pytest.param("const { event_name, properties } = stored;\n" + V2_BODY + SEND, CommentStyle.C,
                 [("call-site-2.0", 3, 16, "2.0")], id="js-destructuring"),
    pytest.param("let properties = {...data};\n" + V2_BODY + SEND, CommentStyle.C,
                 [("call-site-2.0", 3, 16, "2.0")], id="js-local-variable"),
    pytest.param("const properties: Record<string, unknown> = {};\n" + V2_BODY + SEND, CommentStyle.C,
                 [("call-site-2.0", 3, 16, "2.0")], id="ts-typed-local-variable"),
    pytest.param("public void Track(string name, object properties = null) {\n" + V2_BODY + SEND + "}\n",
                 CommentStyle.C, [("call-site-2.0", 3, 16, "2.0")], id="csharp-default-parameter"),
    pytest.param("func track(name: String, properties: [String: Any]) {\n" + V2_BODY + SEND + "}\n",
                 CommentStyle.C, [("call-site-2.0", 3, 16, "2.0")], id="swift-parameter"),
    pytest.param('legacy = stored.get("properties")\nbody = {"event_name": n, "context": {}}\n'
                 'requests.post("https://collect.commander1.com/events", json=body)\n', CommentStyle.HASH,
                 [("call-site-2.0", 3, 24, "2.0")], id="python-read-of-a-1.0-key"),
    pytest.param('mp.track(uid, "Signed Up", properties={"event_name": "sign_up"})\nbody = {"event_name": n, '
                 '"context": {}}\nrequests.post("https://collect.commander1.com/events", json=body)\n',
                 CommentStyle.HASH, [("call-site-2.0", 3, 24, "2.0")], id="python-mixpanel-keyword-argument"),
    # `properties` as a key of the body, in the forms the languages use: 1.0.
    pytest.param('body = dict(event_name=n, properties=p)\nrequests.post("https://collect.commander1.com/events", '
                 'json=body)\n', CommentStyle.HASH, [("call-site-1.0", 2, 24, "1.0")], id="python-dict-keywords"),
    pytest.param('body = {"event_name": n}\nbody["properties"] = p\nrequests.post('
                 '"https://collect.commander1.com/events", json=body)\n', CommentStyle.HASH,
                 [("call-site-1.0", 3, 24, "1.0")], id="python-assigned-into-the-body"),
    pytest.param("$body = ['event_name' => $n];\n$body['properties'] = $p;\n"
                 "$ch = curl_init('https://collect.commander1.com/events');\n", CommentStyle.PHP,
                 [("call-site-1.0", 3, 26, "1.0")], id="php-assigned-into-the-body"),
    pytest.param('const body = {event_name: n};\nbody.properties = p;\n' + SEND, CommentStyle.C,
                 [("call-site-1.0", 3, 16, "1.0")], id="js-member-assigned"),
    pytest.param('data class Event(@SerialName("event_name") val name: String, @SerialName("properties") '
                 'val props: Map<String, String>)\nclient.post("https://collect.commander1.com/events") '
                 '{ setBody(e) }\n', CommentStyle.C, [("call-site-1.0", 2, 22, "1.0")],
                 id="kotlin-serial-names"),
    pytest.param('var body = new Dictionary<string, object> { { "event_name", n }, { "properties", p } };\n'
                 'await http.PostAsJsonAsync("https://collect.commander1.com/events", body);\n', CommentStyle.C,
                 [("call-site-1.0", 2, 37, "1.0")], id="csharp-collection-initializer"),
    pytest.param('var body = new Dictionary<string, object> { { "event_name", n }, { "context", c } };\n'
                 'await http.PostAsJsonAsync("https://collect.commander1.com/events", body);\n', CommentStyle.C,
                 [("call-site-2.0", 2, 37, "2.0")], id="csharp-collection-initializer-2.0"),
    pytest.param('var ignored = new[] { "event_name", "properties" };\n'
                 'await http.PostAsJsonAsync("https://collect.commander1.com/events", new { event_name = n, '
                 'context = c });\n', CommentStyle.C, [("call-site-2.0", 2, 37, "2.0")], id="csharp-list-of-names"),
    pytest.param("class Event(BaseModel):\n    event_name: str\n    properties: dict[str, Any]\n\n\n"
                 'requests.post("https://collect.commander1.com/events", json=e.model_dump())\n', CommentStyle.HASH,
                 [("call-site-1.0", 6, 24, "1.0")], id="python-model-fields"),
    pytest.param("class Tracker:\n    properties: dict\n\n    def send(self, name):\n        body = "
                 '{"event_name": name, "context": {}}\n        requests.post('
                 '"https://collect.commander1.com/events", json=body)\n', CommentStyle.HASH,
                 [("call-site-2.0", 6, 32, "2.0")], id="python-class-field-of-the-sender"),
    pytest.param("var body = new { event_name = n, properties = p };\nawait http.PostAsJsonAsync("
                 '"https://collect.commander1.com/events", body);\n', CommentStyle.C,
                 [("call-site-1.0", 2, 37, "1.0")], id="csharp-anonymous-type"),
])
def test_body_keys(text: str, style: CommentStyle, expected: Expected) -> None:
    assert _scan(text, style) == expected


def test_two_call_sites_in_one_minified_line_stay_apart() -> None:
    """The character window keeps a 2.0 call from taking the evidence of a 1.0 call far away on the same line."""
    v1 = 'fetch("https://collect.commander1.com/events",{body:{event_name:"a",properties:{}}});'
    v2 = 'fetch("https://collect.commander1.com/events",{body:{event_name:"b",context:{}}});'
    text = v1 + ";" * 5000 + v2 + "\n"
    assert _scan(text) == [("call-site-1.0", 1, 16, "1.0"), ("call-site-2.0", 1, 5000 + len(v1) + 16, "2.0")]


@pytest.mark.parametrize(("text", "style", "expected"), [
    pytest.param('u = "https://collect.commander1.com/events?tc_s=1&token=AbCdEfGh12345678"\n', CommentStyle.HASH,
                 [("source-key", 1, 57, None)], id="token-in-url"),
    pytest.param('u = "https://collect.commander1.com/events?tc_s=1&token=${TOKEN}"\n', CommentStyle.HASH, [],
                 id="interpolated"),
    pytest.param('u = "https://collect.commander1.com/events?tc_s=1&token=YOUR_SOURCE_KEY"\n', CommentStyle.HASH,
                 [], id="placeholder"),
    pytest.param('u = "https://example.com/api?token=AbCdEfGh12345678"\n', CommentStyle.HASH, [],
                 id="token-of-another-host"),
    pytest.param('# u = "https://collect.commander1.com/events?token=AbCdEfGh12345678"\n', CommentStyle.HASH, [],
                 id="commented-out"),
    pytest.param('h = {"Authorization": "Bearer AbCdEfGh12345678"}\nrequests.post("https://collect.commander1.com/events")\n',
                 CommentStyle.HASH, [("source-key", 1, 31, None)], id="bearer-next-to-collect"),
    pytest.param('h = {"Authorization": "Bearer AbCdEfGh12345678"}\nrequests.post("https://api.example.com/")\n',
                 CommentStyle.HASH, [], id="bearer-for-another-host"),
    pytest.param('u = ("https://collect.commander1.com/events"\n     "?tc_s=1234&token=AbCdEfGh12345678")\n',
                 CommentStyle.HASH, [("source-key", 2, 24, None)], id="token-on-the-next-line"),
    pytest.param('u = "https://collect.commander1.com/events"\nv = "https://api.example.com/?token=AbCdEfGh12345678"\n',
                 CommentStyle.HASH, [], id="token-of-another-host-next-to-the-collect-host"),
    pytest.param('SITE_TOKEN = "AbCdEfGh12345678"\n' + "\n" * 40 + 'u = "https://collect.commander1.com/events"\n',
                 CommentStyle.HASH, [("source-key", 1, 15, None)], id="source-key-name-anywhere-in-the-file"),
    pytest.param('API_KEY = "AbCdEfGh12345678"\nu = "https://collect.commander1.com/events"\n', CommentStyle.HASH,
                 [("source-key", 1, 12, None)], id="secret-name-next-to-the-collect-host"),
    pytest.param('API_KEY = "AbCdEfGh12345678"\n' + "\n" * 40 + 'u = "https://collect.commander1.com/events"\n',
                 CommentStyle.HASH, [], id="secret-name-far-from-the-collect-host"),
    pytest.param('SITE_TOKEN = "AbCdEfGh12345678"\nu = "https://api.example.com/"\n', CommentStyle.HASH, [],
                 id="source-key-name-without-the-collect-host"),
    pytest.param('CACHE_KEY = "checkout-session-events"\nu = "https://collect.commander1.com/events"\n',
                 CommentStyle.HASH, [], id="secret-name-with-a-value-that-is-no-key"),
    pytest.param('TC_TOKEN = os.environ["TC_TOKEN_FROM_THE_VAULT"]\nu = "https://collect.commander1.com/events"\n',
                 CommentStyle.HASH, [], id="key-read-from-the-environment"),
    pytest.param('TC_TOKEN=AbCdEfGh12345678\nURL="https://collect.commander1.com/events"\n', CommentStyle.SHELL,
                 [("source-key", 1, 10, None)], id="unquoted-in-a-shell-script"),
    pytest.param('TC_TOKEN = read_token12345()\nu = "https://collect.commander1.com/events"\n', CommentStyle.HASH, [],
                 id="unquoted-in-code-is-an-expression"),
])
def test_source_key_rules(text: str, style: CommentStyle, expected: Expected) -> None:
    assert _scan(text, style) == expected


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param('TC_COLLECT_URL=https://collect.commander1.com/events?tc_s=1\nTC_TOKEN=AbCdEfGh12345678\n',
                 [("source-key", 2, 10, None)], id="dotenv"),
    pytest.param('collect:\n  url: https://collect.commander1.com/events\n  source_key: AbCdEfGh12345678  # prod\n',
                 [("source-key", 3, 15, None)], id="yaml-unquoted"),
    pytest.param('[collect]\nurl = https://collect.commander1.com/events\ntoken = AbCdEfGh12345678\n',
                 [("source-key", 3, 9, None)], id="ini"),
    pytest.param('collect:\n  url: https://collect.commander1.com/events\n  release: v2.14.1-build20231114\n', [],
                 id="unquoted-value-of-another-name"),
    pytest.param('TC_TOKEN=AbCdEfGh12345678\n', [], id="no-collect-host-in-the-file"),
])
def test_source_keys_in_configuration(text: str, expected: Expected) -> None:
    found = scan_source(text, CommentStyle.HASH, config=True)
    assert [(f.rule, f.line, f.column, f.version) for f in found if f.rule == "source-key"] == expected


@pytest.mark.parametrize("parser", [True, False], ids=["parser", "regex"])
@pytest.mark.parametrize(("text", "expected"), [
    pytest.param('tC.trigger = function (o) { var e = {event: o.event, properties: o.properties}; };\n',
                 [("web-container-1.0", 1, 37, "1.0")], id="1.0-by-properties-without-version"),
    pytest.param('tC.trigger = function (o) {\n  var e = {event_name: o.event, context: {}};\n};\n',
                 [("web-container-2.0", 2, 11, "2.0")], id="2.0-by-context-without-version"),
    pytest.param('tC.trigger = (o) => { send({"event": o.event, "version": "1", "page": {}}); };\n',
                 [("web-container-1.0", 1, 28, "1.0")], id="arrow-quoted-keys-version-string"),
    pytest.param('tC.trigger = function (o) { var e = {event: o.event, properties: {version: 2}}; };\n',
                 [("web-container-1.0", 1, 37, "1.0")], id="version-inside-properties-is-the-data"),
    pytest.param('tC.trigger = function (o) {\n  var hit = Object.assign({event_name: o.event}, o.properties, '
                 '{context: {page: {}, version: 2}});\n};\n', [("web-container-2.0", 2, 27, "2.0")],
                 id="2.0-merged-with-object-assign"),
    pytest.param('tC.trigger = function (o) {\n  listeners.forEach(function (f) { f({event: o.event, properties: o.properties}); });\n'
                 '  var hit = {event_name: o.event, context: {version: 2}};\n};\n', [("web-container-2.0", 3, 13, "2.0")],
                 id="2.0-with-an-event-object-for-listeners"),
    # Calls take the options object both container versions accept: never the wire body.
    pytest.param('tC.trigger("x", {event: "x", properties: {a: 1}});\ntC.trigger({event: "y", version: 1});\n', [],
                 id="calls-are-not-definitions"),
    pytest.param('cact("trigger", "x", {properties: {}, version: 1});\n', [], id="cact-wrapper"),
    pytest.param('tC.trigger = tC.trigger || function () {};\n', [], id="stub"),
    pytest.param('tC.trigger = function (o) { var opts = {config: o.config, properties: {}}; };\n', [],
                 id="object-without-event-key"),
    pytest.param('tC.trigger == function (o) { var e = {event: 1, version: 1}; };\n', [], id="comparison"),
])
def test_trigger_definitions(text: str, expected: Expected, parser: bool) -> None:
    from migrate1to2.audit.syntax import use_parser
    previous = use_parser(parser)
    try:
        assert _scan(text, web=True) == expected
    finally:
        use_parser(previous)


def test_trigger_is_only_looked_for_in_web_languages() -> None:
    assert _scan('tC.trigger = function (o) { var e = {event: 1, version: 1, properties: {}}; };\n', web=False) == []


def test_page_templates_are_read_as_markup(tmp_path: Path) -> None:
    """A Shopify theme snippet (Liquid) that inlines a container: its `<script>` is read, the rest is not."""
    snippet = tmp_path / "tagco.liquid"
    snippet.write_text("{% if settings.tc_enabled %}<p>{event: 1, version: 1}</p>\n<script>\n"
                       "tC.trigger = function (o) { var hit = {event: o.event, properties: o.properties, version: 1};"
                       " navigator.sendBeacon(u, JSON.stringify(hit)); };\n</script>{% endif %}\n", encoding="utf-8")
    assert findings_in(snippet) == [("web-container-1.0", 3, 39, "1.0")]


@pytest.mark.parametrize("parser", [True, False], ids=["parser", "regex"])
def test_a_container_the_grammar_cannot_read_is_scanned(tmp_path: Path, parser: bool) -> None:
    """TypeScript in a `.vue` file is not JavaScript: where the parser finds no definition, the scanner reads it."""
    from migrate1to2.audit import audit_paths
    from tests.audit.helpers import as_tuples
    page = tmp_path / "Tracking.vue"
    page.write_text('<template><div/></template>\n<script lang="ts">\n'
                    "tC.trigger = function (options: TriggerOptions): number {\n"
                    "  const hit = <Hit>{ event: options.event, properties: options.properties, version: 1 };\n"
                    "  navigator.sendBeacon(url, JSON.stringify(hit));\n  return 1;\n};\n</script>\n", encoding="utf-8")
    assert as_tuples(audit_paths([str(page)], limit=0, parser=parser)) == [("web-container-1.0", 4, 20, "1.0")]
