"""Copies made by `ossmp cp oss://… oss://…` (our copy manager), checked with the official
alibabacloud-oss-v2 SDK: the copy keeps the source's bytes, Content-Type, metadata and tags,
both part by part (UploadPartCopy) and in one CopyObject. Runs when `OSSMP_BIN` names the
binary (`cargo xtask interop` builds it and sets it)."""

import os
import subprocess

import alibabacloud_oss_v2 as oss
import pytest

from clients import AK, BUCKET, REGION, SK

pytestmark = pytest.mark.skipif(not os.environ.get("OSSMP_BIN"), reason="OSSMP_BIN not set")


@pytest.fixture
def sdk(port):
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(AK, SK)
    cfg.region = REGION
    cfg.endpoint = f"http://127.0.0.1:{port}"
    cfg.use_path_style = True
    return oss.Client(cfg)


def ossmp(port, home, *args):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "OSS_ENDPOINT": f"http://127.0.0.1:{port}",
        "OSS_REGION": REGION,
        "OSS_ACCESS_KEY_ID": AK,
        "OSS_ACCESS_KEY_SECRET": SK,
    }
    done = subprocess.run([os.environ["OSSMP_BIN"], *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("mode", ["parts", "single"])
def test_copy_keeps_bytes_content_type_metadata_and_tags(sdk, port, tmp_path, mode):
    body = bytes((i * 7 + 3) % 251 for i in range(450_000))
    src, dst = f"copy/{mode}/src.bin", f"copy/{mode}/dst.bin"
    sdk.put_object(oss.PutObjectRequest(
        bucket=BUCKET, key=src, body=body, content_type="video/mp4",
        content_disposition="attachment", metadata={"camera": "7", "owner": "ops"},
        tagging="project=alpha&stage=raw"))
    threshold = "0" if mode == "parts" else "1GiB"
    ossmp(port, tmp_path, "cp", f"oss://{BUCKET}/{src}", f"oss://{BUCKET}/{dst}",
          "--part-size", "100KiB", "--copy-threshold", threshold, "--json")

    source = sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key=src))
    head = sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key=dst))
    assert head.content_type == "video/mp4"
    assert head.content_disposition == "attachment"
    assert head.metadata == {"camera": "7", "owner": "ops"}
    assert head.tagging_count == 2
    assert head.hash_crc64 == source.hash_crc64
    assert head.object_type == ("Multipart" if mode == "parts" else source.object_type)
    tags = sdk.get_object_tagging(oss.GetObjectTaggingRequest(bucket=BUCKET, key=dst))
    assert sorted((t.key, t.value) for t in tags.tag_set.tags) == [
        ("project", "alpha"), ("stage", "raw")]
    got = sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key=dst))
    assert got.body.read() == body
