"""Our listing streams judged on data the official SDK created: alibabacloud-oss-v2 starts 2,500
multipart uploads, uploads 1,200 parts to one of them and puts 1,050 objects; the
`list_stream` example of oss-multipart (built by `cargo xtask interop`, path in
OSS_LIST_STREAM_BIN) pages through them with every option of `list_uploads_with`,
`list_parts_with` and `list_objects`, and must print exactly what was created, in OSS's order.
"""

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import alibabacloud_oss_v2 as oss
import pytest

from clients import AK, BUCKET, REGION, SK, V2

ROOT = "listing-judge/"
UPLOADS = 2500
PARTS = 1200
OBJECTS = 1050


def _lister():
    path = os.environ.get("OSS_LIST_STREAM_BIN")
    if not path:
        pytest.skip("OSS_LIST_STREAM_BIN is not set (cargo xtask interop sets it)")
    return path


@pytest.fixture(scope="module")
def made(port):
    """What the SDK created: upload ids by key, the part ETags, the object keys."""
    lister = _lister()
    sdk = V2(port, "v4", "path")
    keys = [f"{ROOT}up/{'even' if i % 2 == 0 else 'odd'}/{i:05}" for i in range(UPLOADS)]
    with ThreadPoolExecutor(8) as pool:
        ids = dict(zip(keys, pool.map(sdk.initiate, keys)))
        # Several uploads of one key, started one after another (upload-id markers).
        dup_key = ROOT + "dup/k"
        dup_ids = [sdk.initiate(dup_key) for _ in range(5)]
        part_key = ROOT + "parts/many"
        part_upload = sdk.initiate(part_key)
        etags = dict(zip(range(1, PARTS + 1), pool.map(
            lambda n: sdk.upload_part(part_key, part_upload, n, bytes([n % 256]) * 3)[0],
            range(1, PARTS + 1))))
        objects = [f"{ROOT}obj/{'a' if i < 600 else 'b'}/{i:05}" for i in range(OBJECTS)]
        list(pool.map(lambda k: sdk.put(k, b"o"), objects))
    return {"sdk": sdk, "port": port, "lister": lister, "ids": ids, "dup_key": dup_key,
            "dup_ids": dup_ids, "part_key": part_key, "part_upload": part_upload,
            "etags": etags, "objects": objects}


def _run(made, *args):
    out = subprocess.run(
        [made["lister"], f"http://127.0.0.1:{made['port']}", BUCKET, *args],
        env={**os.environ, "OSS_ACCESS_KEY_ID": AK, "OSS_ACCESS_KEY_SECRET": SK, "OSS_REGION": REGION},
        capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[-1] == {"entries": len(lines) - 1}
    return lines[:-1]


def test_uploads_default_pages_list_every_upload(made):
    got = _run(made, "uploads", "--prefix", ROOT + "up/")
    assert len(got) == UPLOADS
    assert {e["upload"]: e["upload_id"] for e in got} == made["ids"]
    assert [e["upload"] for e in got] == sorted(made["ids"])


def test_uploads_with_marker_delimiter_and_small_pages(made):
    got = _run(made, "uploads", "--prefix", ROOT + "up/odd/", "--delimiter", "/",
               "--key-marker", ROOT + "up/odd/00999", "--max", "97")
    expected = sorted(k for k in made["ids"] if "/odd/" in k and k > ROOT + "up/odd/00999")
    assert len(expected) == 750
    assert [e["upload"] for e in got] == expected


def test_uploads_common_prefixes_one_per_page(made):
    got = _run(made, "uploads", "--prefix", ROOT + "up/", "--delimiter", "/", "--max", "1")
    assert got == [{"prefix": ROOT + "up/even/"}, {"prefix": ROOT + "up/odd/"}]


def test_upload_id_marker_continues_within_one_key(made):
    # The order of one key's uploads is the server's: take it from the SDK's own listing.
    res = made["sdk"].client.list_multipart_uploads(oss.ListMultipartUploadsRequest(
        bucket=BUCKET, prefix=made["dup_key"]))
    order = [u.upload_id for u in res.uploads]
    assert sorted(order) == sorted(made["dup_ids"])
    got = _run(made, "uploads", "--prefix", ROOT + "dup/", "--key-marker", made["dup_key"],
               "--upload-id-marker", order[1], "--max", "2")
    assert [e["upload_id"] for e in got] == order[2:]


def test_parts_every_page_and_from_a_marker(made):
    got = _run(made, "parts", made["part_key"], made["part_upload"])
    assert [(p["part"], p["etag"], p["size"]) for p in got] == \
        [(n, made["etags"][n], 3) for n in range(1, PARTS + 1)]
    got = _run(made, "parts", made["part_key"], made["part_upload"], "--marker", "150", "--max", "333")
    assert [p["part"] for p in got] == list(range(151, PARTS + 1))


def test_objects_with_prefix_delimiter_and_start_after(made):
    got = _run(made, "objects", "--prefix", ROOT + "obj/")
    assert [e["object"] for e in got] == sorted(made["objects"])
    got = _run(made, "objects", "--prefix", ROOT + "obj/", "--delimiter", "/", "--max", "1")
    assert got == [{"prefix": ROOT + "obj/a/"}, {"prefix": ROOT + "obj/b/"}]
    got = _run(made, "objects", "--prefix", ROOT + "obj/a/", "--start-after", ROOT + "obj/a/00499",
               "--max", "77")
    assert [e["object"] for e in got] == [k for k in sorted(made["objects"])
                                          if k.startswith(ROOT + "obj/a/") and k > ROOT + "obj/a/00499"]
