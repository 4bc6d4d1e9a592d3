"""Objects written by the official SDKs, downloaded and verified by our downloader.

Each SDK stores one object with a single PUT and one with its own multipart uploader; `ossmp
cp oss://… FILE --json` (the binary `cargo xtask interop` passes in OSSMP_BIN) must write
them bit-exact and report the CRC-64 checked against what the server keeps for the SDK's
upload. Skipped when OSSMP_BIN is not set (running pytest by hand without it).
"""

import hashlib
import json
import os
import subprocess

import pytest

from clients import AK, BUCKET, REGION, SK, V2, Oss2

PART = 102_400


def data(n, seed):
    return (hashlib.sha256(bytes([seed, 7])).digest() * (n // 32 + 1))[:n]


def ossmp_download(port, key, dest, home):
    binary = os.environ.get("OSSMP_BIN")
    if not binary:
        pytest.skip("OSSMP_BIN is not set")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OSS_", "OSSMP_", "ALIBABA_CLOUD_")) and "proxy" not in k.lower()}
    env.update({
        "OSS_ENDPOINT": f"http://127.0.0.1:{port}",
        "OSS_REGION": REGION,
        "OSS_ACCESS_KEY_ID": AK,
        "OSS_ACCESS_KEY_SECRET": SK,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
    })
    out = subprocess.run(
        [binary, "cp", f"oss://{BUCKET}/{key}", str(dest), "--json",
         "--part-size", "100KiB", "--jobs", "3"],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("sdk", [V2, Oss2], ids=lambda s: s.sdk)
def test_objects_written_by_the_sdks_download_and_verify(sdk, port, tmp_path):
    client = sdk(port, "v4", "path")
    prefix = f"download-interop/{client.sdk}/"
    single = data(PART + 333, 1)
    client.put(prefix + "single", single)
    multi = data(3 * PART + 4321, 2)
    src = tmp_path / "src.bin"
    src.write_bytes(multi)
    client.upload_file(prefix + "multi", src, PART)
    assert client.head(prefix + "multi")["type"] == "Multipart"

    for key, body in ((prefix + "single", single), (prefix + "multi", multi)):
        dest = tmp_path / key.rsplit("/", 1)[1]
        summary = ossmp_download(port, key, dest, tmp_path)
        assert dest.read_bytes() == body, key
        head = client.head(key)
        assert summary["crc64_verified"] is True, summary
        assert int(summary["crc64"]) == int(head["crc"]), (summary, head)
        assert summary["etag"].strip('"') == head["etag"].strip('"'), (summary, head)
        assert summary["size"] == len(body), summary
