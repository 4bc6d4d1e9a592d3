//! Step one of a directory transfer: list the sources, filter, compare for `update`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use futures::{StreamExt as _, TryStreamExt as _};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::paths::{key_of, safe_relative_path};
use super::{DirTransfer, Direction, FileAction, FileTask, SymlinkPolicy, UpdateMode};
use crate::error::Error;
use crate::listing::{ListObjectsOptions, ObjectListEntry};

/// HEAD requests or local checksums running at once while comparing for `update`.
const COMPARE_CONCURRENCY: usize = 16;

pub(super) async fn plan(t: &DirTransfer) -> Result<Vec<FileTask>, Error> {
    let include = glob_set(&t.include, "include")?;
    let exclude = glob_set(&t.exclude, "exclude")?;
    let wanted =
        |rel: &str| (t.include.is_empty() || include.is_match(rel)) && !exclude.is_match(rel);
    let mut tasks = match t.direction {
        Direction::Upload => local_files(t)?,
        Direction::Download => remote_objects(t).await?,
    };
    tasks.retain(|task| {
        wanted(
            task.key
                .strip_prefix(t.prefix.as_str())
                .unwrap_or(&task.key),
        )
    });
    tasks.sort_by(|a, b| a.key.cmp(&b.key));
    if t.update == UpdateMode::Always {
        return Ok(tasks);
    }
    let compared = futures::stream::iter(tasks)
        .map(|task| async move {
            if task.action != FileAction::Transfer {
                return task;
            }
            let unchanged = unchanged(t, &task).await;
            FileTask {
                action: if unchanged {
                    FileAction::Unchanged
                } else {
                    FileAction::Transfer
                },
                ..task
            }
        })
        .buffered(COMPARE_CONCURRENCY)
        .collect()
        .await;
    Ok(compared)
}

/// A glob without `/` matches a file name at any depth, as in `.gitignore`.
fn glob_set(globs: &[String], what: &'static str) -> Result<GlobSet, Error> {
    let mut set = GlobSetBuilder::new();
    for g in globs {
        let pattern = if g.contains('/') {
            g.clone()
        } else {
            format!("**/{g}")
        };
        let glob = GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::config(what, format!("bad glob `{g}`: {e}")))?;
        set.add(glob);
    }
    set.build()
        .map_err(|e| Error::config(what, format!("bad globs: {e}")))
}

/// Every file under the directory, links handled by the policy, sorted by key.
fn local_files(t: &DirTransfer) -> Result<Vec<FileTask>, Error> {
    let mut out = Vec::new();
    let mut seen_dirs = HashSet::new();
    let mut stack = vec![PathBuf::new()];
    let root_meta = std::fs::metadata(&t.dir)
        .map_err(|e| Error::io("could not read the directory", Some(&t.dir), e))?;
    if !root_meta.is_dir() {
        return Err(Error::config(
            "local_dir",
            format!("{} is not a directory", t.dir.display()),
        ));
    }
    while let Some(rel_dir) = stack.pop() {
        let abs = t.dir.join(&rel_dir);
        if let Ok(canonical) = std::fs::canonicalize(&abs) {
            // A link loop, or two links to one directory: walk it once.
            if !seen_dirs.insert(canonical) {
                continue;
            }
        }
        let entries = std::fs::read_dir(&abs)
            .map_err(|e| Error::io("could not read the directory", Some(&abs), e))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io("could not read the directory", Some(&abs), e))?;
            let rel = rel_dir.join(entry.file_name());
            let path = t.dir.join(&rel);
            let is_link = entry.file_type().is_ok_and(|ft| ft.is_symlink());
            let key = key_of(&rel).map(|k| format!("{}{k}", t.prefix));
            let task = |size, action| FileTask {
                path: path.clone(),
                key: key
                    .clone()
                    .unwrap_or_else(|| format!("{}{}", t.prefix, rel.to_string_lossy())),
                size,
                action,
            };
            if is_link && t.symlinks == SymlinkPolicy::Skip {
                out.push(task(0, FileAction::Symlink));
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                out.push(task(
                    0,
                    FileAction::Refused("a dangling link or unreadable entry".into()),
                ));
                continue;
            };
            if meta.is_dir() {
                stack.push(rel);
            } else if key.is_none() {
                out.push(task(
                    meta.len(),
                    FileAction::Refused("the file name is not UTF-8".into()),
                ));
            } else if meta.is_file() {
                out.push(task(meta.len(), FileAction::Transfer));
            }
        }
    }
    Ok(out)
}

/// Every object under the prefix, each with its local path or the reason it has none.
/// Keys ending in `/` are folder markers, not files.
async fn remote_objects(t: &DirTransfer) -> Result<Vec<FileTask>, Error> {
    let mut options = ListObjectsOptions::new().with_max_keys(1000);
    if !t.prefix.is_empty() {
        options = options.with_prefix(t.prefix.clone());
    }
    let objects: Vec<_> = t
        .client
        .list_objects(&t.bucket, options)
        .try_filter_map(|e| async move {
            Ok(match e {
                ObjectListEntry::Object(o) if !o.key.ends_with('/') => Some(o),
                _ => None,
            })
        })
        .try_collect()
        .await?;
    Ok(objects
        .into_iter()
        .map(|o| {
            let rel = o.key.strip_prefix(t.prefix.as_str()).unwrap_or(&o.key);
            let (path, action) = match safe_relative_path(rel) {
                Ok(p) => (t.dir.join(p), FileAction::Transfer),
                Err(why) => (t.dir.clone(), FileAction::Refused(why.to_owned())),
            };
            FileTask {
                path,
                key: o.key,
                size: o.size,
                action,
            }
        })
        .collect())
}

/// Whether the destination already holds this file (any doubt means "transfer it").
async fn unchanged(t: &DirTransfer, task: &FileTask) -> bool {
    let Ok(local) = tokio::fs::metadata(&task.path).await else {
        return false;
    };
    let Ok(head) = t.client.head_object(&t.bucket, &task.key).await else {
        return false;
    };
    if !local.is_file() || local.len() != head.content_length {
        return false;
    }
    match t.update {
        UpdateMode::Always => false,
        UpdateMode::SizeAndCrc64 => match (head.crc64, local_crc64(&task.path).await) {
            (Some(remote), Some(local)) => remote == local,
            _ => false,
        },
        UpdateMode::SizeAndMtime => {
            let remote = head
                .last_modified
                .as_deref()
                .and_then(|d| httpdate::parse_http_date(d).ok());
            let local = local.modified().ok();
            match (remote, local, t.direction) {
                // Upload: skip unless the file is newer than the object (HTTP dates have whole seconds).
                (Some(r), Some(l), Direction::Upload) => !newer(l, r),
                // Download: skip unless the object is newer than the file.
                (Some(r), Some(l), Direction::Download) => !newer(r, l),
                _ => false,
            }
        }
    }
}

/// `a` is newer than `b` by a second or more (the precision of HTTP dates).
fn newer(a: SystemTime, b: SystemTime) -> bool {
    a.duration_since(b).is_ok_and(|d| d.as_secs() >= 1)
}

/// CRC-64 of a local file, read once in the blocking pool; `None` when unreadable.
async fn local_crc64(path: &Path) -> Option<u64> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path).ok()?;
        let mut crc = oss_model::crc64::Crc64::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return Some(crc.finish()),
                Ok(n) => crc.update(&buf[..n]),
                Err(_) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}
