"""Downloads one object with the official Python SDK v2 (alibabacloud-oss-v2) downloader.

Spawned by `cargo xtask bench download` and `bench link --peers` (under `oss-bench measure`) against oss-local, with
the same part size and concurrency as the other clients and CRC-64 checking on (the SDK's
default). Prints `started` when its clock starts, then one `result bytes=N parts=N secs=S`
line; the time covers the download call only, not the interpreter start or the imports.

usage: official_download.py ENDPOINT BUCKET KEY FILE PART_SIZE JOBS AK SK

PART_SIZE and JOBS may both be `default`: the downloader then gets neither, and uses the SDK's
own part size and parallelism (`cargo xtask bench link --peers`, defaults rows).
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
    cfg.disable_download_crc64_check = False
    client = oss.Client(cfg)
    if part_size == "default":
        downloader = client.downloader()
        # Only for the `parts` count printed below.
        options = getattr(downloader, "_options", None)
        part_size = getattr(options, "part_size", 6 * 1024 * 1024)
    else:
        downloader = client.downloader(part_size=int(part_size), parallel_num=int(jobs))
    # The clock starts here: a capped run (`bench link --peers`) counts its cap from this line.
    print("started", flush=True)
    started = time.perf_counter()
    downloader.download_file(oss.GetObjectRequest(bucket=bucket, key=key), filepath=path)
    secs = time.perf_counter() - started
    size = os.path.getsize(path)
    parts = max(1, -(-size // int(part_size)))
    print(f"result bytes={size} parts={parts} secs={secs:.4f}", flush=True)


if __name__ == "__main__":
    main()
