// Moves one file with ali-oss (the Node.js OSS SDK from npm): `multipartUpload` up, `get` down.
//
// Spawned by `cargo xtask bench peers` and `bench link --peers` (under `oss-bench measure`)
// against oss-local. Prints `started` when its clock starts, then one
// `result bytes=N parts=N secs=S` line; the time covers the transfer call only, not Node's start
// or the require.
// - upload: with PART_SIZE JOBS the call gets `{ partSize, parallel }`; with `default` it gets
//   neither (ali-oss then uses its own part size and parallelism).
// - download: ali-oss has no parallel or ranged downloader: `get` is one GET streamed into the
//   file, so there is nothing to set and the only form is `default`.
//
// usage: node alioss.js upload ENDPOINT BUCKET KEY FILE AK SK (PART_SIZE JOBS | default)
//        node alioss.js download ENDPOINT BUCKET KEY FILE AK SK default
'use strict';

const fs = require('fs');
const OSS = require('ali-oss');

async function main() {
  const [mode, endpoint, bucket, key, file, ak, sk, part, jobs] = process.argv.slice(2);
  if (mode !== 'upload' && mode !== 'download') {
    throw new Error('the first argument must be `upload` or `download`');
  }
  if (mode === 'download' && part !== 'default') {
    throw new Error('ali-oss has no download settings: the last argument must be `default`');
  }
  const client = new OSS({
    endpoint, // an IP endpoint: ali-oss then addresses the bucket in the path
    bucket,
    region: 'oss-cn-hangzhou',
    accessKeyId: ak,
    accessKeySecret: sk,
    secure: false,
    timeout: 600000,
  });
  const options = part === 'default' ? {} : { partSize: Number(part), parallel: Number(jobs) };
  // The clock starts here: a capped run (`bench link --peers`) counts its cap from this line.
  console.log('started');
  const started = process.hrtime.bigint();
  if (mode === 'upload') {
    await client.multipartUpload(key, file, options);
  } else {
    await client.get(key, file);
  }
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const size = fs.statSync(file).size;
  const parts = mode === 'upload' ? Math.max(1, Math.ceil(size / (options.partSize || 1024 * 1024))) : 1;
  console.log(`result bytes=${size} parts=${parts} secs=${secs.toFixed(4)}`);
}

main().catch((err) => {
  console.error(`alioss: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
