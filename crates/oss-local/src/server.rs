//! Listening, connection handling and graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::addressing::valid_bucket;
use crate::config::Config;
use crate::conn::{self, TrackedIo, Tracker};
use crate::service::{Ctx, handle};
use crate::store::Store;

/// The server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The data directory could not be created, read or recovered.
    #[error("cannot open data directory {path}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A `--bucket` name is not a valid OSS bucket name.
    #[error("invalid bucket name `{0}`")]
    BucketName(String),
    /// Access key id or secret is empty.
    #[error("access key id and secret must not be empty")]
    MissingCredentials,
}

/// Entry point: [`Server::start`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Server;

impl Server {
    /// Opens (and recovers) the data directory, creates the configured buckets, binds, and
    /// starts accepting connections. When this returns, the socket already accepts.
    pub async fn start(config: Config) -> Result<ServerHandle, StartError> {
        if config.access_key_id.is_empty() || config.access_key_secret.is_empty() {
            return Err(StartError::MissingCredentials);
        }
        if let Some(bad) = config.buckets.iter().find(|b| !valid_bucket(b)) {
            return Err(StartError::BucketName(bad.clone()));
        }
        let (data_dir, temp_dir) = match &config.data_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let dir = std::env::temp_dir().join(format!(
                    "oss-local-{}-{:016x}",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                (dir.clone(), Some(dir))
            }
        };
        let open_dir = data_dir.clone();
        let fsync = config.fsync;
        let store = tokio::task::spawn_blocking(move || Store::open(&open_dir, fsync))
            .await
            .map_err(|e| StartError::DataDir {
                path: data_dir.clone(),
                source: std::io::Error::other(e.to_string()),
            })?
            .map_err(|source| StartError::DataDir {
                path: data_dir.clone(),
                source,
            })?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        for bucket in &config.buckets {
            store
                .create_bucket(bucket, now)
                .map_err(|source| StartError::DataDir {
                    path: data_dir.clone(),
                    source,
                })?;
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let ctx = Arc::new(Ctx::new(config, Arc::new(store)));
        let task = tokio::spawn(accept_loop(listener, ctx, shutdown_rx));
        Ok(ServerHandle {
            addr,
            data_dir,
            temp_dir,
            shutdown: shutdown_tx,
            task: Some(task),
        })
    }
}

/// How often a client waiting for a connection slot asks again for an idle one to close.
const EVICT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

async fn accept_loop(listener: TcpListener, ctx: Arc<Ctx>, mut shutdown: watch::Receiver<bool>) {
    let limits = ctx.config.limits.clone();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let tracker = Arc::new(Tracker::new(
        limits.header_read_timeout,
        limits.keep_alive_timeout,
    ));
    let reaper = tokio::spawn({
        let tracker = tracker.clone();
        async move {
            let mut tick = tokio::time::interval(conn::REAP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                tracker.reap();
            }
        }
    });
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Transient (EMFILE, ECONNABORTED): back off briefly and keep serving.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        // Bounded connections. When every slot is taken, the connection waiting longest
        // without a request in progress makes room; only when all are busy does the new
        // client wait (then further clients queue in the kernel backlog).
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Ask again now and then: the connection asked to close may have started a
                // request meanwhile (it is then served, not cut), and another may fall idle.
                let mut retry = tokio::time::interval(EVICT_RETRY);
                let permit = loop {
                    tokio::select! {
                        permit = permits.clone().acquire_owned() => break permit.ok(),
                        _ = retry.tick() => {
                            tracker.evict_one();
                        }
                        _ = shutdown.changed() => break None,
                    }
                };
                match permit {
                    Some(permit) => permit,
                    None => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let shape = ctx.faults.connection();
        let ctx = ctx.clone();
        let mut shutdown = shutdown.clone();
        let limits = limits.clone();
        let tracker = tracker.clone();
        connections.spawn(async move {
            let _permit = permit;
            let (id, slot) = tracker.register();
            let service_slot = slot.clone();
            let service = service_fn(move |req| {
                let guard = service_slot.busy();
                let ctx = ctx.clone();
                async move {
                    handle(ctx, shape, req)
                        .await
                        .map(|response| response.map(|body| conn::guard_body(body, guard)))
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            // The tracker enforces the short header-read and idle timeouts; hyper's own timer
            // (which covers the idle wait and the head together) is only a backstop.
            builder
                .max_buf_size(limits.max_header_bytes.max(8192))
                .max_headers(limits.max_headers)
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.keep_alive_timeout + limits.header_read_timeout);
            let io = TokioIo::new(TrackedIo::new(stream, slot.clone()));
            let conn = builder.serve_connection(io, service);
            tokio::pin!(conn);
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = slot.close_requested() => {
                        // Dropping the connection closes the socket; nothing is in progress.
                        if slot.close_is_due() {
                            break;
                        }
                    }
                    _ = shutdown.changed() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                        break;
                    }
                }
            }
            tracker.remove(id);
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    reaper.abort();
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// A running server. Dropping it without [`ServerHandle::shutdown`] stops accepting
/// immediately but does not wait for in-flight requests.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    data_dir: PathBuf,
    temp_dir: Option<PathBuf>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The bound address (with the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR:PORT`, the path-style endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data directory in use.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops accepting, lets in-flight requests finish, and removes a temporary data dir.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(dir) = self.temp_dir.take() {
            let _ = tokio::fs::remove_dir_all(dir).await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
