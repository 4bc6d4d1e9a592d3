"""Uploads one file with the official Python SDK v2 (alibabacloud-oss-v2) uploader.

Spawned by `cargo xtask bench e2e` (under `oss-bench measure`) against oss-local, with the
same part size and concurrency as the other clients and CRC-64 checking on (the SDK's
default). Prints `started` when its clock starts, then one `result bytes=N parts=N secs=S`
line; the time covers the upload call only, not the interpreter start or the imports.

usage: official_upload.py ENDPOINT BUCKET KEY FILE PART_SIZE JOBS AK SK

PART_SIZE and JOBS may both be `default`: the uploader then gets neither, and uses the SDK's
own part size and parallelism (`cargo xtask bench peers`, defaults column).
"""

import os
import sys
import time

import alibabacloud_oss_v2 as oss


def main():
    endpoint, bucket, key, path, part_size, jobs, ak, sk = sys.argv[1:9]
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ak, sk)
    cfg.region = "cn-hangzhou"
    cfg.endpoint = endpoint
    cfg.use_path_style = True
    # CRC-64 is checked unless this is set; say so explicitly so the comparison stays fair.
    cfg.disable_upload_crc64_check = False
    client = oss.Client(cfg)
    if part_size == "default":
        uploader = client.uploader()
        # Only for the `parts` count printed below.
        options = getattr(uploader, "_options", None)
        part_size = getattr(options, "part_size", 6 * 1024 * 1024)
    else:
        uploader = client.uploader(part_size=int(part_size), parallel_num=int(jobs))
    size = os.path.getsize(path)
    # The clock starts here: a capped run (`bench link --peers`) counts its cap from this line.
    print("started", flush=True)
    started = time.perf_counter()
    uploader.upload_file(oss.PutObjectRequest(bucket=bucket, key=key), filepath=path)
    secs = time.perf_counter() - started
    parts = max(1, -(-size // int(part_size)))
    print(f"result bytes={size} parts={parts} secs={secs:.4f}", flush=True)


if __name__ == "__main__":
    main()
