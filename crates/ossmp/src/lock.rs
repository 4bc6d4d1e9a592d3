//! One `ossmp cp` per source file and destination at a time.
//!
//! Two runs of the same file to the same key would share one checkpoint and take over each
//! other's multipart upload. Each run holds an OS file lock (`flock`) on a small file next to the
//! checkpoints, named after the source's canonical path and the destination; the file holds the
//! holder's pid so the refusal can name it. The kernel drops the lock when the process ends, however
//! it ends (`kill -9` included), so a lock never outlives its run.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use crate::exit::{CliError, Exit};
use crate::location::OssUrl;

/// A held lock; released (and its file removed) on drop.
#[derive(Debug)]
pub(crate) struct UploadLock {
    path: PathBuf,
    // Dropped after `path` is removed: the lock is held until then.
    _file: File,
}

impl UploadLock {
    /// Takes the lock for uploading `source` to `dest`, in `dir` (the checkpoint directory).
    ///
    /// # Errors
    /// Exit 1 naming the other run's pid when it holds the lock; exit 2 when the lock file
    /// cannot be created.
    pub(crate) fn acquire(dir: &Path, source: &Path, dest: &OssUrl) -> Result<Self, CliError> {
        let canonical = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
        let path = dir.join(format!("{:016x}.ossmp-lock", fingerprint(&canonical, dest)));
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| unusable(&path, &e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = match holder.trim() {
                        "" => "unknown".to_owned(),
                        pid => pid.to_owned(),
                    };
                    return Err(CliError::new(
                        Exit::Failure,
                        format!(
                            "another ossmp (pid {holder}) is uploading {} to {dest}",
                            source.display()
                        ),
                    )
                    .hint(
                        "wait for it to finish, or stop it (Ctrl-C or kill) and run this command again \
                         to resume its upload",
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(unusable(&path, &e)),
            }
            // The previous holder removes the file when it ends: if it did so after we opened
            // it, our lock is on a file nobody else will find. Lock the current one instead.
            if !is_current(&file, &path) {
                continue;
            }
            let pid = format!("{}\n", std::process::id());
            let written = file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(pid.as_bytes()));
            written.map_err(|e| unusable(&path, &e))?;
            return Ok(Self { path, _file: file });
        }
    }
}

impl Drop for UploadLock {
    fn drop(&mut self) {
        // Removed while still locked, so no other run can lock this file and then lose it.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn unusable(path: &Path, e: &std::io::Error) -> CliError {
    CliError::usage(format!("cannot use the lock file {}: {e}", path.display()))
        .hint("pass --checkpoint-dir DIR with a writable directory")
}

/// Whether `file` is still the file at `path` (same device and inode).
fn is_current(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// A stable name for (source, bucket, key): CRC-64 of the length-prefixed fields.
fn fingerprint(source: &Path, dest: &OssUrl) -> u64 {
    let mut digest = oss_crc64::Crc64::new();
    for field in [
        source.as_os_str().as_encoded_bytes(),
        dest.bucket.as_bytes(),
        dest.key.as_bytes(),
    ] {
        digest.update(&(field.len() as u64).to_le_bytes());
        digest.update(field);
    }
    digest.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(key: &str) -> OssUrl {
        OssUrl::parse_object(&format!("oss://bkt/{key}")).unwrap()
    }

    #[test]
    fn one_holder_per_source_and_destination() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f");
        std::fs::write(&src, b"x").unwrap();
        let held = UploadLock::acquire(dir.path(), &src, &url("k")).unwrap();
        let e = UploadLock::acquire(dir.path(), &src, &url("k")).unwrap_err();
        assert_eq!(e.exit(), Exit::Failure);
        assert!(
            e.to_string()
                .contains(&format!("another ossmp (pid {})", std::process::id())),
            "{e}"
        );
        // Another key, or another source, is another lock.
        let other = UploadLock::acquire(dir.path(), &src, &url("k2")).unwrap();
        drop((held, other));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let _again = UploadLock::acquire(dir.path(), &src, &url("k")).unwrap();
    }
}
