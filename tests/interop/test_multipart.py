"""The official Python SDKs against oss-local: multipart upload, listing with pagination,
abort, and each negative case, for V4 and V1 signatures in path and virtual-host style."""

import base64
import hashlib
import hmac
import os
import time
import urllib.parse
import urllib.request

import pytest
import requests

from clients import AK, BUCKET, SK, ErrorRaised, md5_b64

PART = 102_400


def data(n, seed):
    return (hashlib.sha256(bytes([seed])).digest() * (n // 32 + 1))[:n]


def expect_error(status, code, fn, *args, **kwargs):
    with pytest.raises(ErrorRaised) as info:
        fn(*args, **kwargs)
    err = info.value.err
    assert (err.status, err.code) == (status, code), err
    assert err.request_id and len(err.request_id) == 24, err
    return err


def test_multipart_roundtrip(client, prefix):
    key = prefix + "object with spaces+plus.bin"
    parts = [data(PART, 1), data(PART + 1, 2), data(777, 3)]
    upload_id = client.initiate(key)
    etags = []
    for n, body in enumerate(parts, 1):
        etag, crc = client.upload_part(key, upload_id, n, body, content_md5=md5_b64(body))
        assert etag.strip('"') == hashlib.md5(body).hexdigest().upper()
        assert crc is not None
        etags.append(etag)
    # ListParts, two per page.
    seen, marker = [], None
    while True:
        page, truncated, marker = client.list_parts(key, upload_id, max_parts=2, marker=marker)
        seen += page
        if not truncated:
            break
    assert [p[0] for p in seen] == [1, 2, 3]
    assert [p[2] for p in seen] == [len(p) for p in parts]
    etag, crc = client.complete(key, upload_id, list(zip([1, 2, 3], etags)))
    assert etag.strip('"').endswith("-3")
    whole = b"".join(parts)
    assert client.get(key) == whole
    head = client.head(key)
    assert int(head["size"]) == len(whole)
    assert head["type"] == "Multipart"
    assert client.get(key, rng=f"bytes={PART - 3}-{PART + 2}") == whole[PART - 3:PART + 3]
    expect_error(404, "NoSuchUpload", client.list_parts, key, upload_id)


def test_complete_all(client, prefix):
    key = prefix + "all"
    upload_id = client.initiate(key)
    client.upload_part(key, upload_id, 2, b"tail")
    client.upload_part(key, upload_id, 1, data(PART, 5))
    client.complete(key, upload_id, None, complete_all=True)
    assert client.get(key) == data(PART, 5) + b"tail"


def test_list_uploads_pagination_and_delimiter(client, prefix):
    keys = [prefix + k for k in ("a", "b", "b", "c/1", "c/2", "d")]
    ids = [client.initiate(k) for k in keys]
    got, km, um = [], None, None
    while True:
        uploads, prefixes, truncated, km, um = client.list_uploads(
            max_uploads=2, key_marker=km, id_marker=um, prefix=prefix)
        assert len(uploads) + len(prefixes or []) <= 2
        got += uploads
        if not truncated:
            break
    assert [k for k, _ in got] == keys
    assert sorted(i for _, i in got) == sorted(ids)
    uploads, prefixes, truncated, _, _ = client.list_uploads(prefix=prefix, delimiter="/")
    if prefixes is not None:
        assert prefixes == [prefix + "c/"]
    assert [k for k, _ in uploads] == [prefix + k for k in ("a", "b", "b", "d")]
    for k, i in zip(keys, ids):
        client.abort(k, i)
    uploads, _, _, _, _ = client.list_uploads(prefix=prefix)
    assert uploads == []


def test_abort(client, prefix):
    key = prefix + "aborted"
    upload_id = client.initiate(key)
    client.upload_part(key, upload_id, 1, b"x")
    client.abort(key, upload_id)
    expect_error(404, "NoSuchUpload", client.list_parts, key, upload_id)
    err = expect_error(404, "NoSuchUpload", client.abort, key, upload_id)
    assert err.ec == "0042-00000002"
    expect_error(404, "NoSuchUpload", client.upload_part, key, upload_id, 1, b"y")


def test_upload_part_copy(client, prefix):
    src = prefix + "src"
    body = data(250_000, 9)
    src_etag = client.put(src, body)
    key = prefix + "dst"
    upload_id = client.initiate(key)
    e1 = client.copy_part(key, upload_id, 1, src, rng="bytes=0-149999", if_match=src_etag)
    e2 = client.copy_part(key, upload_id, 2, src, rng="bytes=150000-249999")
    client.complete(key, upload_id, [(1, e1), (2, e2)])
    assert client.get(key) == body
    expect_error(412, "PreconditionFailed", client.copy_part, key, client.initiate(key), 1, src,
                 rng="bytes=0-9", if_match='"00000000000000000000000000000000"')


def test_high_level_uploader(client, prefix, tmp_path):
    path = tmp_path / "file.bin"
    body = data(3 * PART + 12345, 11)
    path.write_bytes(body)
    client.upload_file(prefix + "uploaded", path, PART)
    assert client.get(prefix + "uploaded") == body


def test_part_errors(client, prefix):
    key = prefix + "errors"
    upload_id = client.initiate(key)
    expect_error(404, "NoSuchUpload", client.upload_part, key, "0" * 32, 1, b"x")
    err = expect_error(400, "InvalidArgument", client.upload_part, key, upload_id, 10001, b"x")
    assert err.ec == "0017-00000220"
    expect_error(400, "InvalidDigest", client.upload_part, key, upload_id, 1, b"abc",
                 content_md5=md5_b64(b"abd"))
    e1, _ = client.upload_part(key, upload_id, 1, b"small 1")
    e2, _ = client.upload_part(key, upload_id, 2, b"small 2")
    expect_error(400, "EntityTooSmall", client.complete, key, upload_id, [(1, e1), (2, e2)])
    expect_error(400, "InvalidPart", client.complete, key, upload_id,
                 [(1, '"00000000000000000000000000000000"')])
    expect_error(400, "InvalidPart", client.complete, key, upload_id, [(1, e1), (3, e2)])
    unsorted = ("<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"
                "<Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>"
                % (e2, e1))
    err = expect_error(400, "InvalidPartOrder", client.complete_raw, key, upload_id, unsorted)
    assert err.ec == "0042-00000209"
    expect_error(400, "MalformedXML", client.complete_raw, key, upload_id, "<CompleteMultipartUpload><Part>")
    body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>" % e1
    err = expect_error(400, "InvalidArgument", client.complete_raw, key, upload_id, body,
                       headers={"x-oss-complete-all": "yes"})
    assert err.ec == "0042-00000216"


def test_forbid_overwrite(client, prefix):
    key = prefix + "exists"
    client.put(key, b"old")
    expect_error(409, "FileAlreadyExists", client.initiate, key, forbid=True)
    upload_id = client.initiate(key)
    e1, _ = client.upload_part(key, upload_id, 1, b"new")
    err = expect_error(409, "FileAlreadyExists", client.complete, key, upload_id, [(1, e1)], forbid=True)
    assert err.ec == "0042-00000214"
    expect_error(409, "FileAlreadyExists", client.put, key, b"x", forbid=True)
    client.complete(key, upload_id, [(1, e1)])
    assert client.get(key) == b"new"


def test_sequential(client, prefix):
    key = prefix + "seq"
    upload_id = client.initiate(key, sequential=True)
    client.upload_part(key, upload_id, 1, data(PART, 1))
    expect_error(400, "PartNotSequential", client.upload_part, key, upload_id, 3, b"x")
    # Completed in order, the object has the MD5 of its bytes; a plain multipart object has none.
    second = data(PART + 7, 2)
    client.upload_part(key, upload_id, 2, second)
    client.complete(key, upload_id, None, complete_all=True)
    whole = data(PART, 1) + second
    assert client.head_headers(key).get("content-md5") == md5_b64(whole)
    plain = prefix + "plain"
    plain_id = client.initiate(plain)
    e1, _ = client.upload_part(plain, plain_id, 1, whole)
    client.complete(plain, plain_id, [(1, e1)])
    assert "content-md5" not in client.head_headers(plain)


def test_control_character_keys(client, prefix):
    # Every control character but NUL: each must reach the server, be stored and be listed
    # back exactly; XML answers write them as character references.
    key = prefix + "ctl-" + "".join(chr(c) for c in range(1, 0x20)) + "-end"
    body = data(1000, 3)
    client.put(key, body)
    assert client.get(key) == body
    assert client.head(key)["size"] == len(body)
    assert client.list_keys(prefix + "ctl-") == [key]
    if client.sdk == "v2":
        # The v2 SDK asks for url-encoded keys on Initiate/Complete. oss2 asks for none, and
        # Python's XML parser refuses the character references that XML 1.0 forbids, so oss2
        # cannot start a multipart upload of such a key on OSS either.
        upload_id = client.initiate(key)
        etag, _ = client.upload_part(key, upload_id, 1, body)
        client.complete(key, upload_id, [(1, etag)])
        assert client.get(key) == body
        assert client.head(key)["type"] == "Multipart"
    client.delete(key)
    assert client.list_keys(prefix + "ctl-") == []


def test_auth_and_lookup_errors(client, prefix, make_client):
    expect_error(403, "SignatureDoesNotMatch", make_client(client, sk="wrong-secret").initiate, prefix + "k")
    expect_error(403, "InvalidAccessKeyId", make_client(client, ak="unknown-ak").initiate, prefix + "k")
    expect_error(404, "NoSuchBucket", make_client(client, bucket="no-such-bucket").initiate, prefix + "k")
    expect_error(404, "NoSuchKey", client.get, prefix + "missing")


def _v1_presigned_url(port, key, expires):
    resource = f"/{BUCKET}/{key}"
    sts = f"GET\n\n\n{expires}\n{resource}"
    sig = base64.b64encode(hmac.new(SK.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    query = urllib.parse.urlencode({"OSSAccessKeyId": AK, "Expires": expires, "Signature": sig})
    return f"http://127.0.0.1:{port}/{BUCKET}/{urllib.parse.quote(key)}?{query}"


def test_unsigned_and_expired_presign(client, prefix, port):
    if client.sdk != "v2" or client.sig != "v4" or client.style != "path":
        pytest.skip("SDK-independent: run once")
    key = prefix + "presigned"
    client.put(key, b"hello")
    with urllib.request.urlopen(_v1_presigned_url(port, key, int(time.time()) + 60)) as resp:
        assert resp.read() == b"hello"
    for url in (_v1_presigned_url(port, key, int(time.time()) - 5),
                f"http://127.0.0.1:{port}/{BUCKET}/{key}"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url)
        assert info.value.code == 403
        body = info.value.read().decode()
        assert "<Code>AccessDenied</Code>" in body, body
        assert info.value.headers["x-oss-request-id"] in body


def _fetch(port, method, url, headers, body=None):
    # Presigned virtual-host URLs name <bucket>.oss.localhost: go through oss-local as proxy.
    # `requests` (an SDK dependency) adds no Content-Type of its own, which V4 would sign.
    resp = requests.request(method, url, data=body, headers=headers,
                            proxies={"http": f"http://127.0.0.1:{port}"})
    return resp.status_code, resp.headers, resp.content


def test_presigned_urls(client, prefix, port):
    key = prefix + "presigned object"
    client.put(key, b"presigned body")
    url, headers = client.presign_get(key)
    status, _, body = _fetch(port, "GET", url, headers)
    assert (status, body) == (200, b"presigned body")
    upload_id = client.initiate(key + ".mp")
    url, headers = client.presign_upload_part(key + ".mp", upload_id, 1)
    status, resp_headers, _ = _fetch(port, "PUT", url, headers, body=b"part via url")
    assert status == 200
    etag = resp_headers["ETag"]
    client.complete(key + ".mp", upload_id, [(1, etag)])
    assert client.get(key + ".mp") == b"part via url"
    # Tampering with the URL breaks the signature.
    status, resp_headers, body = _fetch(port, "PUT", url.replace("partNumber=1", "partNumber=2"),
                                        headers, body=b"x")
    assert status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in body.decode()
    assert resp_headers["x-oss-request-id"] in body.decode()
