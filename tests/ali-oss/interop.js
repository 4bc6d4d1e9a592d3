// The official Node.js SDK (ali-oss) against oss-local, once with V1 and once with V4 signing.
//
// Run by `cargo xtask interop` after `npm ci` in target/ali-oss (see package.json beside this
// file). Environment: OSS_LOCAL_ENDPOINT (http://127.0.0.1:PORT of a default oss-local),
// OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_BUCKET. Every check compares what ali-oss
// reports with bytes we wrote ourselves; the script exits non-zero on the first mismatch.
'use strict';

const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const OSS = require('ali-oss');

const endpoint = mustEnv('OSS_LOCAL_ENDPOINT');
const bucket = mustEnv('OSS_BUCKET');
const accessKeyId = mustEnv('OSS_ACCESS_KEY_ID');
const accessKeySecret = mustEnv('OSS_ACCESS_KEY_SECRET');
const PART = 100 * 1024; // OSS's smallest part size

function mustEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function client(v4) {
  return new OSS({
    endpoint,
    region: 'oss-cn-hangzhou',
    bucket,
    accessKeyId,
    accessKeySecret,
    authorizationV4: v4,
    retryMax: 0,
    timeout: 60000,
  });
}

function step(name) {
  console.log(`ali-oss: ${name}`);
}

function md5(buf) {
  return crypto.createHash('md5').update(buf).digest('hex');
}

async function getBytes(c, key) {
  const result = await c.get(key);
  return Buffer.from(result.content);
}

// multipartUpload cancelled after some parts, then resumed from the checkpoint it reported:
// the resumed run uploads only the missing parts and the object equals the file.
async function multipartResume(c, dir, prefix) {
  const data = crypto.randomBytes(8 * PART + 777);
  const file = path.join(dir, 'resume.bin');
  fs.writeFileSync(file, data);
  const key = `${prefix}resume.bin`;
  let saved = null;
  let firstRunParts = 0;
  let cancelled = false;
  try {
    await c.multipartUpload(key, file, {
      partSize: PART,
      parallel: 1,
      progress: async (fraction, checkpoint) => {
        if (!checkpoint) {
          return;
        }
        firstRunParts = checkpoint.doneParts.length;
        saved = JSON.parse(JSON.stringify(checkpoint));
        if (checkpoint.doneParts.length === 3) {
          c.cancel();
        }
      },
    });
  } catch (err) {
    cancelled = c.isCancel() || err.name === 'cancel';
    if (!cancelled) {
      throw err;
    }
  }
  c.resetCancelFlag();
  assert.ok(cancelled, 'the first run was cancelled');
  assert.ok(saved && saved.uploadId, 'a checkpoint with an upload id was reported');
  assert.strictEqual(saved.doneParts.length, 3, `checkpoint holds the 3 parts (${firstRunParts})`);

  const listed = await c.listParts(key, saved.uploadId);
  assert.deepStrictEqual(
    listed.parts.map(p => Number(p.PartNumber)),
    [1, 2, 3],
    'the server kept the three uploaded parts'
  );

  let resumedParts = 0;
  const result = await c.multipartUpload(key, file, {
    partSize: PART,
    parallel: 2,
    checkpoint: saved,
    progress: async (fraction, checkpoint) => {
      if (checkpoint) {
        resumedParts += 1;
      }
    },
  });
  assert.strictEqual(result.res.status, 200);
  assert.strictEqual(resumedParts, 9 - 3, 'the resumed run sent only the missing parts');
  assert.strictEqual(md5(await getBytes(c, key)), md5(data), 'the object equals the file');
  const uploads = await c.listUploads({ prefix: key });
  assert.strictEqual((uploads.uploads || []).length, 0, 'no upload left behind');
  step('multipartUpload cancelled and resumed from its checkpoint');
  return { key, data };
}

// uploadPartCopy: three ranges of the source object copied into a new multipart object.
async function partCopy(c, prefix, source) {
  const key = `${prefix}copy.bin`;
  const init = await c.initMultipartUpload(key);
  const size = source.data.length;
  const cuts = [0, 3 * PART, 6 * PART + 5, size];
  const parts = [];
  for (let i = 0; i + 1 < cuts.length; i += 1) {
    const range = `${cuts[i]}-${cuts[i + 1] - 1}`;
    const r = await c.uploadPartCopy(key, init.uploadId, i + 1, range, {
      sourceKey: source.key,
      sourceBucketName: bucket,
    });
    parts.push({ number: i + 1, etag: r.etag });
  }
  await c.completeMultipartUpload(key, init.uploadId, parts);
  assert.strictEqual(md5(await getBytes(c, key)), md5(source.data), 'the copy equals its source');
  step('uploadPartCopy of three ranges');
  return key;
}

// listUploads: two open uploads are listed with their ids, then aborted.
async function listUploads(c, prefix) {
  const a = await c.initMultipartUpload(`${prefix}open/a`);
  const b = await c.initMultipartUpload(`${prefix}open/b`);
  const listed = await c.listUploads({ prefix: `${prefix}open/`, 'max-uploads': 10 });
  const got = (listed.uploads || []).map(u => `${u.name}:${u.uploadId}`).sort();
  assert.deepStrictEqual(got, [`${prefix}open/a:${a.uploadId}`, `${prefix}open/b:${b.uploadId}`].sort());
  await c.abortMultipartUpload(`${prefix}open/a`, a.uploadId);
  await c.abortMultipartUpload(`${prefix}open/b`, b.uploadId);
  const after = await c.listUploads({ prefix: `${prefix}open/` });
  assert.strictEqual((after.uploads || []).length, 0, 'aborted uploads are gone');
  step('listUploads and abortMultipartUpload');
}

async function run(v4, dir) {
  const c = client(v4);
  const label = v4 ? 'v4' : 'v1';
  const prefix = `ali-oss-${label}-${process.pid}/`;
  step(`--- ${label} signing`);
  const small = Buffer.from(`hello from ali-oss ${label}`);
  await c.put(`${prefix}small.txt`, small);
  assert.ok((await getBytes(c, `${prefix}small.txt`)).equals(small), 'put/get round trip');
  const head = await c.head(`${prefix}small.txt`);
  assert.strictEqual(Number(head.res.headers['content-length']), small.length);
  step('put, get, head');
  const source = await multipartResume(c, dir, prefix);
  const copy = await partCopy(c, prefix, source);
  await listUploads(c, prefix);
  const removed = await c.deleteMulti([`${prefix}small.txt`, source.key, copy], { quiet: true });
  assert.strictEqual(removed.res.status, 200);
  const left = await c.list({ prefix, 'max-keys': 100 });
  assert.strictEqual((left.objects || []).length, 0, 'deleteMulti removed every object');
  step('deleteMulti and list');
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ali-oss-interop-'));
  try {
    await run(false, dir);
    await run(true, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('ali-oss: PASS');
}

main().catch(err => {
  console.error('ali-oss: FAIL:', err && err.stack ? err.stack : err);
  process.exit(1);
});
