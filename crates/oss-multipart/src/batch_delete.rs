//! Deleting many objects: DeleteMultipleObjects, up to 1,000 keys a request.

use oss_model::ops::{DeleteFailure, DeleteMultipleObjects, MAX_DELETE_KEYS};

use crate::client::Client;
use crate::error::Error;
use crate::names::{bucket_name, object_key};

/// What [`Client::delete_objects`] did with each key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObjectsOutput {
    /// Keys deleted (or already absent, which OSS counts as deleted).
    pub deleted: Vec<String>,
    /// Keys OSS reported it could not delete, with its code and message.
    pub failed: Vec<DeleteFailure>,
    /// `x-oss-request-id` of the DeleteMultipleObjects request, when one was sent.
    pub request_id: Option<String>,
}

impl Client {
    /// Deletes up to [`MAX_DELETE_KEYS`] objects of `bucket` with one DeleteMultipleObjects
    /// request in quiet mode: the answer names only the keys that failed, every other key is
    /// deleted. A key holding a control character (which XML cannot carry) is deleted with its
    /// own DeleteObject instead.
    ///
    /// # Errors
    /// [`Error::is_usage`] for more than [`MAX_DELETE_KEYS`] keys or an invalid name; service
    /// and transport errors of the request, when it failed as a whole.
    pub async fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> Result<DeleteObjectsOutput, Error> {
        if keys.len() > MAX_DELETE_KEYS {
            return Err(Error::config(
                "keys",
                format!(
                    "{} keys in one DeleteMultipleObjects; at most {MAX_DELETE_KEYS}",
                    keys.len()
                ),
            ));
        }
        let bucket_name = bucket_name(bucket)?;
        let (batch, single): (Vec<&String>, Vec<&String>) = keys
            .iter()
            .partition(|k| DeleteMultipleObjects::can_name(k));
        let mut out = DeleteObjectsOutput::default();
        if !batch.is_empty() {
            let names = batch
                .iter()
                .map(|k| object_key(k))
                .collect::<Result<Vec<_>, _>>()?;
            let answer = self
                .send(DeleteMultipleObjects::new(bucket_name, names))
                .await?;
            out.deleted = batch
                .iter()
                .filter(|k| !answer.failed.iter().any(|f| f.key == ***k))
                .map(|k| (*k).clone())
                .collect();
            out.failed = answer.failed;
            out.request_id = Some(answer.request_id).filter(|id| !id.is_empty());
        }
        for key in single {
            match self.delete_object(bucket, key).await {
                Ok(()) => out.deleted.push(key.clone()),
                Err(e) => {
                    let mut failure = DeleteFailure::default();
                    failure.key = key.clone();
                    failure.code = e
                        .service_error()
                        .map_or_else(|| "RequestFailed".to_owned(), |s| s.code().to_owned());
                    failure.message = e.to_string();
                    out.failed.push(failure);
                }
            }
        }
        Ok(out)
    }
}
