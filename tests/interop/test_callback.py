"""Upload callbacks through the official SDKs' own callback parameters: oss-local POSTs the
substituted body to a callback server on 127.0.0.1, the SDK gets the server's reply back, and a
failing callback is a 203 with the object kept. PutObject, CompleteMultipartUpload, and (oss2)
a presigned PUT carrying the callback in its query."""

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import alibabacloud_oss_v2 as oss
import pytest
import requests

from clients import V2, ErrorRaised


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        self.server.received.append({"path": self.path, "host": self.headers.get("Host"),
                                     "type": self.headers.get("Content-Type"), "body": body})
        status, reply = (500, b'{"error":"no"}') if self.path.startswith("/fail") else \
            (200, json.dumps({"seen": len(body)}).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def callback_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _b64(obj):
    return base64.b64encode(json.dumps(obj).encode()).decode()


def _callback(server, path="/ok"):
    port = server.server_address[1]
    return _b64({
        "callbackUrl": f"http://127.0.0.1:{port}{path}",
        "callbackHost": "app.example",
        "callbackBody": "object=${object}&size=${size}&etag=${etag}&mime=${mimeType}&who=${x:who}",
    })


def _form(body):
    return dict(urllib.parse.parse_qsl(body, keep_blank_values=True))


def _put(client, key, data, callback, var):
    """PutObject with a callback; returns (status, reply text)."""
    if isinstance(client, V2):
        res = client.call(client.client.put_object, oss.PutObjectRequest(
            bucket=client.bucket, key=key, body=data, callback=callback, callback_var=var))
        return res.status_code, res.callback_result
    res = client.call(client.b.put_object, key, data,
                      headers={"x-oss-callback": callback, "x-oss-callback-var": var})
    return res.status, res.resp.read().decode()


def _complete(client, key, upload_id, parts, callback, var):
    if isinstance(client, V2):
        res = client.call(client.client.complete_multipart_upload, oss.CompleteMultipartUploadRequest(
            bucket=client.bucket, key=key, upload_id=upload_id, callback=callback, callback_var=var,
            complete_multipart_upload=oss.CompleteMultipartUpload(
                parts=[oss.UploadPart(part_number=n, etag=e) for n, e in parts])))
        return res.status_code, res.callback_result
    import oss2
    res = client.call(client.b.complete_multipart_upload, key, upload_id,
                      [oss2.models.PartInfo(n, e) for n, e in parts],
                      headers={"x-oss-callback": callback, "x-oss-callback-var": var})
    return res.status, res.resp.read().decode()


def test_put_object_callback_reply_reaches_the_sdk(client, prefix, callback_server):
    key = prefix + "put cb.txt"
    before = len(callback_server.received)
    status, reply = _put(client, key, b"hello callback", _callback(callback_server), _b64({"x:who": "v&w"}))
    assert status == 200
    assert json.loads(reply) == {"seen": len(callback_server.received[before]["body"])}
    got = callback_server.received[before]
    assert got["host"] == "app.example"
    assert got["type"] == "application/x-www-form-urlencoded"
    form = _form(got["body"])
    assert form["object"] == key and form["size"] == "14" and form["who"] == "v&w"
    assert form["etag"] == client.head(key)["etag"].strip('"')


def test_complete_callback_reply_reaches_the_sdk(client, prefix, callback_server):
    key = prefix + "multi"
    upload_id = client.initiate(key)
    parts = [(1, client.upload_part(key, upload_id, 1, b"a" * 102400)[0]),
             (2, client.upload_part(key, upload_id, 2, b"b" * 10)[0])]
    before = len(callback_server.received)
    status, reply = _complete(client, key, upload_id, parts, _callback(callback_server), _b64({"x:who": "me"}))
    assert status == 200
    assert "seen" in json.loads(reply)
    form = _form(callback_server.received[before]["body"])
    assert form["object"] == key and form["size"] == "102410" and form["who"] == "me"
    assert client.head(key)["size"] == 102410


def test_a_failed_callback_is_203_and_the_object_is_kept(client, prefix, callback_server):
    key = prefix + "failed"
    status, _ = _put(client, key, b"kept", _callback(callback_server, "/fail"), _b64({"x:who": "x"}))
    assert status == 203
    assert client.head(key)["size"] == 4


def test_a_callback_target_outside_the_allow_list_is_refused(client, prefix):
    key = prefix + "refused"
    bad = _b64({"callbackUrl": "http://192.0.2.1/", "callbackBody": "a=b"})
    with pytest.raises(ErrorRaised) as raised:
        _put(client, key, b"never", bad, _b64({"x:who": "x"}))
    assert (raised.value.err.status, raised.value.err.code) == (400, "InvalidArgument")
    with pytest.raises(ErrorRaised) as raised:
        client.head(key)
    assert raised.value.err.status == 404


def test_presigned_put_with_callback_query(client, prefix, callback_server, port):
    if isinstance(client, V2):
        pytest.skip("oss2's sign_url carries the callback in the query; v2 signs it as a header")
    key = prefix + "presigned"
    url = client.b.sign_url("PUT", key, 60, params={
        "callback": _callback(callback_server), "callback-var": _b64({"x:who": "url"})})
    before = len(callback_server.received)
    # Virtual-host URLs reach oss-local through itself as the proxy, as in clients.py.
    proxy = f"http://127.0.0.1:{port}" if client.style == "vhost" else None
    resp = requests.put(url, data=b"presigned!", proxies={"http": proxy})
    assert resp.status_code == 200, resp.text
    assert "seen" in resp.json()
    assert _form(callback_server.received[before]["body"])["who"] == "url"
