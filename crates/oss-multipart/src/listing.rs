//! Paginated listings as streams: every page is fetched lazily, as the stream is polled, by one
//! pager ([`paginate`]) shared by the upload, part and object listings.

use futures::Stream;
use oss_model::Operation;
use oss_model::ops::{
    ListMultipartUploads, ListObjectsV2, ListParts, ObjectSummary, PartSummary, UploadSummary,
};

use crate::client::Client;
use crate::error::{Error, ResponseFailure};
use crate::names::{bucket_name, object_key};

/// `new`, `with_prefix` and `with_delimiter` of the listing options that filter keys (the
/// `prefix` and `delimiter` fields), written once.
macro_rules! key_filters {
    ($options:ty, $new_doc:literal) => {
        impl $options {
            #[doc = $new_doc]
            pub fn new() -> Self {
                Self::default()
            }

            /// Only keys starting with `prefix`.
            pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
                self.prefix = Some(prefix.into());
                self
            }

            /// Groups keys by `delimiter` after the prefix.
            pub fn with_delimiter(mut self, delimiter: impl Into<String>) -> Self {
                self.delimiter = Some(delimiter.into());
                self
            }
        }
    };
}

/// Options of [`Client::list_uploads_with`]. The defaults list every upload of the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListUploadsOptions {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Group keys that contain this after the prefix into one
    /// [`UploadListEntry::CommonPrefix`] each.
    pub delimiter: Option<String>,
    /// Start after this key (with [`upload_id_marker`](Self::upload_id_marker): after that
    /// upload of this key).
    pub key_marker: Option<String>,
    /// With `key_marker`, start after this upload id.
    pub upload_id_marker: Option<String>,
    /// Uploads per page, 1 ..= 1000 (OSS default 1000). The stream still yields them all.
    pub max_uploads: Option<u32>,
}

key_filters!(ListUploadsOptions, "Every upload.");

impl ListUploadsOptions {
    /// Starts after `key` (and after `upload_id` of that key when given).
    pub fn with_marker(mut self, key: impl Into<String>, upload_id: Option<String>) -> Self {
        self.key_marker = Some(key.into());
        self.upload_id_marker = upload_id;
        self
    }

    /// Page size (1 ..= 1000).
    pub fn with_max_uploads(mut self, max: u32) -> Self {
        self.max_uploads = Some(max);
        self
    }
}

/// One entry of [`Client::list_uploads_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadListEntry {
    /// An upload in progress.
    Upload(UploadSummary),
    /// A group of keys sharing the prefix up to the delimiter (only with a delimiter).
    CommonPrefix(String),
}

/// Options of [`Client::list_parts_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPartsOptions {
    /// Start after this part number.
    pub part_number_marker: Option<u32>,
    /// Parts per page, 1 ..= 1000 (OSS default 1000). The stream still yields them all.
    pub max_parts: Option<u32>,
}

impl ListPartsOptions {
    /// Every part.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts after part `marker`.
    pub fn with_part_number_marker(mut self, marker: u32) -> Self {
        self.part_number_marker = Some(marker);
        self
    }

    /// Page size (1 ..= 1000).
    pub fn with_max_parts(mut self, max: u32) -> Self {
        self.max_parts = Some(max);
        self
    }
}

/// Options of [`Client::list_objects`]. The defaults list every object of the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectsOptions {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Group keys that contain this after the prefix into one
    /// [`ObjectListEntry::CommonPrefix`] each.
    pub delimiter: Option<String>,
    /// Start after this key.
    pub start_after: Option<String>,
    /// Keys per page, 1 ..= 1000 (OSS default 100). The stream still yields them all.
    pub max_keys: Option<u32>,
}

key_filters!(ListObjectsOptions, "Every object.");

impl ListObjectsOptions {
    /// Starts after `key`.
    pub fn with_start_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }

    /// Page size (1 ..= 1000).
    pub fn with_max_keys(mut self, max: u32) -> Self {
        self.max_keys = Some(max);
        self
    }
}

/// One entry of [`Client::list_objects`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectListEntry {
    /// An object.
    Object(ObjectSummary),
    /// A group of keys sharing the prefix up to the delimiter (only with a delimiter).
    CommonPrefix(String),
}

/// Turns a page (answer to the request) into its entries and the request for the next page.
type SplitPage<O, T> = fn(&O, <O as Operation>::Output) -> (Vec<T>, Option<O>);

/// A stream of the entries of every page, starting with request `first` (or its error).
/// `split` turns a page into its entries and the request for the next page; a next request
/// equal to the current one (a marker that does not advance) is an error rather than a loop.
fn paginate<O, T>(
    client: Client,
    first: Result<O, Error>,
    split: SplitPage<O, T>,
) -> impl Stream<Item = Result<T, Error>> + Send + 'static
where
    O: Operation + Clone + PartialEq + Send + Sync + 'static,
    O::Output: Send,
    T: Send + 'static,
{
    let state = (client, Some(first), Vec::new().into_iter());
    futures::stream::try_unfold(state, move |(client, mut next, mut buffer)| async move {
        loop {
            if let Some(item) = buffer.next() {
                return Ok(Some((item, (client, next, buffer))));
            }
            let Some(op) = next.take() else {
                return Ok(None);
            };
            let op = op?;
            let page = client.send(op.clone()).await?;
            let (items, following) = split(&op, page);
            if following.as_ref() == Some(&op) {
                return Err(Error::Response(ResponseFailure {
                    operation: std::any::type_name::<O>()
                        .rsplit("::")
                        .next()
                        .unwrap_or("List"),
                    what: "a truncated listing page did not advance its marker",
                    source: None,
                }));
            }
            next = following.map(Ok);
            buffer = items.into_iter();
        }
    })
}

/// A page's entries in OSS's order: its items, then its common prefixes.
fn entries<T, E>(
    items: Vec<T>,
    item: fn(T) -> E,
    prefixes: Vec<String>,
    prefix: fn(String) -> E,
) -> Vec<E> {
    let items = items.into_iter().map(item);
    items.chain(prefixes.into_iter().map(prefix)).collect()
}

impl Client {
    /// Every in-progress multipart upload in `bucket` (optionally under `prefix`), across all
    /// pages. Pages are requested lazily. See [`list_uploads_with`](Self::list_uploads_with)
    /// for delimiters, markers and page size.
    pub fn list_uploads(
        &self,
        bucket: &str,
        prefix: Option<&str>,
    ) -> impl Stream<Item = Result<UploadSummary, Error>> + Send + 'static {
        use futures::StreamExt as _;
        let mut options = ListUploadsOptions::new();
        options.prefix = prefix.filter(|p| !p.is_empty()).map(str::to_owned);
        self.list_uploads_with(bucket, options)
            .filter_map(|entry| async move {
                match entry {
                    Ok(UploadListEntry::Upload(u)) => Some(Ok(u)),
                    Ok(UploadListEntry::CommonPrefix(_)) => None,
                    Err(e) => Some(Err(e)),
                }
            })
    }

    /// The uploads in progress in `bucket` and, with a delimiter, the common prefixes,
    /// across all pages (ListMultipartUploads with key and upload-id markers), in OSS's order
    /// (each page's uploads, then its prefixes). Pages are requested lazily.
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = oss_local::Server::start(oss_local::Config::new("AK", "SK").with_bucket("docs")).await?;
    /// # let client = oss_multipart::Client::builder().endpoint(server.endpoint()).region("cn-hangzhou")
    /// #     .credentials(oss_multipart::Credentials::new("AK", "SK"))
    /// #     .addressing(oss_multipart::Addressing::Path).build()?;
    /// use futures::TryStreamExt as _;
    /// use oss_multipart::{ListUploadsOptions, ObjectOptions, UploadListEntry};
    ///
    /// for key in ["logs/a", "logs/b", "photos/c", "top"] {
    ///     client.initiate_upload("docs", key, &ObjectOptions::new()).await?;
    /// }
    /// let options = ListUploadsOptions::new().with_delimiter("/").with_max_uploads(1);
    /// let entries: Vec<_> = client.list_uploads_with("docs", options).try_collect().await?;
    /// let prefixes: Vec<_> = entries.iter().filter_map(|e| match e {
    ///     UploadListEntry::CommonPrefix(p) => Some(p.as_str()),
    ///     _ => None,
    /// }).collect();
    /// assert_eq!(prefixes, ["logs/", "photos/"]);
    /// assert_eq!(entries.len(), 3); // two prefixes and "top"
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn list_uploads_with(
        &self,
        bucket: &str,
        options: ListUploadsOptions,
    ) -> impl Stream<Item = Result<UploadListEntry, Error>> + Send + 'static {
        let first = bucket_name(bucket).map(|b| {
            let mut op = ListMultipartUploads::new(b);
            op.prefix = options.prefix;
            op.delimiter = options.delimiter;
            op.key_marker = options.key_marker;
            op.upload_id_marker = options.upload_id_marker;
            op.max_uploads = options.max_uploads;
            op
        });
        paginate(self.clone(), first, |op, page| {
            let next = op.next_page(&page);
            let items = entries(
                page.uploads,
                UploadListEntry::Upload,
                page.common_prefixes,
                UploadListEntry::CommonPrefix,
            );
            (items, next)
        })
    }

    /// Every part uploaded so far to `upload_id`, across all pages (ListParts with
    /// part-number markers), ascending.
    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> impl Stream<Item = Result<PartSummary, Error>> + Send + 'static {
        self.list_parts_with(bucket, key, upload_id, ListPartsOptions::new())
    }

    /// [`list_parts`](Self::list_parts) from a part-number marker, with a page size.
    pub fn list_parts_with(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        options: ListPartsOptions,
    ) -> impl Stream<Item = Result<PartSummary, Error>> + Send + 'static {
        let first = bucket_name(bucket).and_then(|b| {
            let mut op = ListParts::new(b, object_key(key)?, upload_id);
            op.part_number_marker = options.part_number_marker;
            op.max_parts = options.max_parts;
            Ok(op)
        });
        paginate(self.clone(), first, |op, page| {
            let next = op.next_page(&page);
            (page.parts, next)
        })
    }

    /// The objects of `bucket` and, with a delimiter, the common prefixes, across all pages
    /// (ListObjectsV2 with continuation tokens). Pages are requested lazily.
    pub fn list_objects(
        &self,
        bucket: &str,
        options: ListObjectsOptions,
    ) -> impl Stream<Item = Result<ObjectListEntry, Error>> + Send + 'static {
        let first = bucket_name(bucket).map(|b| {
            let mut op = ListObjectsV2::new(b);
            op.prefix = options.prefix;
            op.delimiter = options.delimiter;
            op.start_after = options.start_after;
            op.max_keys = options.max_keys;
            op
        });
        paginate(self.clone(), first, |op, page| {
            let next = op.next_page(&page);
            let items = entries(
                page.contents,
                ObjectListEntry::Object,
                page.common_prefixes,
                ObjectListEntry::CommonPrefix,
            );
            (items, next)
        })
    }
}
