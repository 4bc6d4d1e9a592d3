"""Uniform adapters over the two official Python SDKs, so every test runs against both.

Each adapter is built for one (signature version, addressing style) pair. Virtual-host
style uses the SDK's own HTTP proxy setting pointed at oss-local itself: the SDK then sends
absolute-form requests (`PUT http://<bucket>.oss.localhost:PORT/key`) with the virtual-host
`Host` header to 127.0.0.1, so no DNS entry for `*.oss.localhost` is needed.
"""

import base64
import hashlib
import xml.etree.ElementTree as ET

import alibabacloud_oss_v2 as oss
import oss2

AK = "interop-ak"
SK = "interop-secret"
REGION = "cn-hangzhou"
BUCKET = "interop-bucket"
SUFFIX = "oss.localhost"


class Err:
    """An OSS error as an SDK reported it."""

    def __init__(self, status, code, request_id, ec):
        self.status, self.code, self.request_id, self.ec = status, code, request_id, ec

    def __repr__(self):
        return f"Err({self.status}, {self.code}, {self.request_id}, {self.ec})"


def _v2_error(exc):
    seen = exc
    for _ in range(5):
        if hasattr(seen, "code") and hasattr(seen, "status_code"):
            return Err(seen.status_code, seen.code, seen.request_id, seen.ec)
        nxt = seen.unwrap() if hasattr(seen, "unwrap") else seen.__cause__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    raise exc


def _xml(body):
    return ET.fromstring(body)


class V2:
    """alibabacloud-oss-v2."""

    sdk = "v2"

    def __init__(self, port, sig, style, ak=AK, sk=SK, bucket=BUCKET):
        self.sig, self.style, self.bucket = sig, style, bucket
        cfg = oss.config.load_default()
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ak, sk)
        cfg.region = REGION
        cfg.signature_version = sig
        cfg.retryer = oss.retry.NopRetryer()
        if style == "path":
            cfg.endpoint = f"http://127.0.0.1:{port}"
            cfg.use_path_style = True
        else:
            cfg.endpoint = f"http://{SUFFIX}:{port}"
            # The dict form: the SDK turns a plain string into {"http://": ...}, a key
            # `requests` never matches, so the proxy would silently not be used.
            cfg.proxy_host = {"http": f"http://127.0.0.1:{port}"}
        self.client = oss.Client(cfg)

    def call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - converted or re-raised
            raise ErrorRaised(_v2_error(exc)) from exc

    def initiate(self, key, forbid=False, sequential=False):
        if sequential:
            out = self.call(self.client.invoke_operation, oss.OperationInput(
                op_name="InitiateMultipartUpload", method="POST", bucket=self.bucket, key=key,
                parameters={"uploads": "", "sequential": ""}))
            return _xml(out.http_response.content).findtext("UploadId")
        req = oss.InitiateMultipartUploadRequest(bucket=self.bucket, key=key)
        if forbid:
            req.forbid_overwrite = True
        return self.call(self.client.initiate_multipart_upload, req).upload_id

    def upload_part(self, key, upload_id, n, data, content_md5=None):
        req = oss.UploadPartRequest(bucket=self.bucket, key=key, upload_id=upload_id,
                                    part_number=n, body=data)
        if content_md5:
            req.content_md5 = content_md5
        res = self.call(self.client.upload_part, req)
        return res.etag, res.hash_crc64

    def copy_part(self, key, upload_id, n, src_key, rng=None, if_match=None):
        req = oss.UploadPartCopyRequest(bucket=self.bucket, key=key, upload_id=upload_id,
                                        part_number=n, source_bucket=self.bucket, source_key=src_key)
        if rng:
            req.source_range = rng
        if if_match:
            req.if_match = if_match
        return self.call(self.client.upload_part_copy, req).etag

    def complete(self, key, upload_id, parts, complete_all=False, forbid=False):
        req = oss.CompleteMultipartUploadRequest(bucket=self.bucket, key=key, upload_id=upload_id)
        if complete_all:
            req.complete_all = "yes"
        if parts is not None:
            req.complete_multipart_upload = oss.CompleteMultipartUpload(
                parts=[oss.UploadPart(part_number=n, etag=e) for n, e in parts])
        if forbid:
            req.forbid_overwrite = True
        res = self.call(self.client.complete_multipart_upload, req)
        return res.etag, res.hash_crc64

    def complete_raw(self, key, upload_id, body, headers=None):
        self.call(self.client.invoke_operation, oss.OperationInput(
            op_name="CompleteMultipartUpload", method="POST", bucket=self.bucket, key=key,
            parameters={"uploadId": upload_id}, headers=headers or {}, body=body))

    def abort(self, key, upload_id):
        self.call(self.client.abort_multipart_upload, oss.AbortMultipartUploadRequest(
            bucket=self.bucket, key=key, upload_id=upload_id))

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        req = oss.ListPartsRequest(bucket=self.bucket, key=key, upload_id=upload_id)
        if max_parts is not None:
            req.max_parts = max_parts
        if marker is not None:
            req.part_number_marker = marker
        res = self.call(self.client.list_parts, req)
        parts = [(p.part_number, p.etag, p.size) for p in (res.parts or [])]
        return parts, bool(res.is_truncated), res.next_part_number_marker

    def list_uploads(self, max_uploads=None, key_marker=None, id_marker=None, prefix=None, delimiter=None):
        req = oss.ListMultipartUploadsRequest(bucket=self.bucket)
        for name, value in [("max_uploads", max_uploads), ("key_marker", key_marker),
                            ("upload_id_marker", id_marker), ("prefix", prefix),
                            ("delimiter", delimiter)]:
            if value is not None:
                setattr(req, name, value)
        res = self.call(self.client.list_multipart_uploads, req)
        uploads = [(u.key, u.upload_id) for u in (res.uploads or [])]
        # alibabacloud-oss-v2 1.4.1 does not parse CommonPrefixes of this result: None = unknown.
        common = getattr(res, "common_prefixes", None)
        prefixes = None if common is None else [p.prefix for p in common]
        return uploads, prefixes, bool(res.is_truncated), res.next_key_marker, res.next_upload_id_marker

    def put(self, key, data, forbid=False):
        req = oss.PutObjectRequest(bucket=self.bucket, key=key, body=data)
        if forbid:
            req.forbid_overwrite = True
        return self.call(self.client.put_object, req).etag

    def get(self, key, rng=None):
        req = oss.GetObjectRequest(bucket=self.bucket, key=key)
        if rng:
            req.range_header = rng
        res = self.call(self.client.get_object, req)
        return res.body.read()

    def head(self, key):
        res = self.call(self.client.head_object, oss.HeadObjectRequest(bucket=self.bucket, key=key))
        return {"size": res.content_length, "type": res.object_type, "crc": res.hash_crc64, "etag": res.etag}

    def head_headers(self, key):
        res = self.call(self.client.head_object, oss.HeadObjectRequest(bucket=self.bucket, key=key))
        return {k.lower(): v for k, v in res.headers.items()}

    def list_keys(self, prefix):
        res = self.call(self.client.list_objects_v2, oss.ListObjectsV2Request(bucket=self.bucket, prefix=prefix))
        return [o.key for o in (res.contents or [])]

    def delete(self, key):
        self.call(self.client.delete_object, oss.DeleteObjectRequest(bucket=self.bucket, key=key))

    def presign_get(self, key):
        res = self.call(self.client.presign, oss.GetObjectRequest(bucket=self.bucket, key=key))
        return res.url, dict(res.signed_headers or {})

    def presign_upload_part(self, key, upload_id, n):
        res = self.call(self.client.presign, oss.UploadPartRequest(
            bucket=self.bucket, key=key, upload_id=upload_id, part_number=n))
        return res.url, dict(res.signed_headers or {})

    def upload_file(self, key, path, part_size):
        up = self.client.uploader(part_size=part_size, parallel_num=3)
        res = self.call(up.upload_file, oss.PutObjectRequest(bucket=self.bucket, key=key), filepath=str(path))
        return res


class Oss2:
    """oss2 (the classic SDK)."""

    sdk = "oss2"

    def __init__(self, port, sig, style, ak=AK, sk=SK, bucket=BUCKET):
        self.sig, self.style, self.bucket = sig, style, bucket
        auth = oss2.AuthV4(ak, sk) if sig == "v4" else oss2.Auth(ak, sk)
        kwargs = {"region": REGION} if sig == "v4" else {}
        if style == "path":
            endpoint = f"http://127.0.0.1:{port}"
            self.b = oss2.Bucket(auth, endpoint, bucket, is_path_style=True, **kwargs)
        else:
            endpoint = f"http://{SUFFIX}:{port}"
            self.b = oss2.Bucket(auth, endpoint, bucket,
                                 proxies={"http": f"http://127.0.0.1:{port}"}, **kwargs)

    def call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except oss2.exceptions.OssError as exc:
            raise ErrorRaised(Err(exc.status, exc.code, exc.request_id, exc.ec or None)) from exc

    def initiate(self, key, forbid=False, sequential=False):
        headers = {"x-oss-forbid-overwrite": "true"} if forbid else None
        params = {"sequential": ""} if sequential else None
        return self.call(self.b.init_multipart_upload, key, headers=headers, params=params).upload_id

    def upload_part(self, key, upload_id, n, data, content_md5=None):
        headers = {"Content-MD5": content_md5} if content_md5 else None
        res = self.call(self.b.upload_part, key, upload_id, n, data, headers=headers)
        return res.etag, res.crc

    def copy_part(self, key, upload_id, n, src_key, rng=None, if_match=None):
        byte_range = None
        if rng:
            a, b = rng[len("bytes="):].split("-")
            byte_range = (int(a), int(b))
        headers = {"x-oss-copy-source-if-match": if_match} if if_match else None
        return self.call(self.b.upload_part_copy, self.bucket, src_key, byte_range, key, upload_id, n,
                         headers=headers).etag

    def complete(self, key, upload_id, parts, complete_all=False, forbid=False):
        headers = {}
        if complete_all:
            headers["x-oss-complete-all"] = "yes"
        if forbid:
            headers["x-oss-forbid-overwrite"] = "true"
        infos = None if parts is None else [oss2.models.PartInfo(n, e) for n, e in parts]
        res = self.call(self.b.complete_multipart_upload, key, upload_id, infos, headers=headers)
        return res.etag, res.crc

    def complete_raw(self, key, upload_id, body, headers=None):
        # oss2 sorts parts itself; the raw call reaches the server's own order/shape checks.
        do = getattr(self.b, "_Bucket__do_object")
        self.call(do, "POST", key, params={"uploadId": upload_id}, data=body, headers=headers or {})

    def abort(self, key, upload_id):
        self.call(self.b.abort_multipart_upload, key, upload_id)

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        res = self.call(self.b.list_parts, key, upload_id, marker=marker or "", max_parts=max_parts or 1000)
        parts = [(p.part_number, p.etag, p.size) for p in res.parts]
        return parts, bool(res.is_truncated), res.next_marker

    def list_uploads(self, max_uploads=None, key_marker=None, id_marker=None, prefix=None, delimiter=None):
        res = self.call(self.b.list_multipart_uploads, prefix=prefix or "", delimiter=delimiter or "",
                        key_marker=key_marker or "", upload_id_marker=id_marker or "",
                        max_uploads=max_uploads or 1000)
        uploads = [(u.key, u.upload_id) for u in res.upload_list]
        return uploads, list(res.prefix_list), bool(res.is_truncated), res.next_key_marker, res.next_upload_id_marker

    def put(self, key, data, forbid=False):
        headers = {"x-oss-forbid-overwrite": "true"} if forbid else None
        return self.call(self.b.put_object, key, data, headers=headers).etag

    def get(self, key, rng=None):
        byte_range = None
        if rng:
            a, b = rng[len("bytes="):].split("-")
            byte_range = (int(a), int(b))
        return self.call(self.b.get_object, key, byte_range=byte_range).read()

    def head(self, key):
        res = self.call(self.b.head_object, key)
        return {"size": res.content_length, "type": res.object_type,
                "crc": res.server_crc, "etag": res.etag}

    def head_headers(self, key):
        res = self.call(self.b.head_object, key)
        return {k.lower(): v for k, v in res.headers.items()}

    def list_keys(self, prefix):
        res = self.call(self.b.list_objects_v2, prefix=prefix)
        return [o.key for o in res.object_list]

    def delete(self, key):
        self.call(self.b.delete_object, key)

    def presign_get(self, key):
        return self.b.sign_url("GET", key, 60), {}

    def presign_upload_part(self, key, upload_id, n):
        return self.b.sign_url("PUT", key, 60, params={"partNumber": str(n), "uploadId": upload_id}), {}

    def upload_file(self, key, path, part_size):
        return self.call(oss2.resumable_upload, self.b, key, str(path), multipart_threshold=part_size,
                         part_size=part_size, num_threads=3, store=oss2.ResumableStore(root=str(path) + ".ckpt"))


class ErrorRaised(Exception):
    """An SDK call failed with an OSS error (`.err`)."""

    def __init__(self, err):
        super().__init__(repr(err))
        self.err = err


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()
