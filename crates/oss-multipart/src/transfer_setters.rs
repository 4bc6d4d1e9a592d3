//! The setters every single-object transfer builder shares ([`UploadBuilder`](crate::UploadBuilder),
//! [`DownloadBuilder`](crate::DownloadBuilder)), written once. Each builder has fields of the same
//! names (`checkpoint_dir`, `no_resume`, `progress`, `cancellation`, `pause`); what differs
//! between transfers is only what the docs say about it, passed in.

/// `transfer_setters!(Builder, checkpoint_dir = "doc", progress = "doc", cancellation = "doc")`
/// adds `checkpoint_dir`, `no_resume`, `progress`, `cancellation` and `pause_handle` to `Builder`.
macro_rules! transfer_setters {
    (
        $builder:ty,
        checkpoint_dir = $checkpoint_doc:literal,
        progress = $progress_doc:literal,
        cancellation = $cancellation_doc:literal $(,)?
    ) => {
        impl $builder {
            #[doc = $checkpoint_doc]
            pub fn checkpoint_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
                self.checkpoint_dir = Some(dir.into());
                self
            }

            /// Ignores an existing checkpoint and starts afresh (the checkpoint is overwritten).
            pub fn no_resume(mut self) -> Self {
                self.no_resume = true;
                self
            }

            #[doc = $progress_doc]
            pub fn progress(
                mut self,
                f: impl Fn(&crate::progress::Progress) + Send + Sync + 'static,
            ) -> Self {
                self.progress = Some(std::sync::Arc::new(f));
                self
            }

            #[doc = $cancellation_doc]
            pub fn cancellation(mut self, token: tokio_util::sync::CancellationToken) -> Self {
                self.cancellation = Some(token);
                self
            }

            /// Lets `handle` pause and resume the transfer from another task.
            pub fn pause_handle(mut self, handle: crate::upload::PauseHandle) -> Self {
                self.pause = Some(handle);
                self
            }
        }
    };
}
