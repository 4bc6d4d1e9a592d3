//! The download half of `cargo xtask bench memory`: peak RSS of ours downloading an object of
//! each size into a file, to show memory is bounded by concurrency × part size, not by size.
//!
//! The object is the one the upload half just stored on `oss-local --storage discard` (a sparse
//! file, so zeros, whose CRC-64 the server kept): reading it back costs the server nothing and
//! ours still verifies every byte's CRC-64. The file written is real (the temp file, fsync and
//! rename are what is measured), so there must be room for it: the run is skipped, and says
//! so, when the disk has less than the size plus 2 GiB free. The file is removed at once.

use std::path::Path;
use std::process::Command;

use super::procs::{self, Binaries, Measured, OssLocal};
use super::{bench_dir, human_size, oss_bench_args};

/// Downloads `key` (`size` bytes) with `part_size` × `jobs`; `None` when skipped for space.
pub(super) fn download(
    bins: &Binaries,
    server: &OssLocal,
    key: &str,
    size: u64,
    part_size: u64,
    jobs: u64,
) -> Result<Option<Measured>, String> {
    let dir = bench_dir();
    let free = free_bytes(&dir);
    if free.is_none_or(|f| f < size.saturating_add(2 << 30)) {
        eprintln!(
            "xtask: [bench memory] download of {} skipped: {} free in {}",
            human_size(size),
            free.map_or_else(|| "unknown".to_owned(), human_size),
            dir.display()
        );
        return Ok(None);
    }
    let out = dir.join("memory-download.out");
    let _ = std::fs::remove_file(&out);
    let args = oss_bench_args(
        "ours-download",
        &server.endpoint,
        &[
            "--key",
            key,
            "--out",
            &out.display().to_string(),
            "--part-size",
            &part_size.to_string(),
            "--jobs",
            &jobs.to_string(),
        ],
    );
    let measured = procs::measure(bins, "ours-dl", &bins.oss_bench, &args);
    let got = std::fs::metadata(&out).map(|m| m.len());
    let _ = std::fs::remove_file(&out);
    let measured = measured?;
    match got {
        Ok(len) if len == size => Ok(Some(measured)),
        other => Err(format!(
            "the memory download wrote {other:?} bytes, expected {size}"
        )),
    }
}

/// Bytes free for unprivileged users on the file system holding `dir` (`df -Pk`).
fn free_bytes(dir: &Path) -> Option<u64> {
    let out = Command::new("df").arg("-Pk").arg(dir).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1)?;
    let kib: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib * 1024)
}
