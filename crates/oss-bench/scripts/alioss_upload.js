// Uploads one file with ali-oss (the Node.js OSS SDK from npm) `multipartUpload`.
//
// Spawned by `cargo xtask bench peers` and `bench link --peers` (under `oss-bench measure`)
// against oss-local. Prints `started` when its clock starts, then one
// `result bytes=N parts=N secs=S` line; the time covers the upload call only, not Node's start
// or the require. With PART_SIZE JOBS the call gets `{ partSize, parallel }`; with `default` it
// gets neither (ali-oss then uses its own part size and parallelism).
//
// usage: node alioss_upload.js ENDPOINT BUCKET KEY FILE AK SK (PART_SIZE JOBS | default)
'use strict';

const fs = require('fs');
const OSS = require('ali-oss');

async function main() {
  const [endpoint, bucket, key, file, ak, sk, part, jobs] = process.argv.slice(2);
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
  const size = fs.statSync(file).size;
  // The clock starts here: a capped run (`bench link --peers`) counts its cap from this line.
  console.log('started');
  const started = process.hrtime.bigint();
  await client.multipartUpload(key, file, options);
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const partSize = options.partSize || 1024 * 1024;
  console.log(`result bytes=${size} parts=${Math.max(1, Math.ceil(size / partSize))} secs=${secs.toFixed(4)}`);
}

main().catch((err) => {
  console.error(`alioss_upload: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
