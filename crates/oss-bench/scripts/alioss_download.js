// Downloads one object with ali-oss (the Node.js OSS SDK from npm) `get(name, file)`.
//
// Spawned by `cargo xtask bench link --peers` (under `oss-bench measure`) against oss-local.
// Prints `started` when its clock starts, then one `result bytes=N parts=1 secs=S` line; the
// time covers the download call only, not Node's start or the require. ali-oss has no parallel or ranged downloader: `get` is one GET
// streamed into the file, so there is nothing to set and the only form is `default`.
//
// usage: node alioss_download.js ENDPOINT BUCKET KEY FILE AK SK default
'use strict';

const fs = require('fs');
const OSS = require('ali-oss');

async function main() {
  const [endpoint, bucket, key, file, ak, sk, settings] = process.argv.slice(2);
  if (settings !== 'default') {
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
  // The clock starts here: a capped run (`bench link --peers`) counts its cap from this line.
  console.log('started');
  const started = process.hrtime.bigint();
  await client.get(key, file);
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const size = fs.statSync(file).size;
  console.log(`result bytes=${size} parts=1 secs=${secs.toFixed(4)}`);
}

main().catch((err) => {
  console.error(`alioss_download: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
