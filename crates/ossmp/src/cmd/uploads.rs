//! `ossmp uploads ls|abort|gc` and `ossmp parts`.

use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use oss_multipart::{Client, UploadSummary};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{
    GlobalArgs, PartsArgs, UploadsAbortArgs, UploadsCompleteArgs, UploadsGcArgs, UploadsLsArgs,
};
use crate::config::Settings;
use crate::exit::CliError;
use crate::location::OssUrl;
use crate::output::Out;
use crate::units::{Ago, Bytes};

/// All unfinished uploads under `bucket`/`prefix`, oldest first.
pub(crate) async fn list(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> anyhow::Result<Vec<UploadSummary>> {
    let mut uploads: Vec<UploadSummary> = client
        .list_uploads(bucket, Some(prefix))
        .try_collect()
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("listing uploads in oss://{bucket}/{prefix}"))
        })?;
    uploads.sort_by(|a, b| {
        initiated(a)
            .cmp(&initiated(b))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(uploads)
}

/// When the upload was started, from the ISO 8601 `Initiated` the service sent; `None` if unreadable.
fn initiated(u: &UploadSummary) -> Option<SystemTime> {
    OffsetDateTime::parse(u.initiated.trim(), &Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// How long ago the upload was started; `None` when the service's timestamp could not be read.
fn age(now: SystemTime, u: &UploadSummary) -> Option<Duration> {
    initiated(u).map(|t| now.duration_since(t).unwrap_or(Duration::ZERO))
}

fn age_text(now: SystemTime, u: &UploadSummary) -> String {
    age(now, u).map_or_else(|| "?".to_owned(), |a| Ago(a).to_string())
}

fn summary_json(u: &UploadSummary, now: SystemTime) -> serde_json::Value {
    serde_json::json!({
        "key": u.key,
        "upload_id": u.upload_id,
        "initiated": u.initiated,
        "age_secs": age(now, u).map(|a| a.as_secs()),
    })
}

/// `ossmp uploads ls`.
pub(crate) async fn ls(
    global: &GlobalArgs,
    settings: &Settings,
    args: UploadsLsArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let location = match args.location {
        Some(l) => l,
        None => match &settings.bucket {
            Some(b) => OssUrl {
                bucket: b.clone(),
                key: String::new(),
            },
            None => {
                return Err(CliError::usage("no bucket given")
                    .hint("write `ossmp uploads ls oss://BUCKET[/PREFIX]` or set `bucket` in the profile file")
                    .into());
            }
        },
    };
    let client = crate::client::build(settings, &global.config)?;
    let uploads = list(&client, &location.bucket, &location.key).await?;
    let now = SystemTime::now();
    if out.json {
        let items: Vec<_> = uploads.iter().map(|u| summary_json(u, now)).collect();
        out.json_line(&serde_json::json!({ "status": "ok", "command": "uploads ls", "bucket": location.bucket, "prefix": location.key, "uploads": items }));
        return Ok(());
    }
    if uploads.is_empty() {
        out.info(format!("no unfinished uploads in {location}"));
        return Ok(());
    }
    out.result(format!("{:<10} {:<32} KEY", "AGE", "UPLOAD ID"));
    for u in &uploads {
        out.result(format!(
            "{:<10} {:<32} {}",
            age_text(now, u),
            u.upload_id,
            u.key
        ));
    }
    out.info(format!(
        "{} unfinished upload{}; `ossmp uploads gc {location} --older-than 7d` aborts the old ones",
        uploads.len(),
        if uploads.len() == 1 { "" } else { "s" }
    ));
    Ok(())
}

/// `ossmp uploads abort`.
pub(crate) async fn abort(
    global: &GlobalArgs,
    settings: &Settings,
    args: UploadsAbortArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let client = crate::client::build(settings, &global.config)?;
    let loc = &args.location;
    client
        .abort_upload(&loc.bucket, &loc.key, &args.upload_id)
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("aborting upload {} of {loc}", args.upload_id))
        })?;
    if out.json {
        out.json_line(&serde_json::json!({ "status": "ok", "command": "uploads abort", "bucket": loc.bucket, "key": loc.key, "upload_id": args.upload_id }));
    } else {
        out.info(format!(
            "aborted upload {} of {loc}; its parts were deleted",
            args.upload_id
        ));
    }
    Ok(())
}

/// `ossmp uploads complete`: from the server's part list, or with `--all` by OSS itself.
pub(crate) async fn complete(
    global: &GlobalArgs,
    settings: &Settings,
    args: UploadsCompleteArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let client = crate::client::build(settings, &global.config)?;
    let loc = &args.location;
    let options = oss_multipart::ObjectOptions::new().with_forbid_overwrite(args.forbid_overwrite);
    let context = || format!("completing upload {} of {loc}", args.upload_id);
    let (done, parts) = if args.all {
        let done = client
            .complete_upload_all(&loc.bucket, &loc.key, &args.upload_id, &options)
            .await;
        (done, None)
    } else {
        // Listed parts carry their sizes and CRC-64s, which make the Complete retry-safe.
        let parts: Vec<oss_multipart::PartSummary> = client
            .list_parts(&loc.bucket, &loc.key, &args.upload_id)
            .try_collect()
            .await
            .map_err(|e| anyhow::Error::new(e).context(context()))?;
        if parts.is_empty() {
            return Err(CliError::usage(format!(
                "upload {} of {loc} has no parts to complete",
                args.upload_id
            ))
            .hint(format!(
                "abort it with `ossmp uploads abort {loc} {}`",
                args.upload_id
            ))
            .into());
        }
        let done = client
            .complete_upload(
                &loc.bucket,
                &loc.key,
                &args.upload_id,
                parts.iter(),
                &options,
            )
            .await;
        (done, Some(parts.len()))
    };
    let done = done.map_err(|e| anyhow::Error::new(e).context(context()))?;
    if out.json {
        out.json_line(&serde_json::json!({
            "status": "ok",
            "command": "uploads complete",
            "bucket": loc.bucket,
            "key": loc.key,
            "upload_id": args.upload_id,
            "complete_all": args.all,
            "parts": parts,
            "etag": done.etag,
            "crc64": done.crc64.map(|c| c.to_string()),
            "request_id": done.request_id,
            "confirmed_by_head": done.confirmed_by_head,
        }));
    } else {
        let how = match parts {
            Some(n) => format!("from its {n} listed part{}", if n == 1 { "" } else { "s" }),
            None => "from every part OSS holds".to_owned(),
        };
        out.info(format!(
            "completed upload {} of {loc} {how}; ETag {}",
            args.upload_id, done.etag
        ));
        if done.confirmed_by_head {
            out.info(
                "Complete's answer was lost; HeadObject confirmed that the stored object has \
                 its parts' size and CRC-64",
            );
        }
    }
    Ok(())
}

/// What `gc` did, also used by the demo.
#[derive(Debug, Default)]
pub(crate) struct GcReport {
    pub(crate) aborted: Vec<UploadSummary>,
    pub(crate) kept_younger: usize,
    /// Uploads whose start time could not be read: never aborted, since their age is unknown.
    pub(crate) kept_unknown_age: usize,
    pub(crate) failed: Vec<(UploadSummary, oss_multipart::Error)>,
}

/// Aborts (or with `dry_run` only selects) every upload under the location started more than `older_than` ago.
pub(crate) async fn gc_uploads(
    client: &Client,
    location: &OssUrl,
    older_than: Duration,
    dry_run: bool,
) -> anyhow::Result<GcReport> {
    let now = SystemTime::now();
    let mut report = GcReport::default();
    for u in list(client, &location.bucket, &location.key).await? {
        match age(now, &u) {
            None => {
                report.kept_unknown_age += 1;
                continue;
            }
            Some(a) if a < older_than => {
                report.kept_younger += 1;
                continue;
            }
            Some(_) => {}
        }
        if dry_run {
            report.aborted.push(u);
            continue;
        }
        match client
            .abort_upload(&location.bucket, &u.key, &u.upload_id)
            .await
        {
            Ok(_) => report.aborted.push(u),
            // Someone else finished or aborted it between our list and our abort: the goal is reached.
            Err(e)
                if e.service_error()
                    .is_some_and(|s| s.code() == "NoSuchUpload") =>
            {
                report.aborted.push(u)
            }
            Err(e) => report.failed.push((u, e)),
        }
    }
    Ok(report)
}

/// `ossmp uploads gc`.
pub(crate) async fn gc(
    global: &GlobalArgs,
    settings: &Settings,
    args: UploadsGcArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let client = crate::client::build(settings, &global.config)?;
    let report = gc_uploads(&client, &args.location, args.older_than, args.dry_run).await?;
    let now = SystemTime::now();
    if out.json {
        let aborted: Vec<_> = report
            .aborted
            .iter()
            .map(|u| summary_json(u, now))
            .collect();
        let failed: Vec<_> = report
            .failed
            .iter()
            .map(|(u, e)| {
                let mut v = summary_json(u, now);
                v["error"] = crate::exit::display_chain(e).into();
                v
            })
            .collect();
        out.json_line(&serde_json::json!({
            "status": if report.failed.is_empty() { "ok" } else { "error" },
            "command": "uploads gc",
            "dry_run": args.dry_run,
            "older_than_secs": args.older_than.as_secs(),
            "aborted": aborted,
            "kept_younger": report.kept_younger,
            "kept_unknown_age": report.kept_unknown_age,
            "failed": failed,
        }));
    } else {
        let verb = if args.dry_run {
            "would abort"
        } else {
            "aborted"
        };
        for u in &report.aborted {
            out.result(format!(
                "{verb} {} {} (started {} ago)",
                u.upload_id,
                u.key,
                age_text(now, u)
            ));
        }
        out.info(format!(
            "{verb} {} upload{} under {} older than {}; kept {} younger one{}",
            report.aborted.len(),
            if report.aborted.len() == 1 { "" } else { "s" },
            args.location,
            Ago(args.older_than),
            report.kept_younger,
            if report.kept_younger == 1 { "" } else { "s" },
        ));
        if report.kept_unknown_age > 0 {
            out.info(format!(
                "kept {} upload(s) whose start time could not be read; abort them with `ossmp uploads abort`",
                report.kept_unknown_age
            ));
        }
    }
    if let Some((u, e)) = report.failed.into_iter().next() {
        let key = u.key.clone();
        return Err(
            anyhow::Error::new(e).context(format!("aborting upload {} of {key}", u.upload_id))
        );
    }
    Ok(())
}

/// `ossmp parts`.
pub(crate) async fn parts(
    global: &GlobalArgs,
    settings: &Settings,
    args: PartsArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let client = crate::client::build(settings, &global.config)?;
    let loc = &args.location;
    let parts: Vec<_> = client
        .list_parts(&loc.bucket, &loc.key, &args.upload_id)
        .try_collect()
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "listing parts of upload {} of {loc}",
                args.upload_id
            ))
        })?;
    let total: u64 = parts.iter().map(|p| p.size).sum();
    if out.json {
        let items: Vec<_> = parts
            .iter()
            .map(|p| {
                serde_json::json!({
                    "part_number": u32::from(p.part_number),
                    "size": p.size,
                    "etag": p.etag,
                    "crc64": p.crc64.map(|c| c.to_string()),
                })
            })
            .collect();
        out.json_line(&serde_json::json!({ "status": "ok", "command": "parts", "bucket": loc.bucket, "key": loc.key, "upload_id": args.upload_id, "parts": items, "total_size": total }));
        return Ok(());
    }
    out.result(format!("{:>6} {:>12} {:<36} CRC64", "PART", "SIZE", "ETAG"));
    for p in &parts {
        out.result(format!(
            "{:>6} {:>12} {:<36} {}",
            p.part_number,
            p.size,
            p.etag,
            p.crc64.map_or_else(|| "-".to_owned(), |c| c.to_string())
        ));
    }
    out.info(format!(
        "{} part{} stored, {} in total",
        parts.len(),
        if parts.len() == 1 { "" } else { "s" },
        Bytes(total)
    ));
    Ok(())
}
