//! Where evidence files live, behind one trait (`object_store::ObjectStore`): the local disk
//! under `XIEZUO_DATA_DIR/evidence-files` by default, or an S3-compatible bucket (AWS S3, MinIO,
//! Ceph, OSS through its S3 API) when `XIEZUO_S3_BUCKET` is set.
//!
//! A file is written as a multipart upload with bounded buffers, so a 1 GiB video never sits in
//! memory; an upload that fails or is refused half way is aborted and leaves nothing behind. The
//! database row is committed only after the file is whole, so a crash between the two leaves at
//! most an object without a row, which [`Storage::sweep`] removes on the next start.

use std::{collections::HashSet, ops::Range, sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart, aws::AmazonS3Builder,
    local::LocalFileSystem, path::Path,
};
use uuid::Uuid;

use crate::config::Config;

/// The part size of a multipart upload: the smallest S3 accepts for every part but the last.
pub const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts in flight at once, per upload: with the part being filled, an upload holds at most
/// `(PARTS_IN_FLIGHT + 1) × PART_BYTES` in memory, whatever the file's size.
pub const PARTS_IN_FLIGHT: usize = 2;
/// Objects younger than this are never swept: another replica may be uploading them.
const SWEEP_MIN_AGE: Duration = Duration::from_secs(3600);

/// Where the files are, as the configuration says.
#[derive(Clone, Debug)]
pub enum Backend {
    Local(std::path::PathBuf),
    S3 {
        bucket: String,
        endpoint: Option<String>,
        region: String,
    },
}

impl Backend {
    pub fn from_config(config: &Config) -> Self {
        match &config.s3_bucket {
            Some(bucket) => Backend::S3 {
                bucket: bucket.clone(),
                endpoint: config.s3_endpoint.clone(),
                region: config.s3_region.clone(),
            },
            None => Backend::Local(config.data_dir.join("evidence-files")),
        }
    }
}

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    backend: Backend,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({:?})", self.backend)
    }
}

/// A file being written: hand it the bytes as they come, then finish or abort it.
pub struct Upload {
    writer: WriteMultipart,
}

impl Upload {
    /// Adds bytes; waits while [`PARTS_IN_FLIGHT`] parts are still being sent, so memory stays
    /// bounded however fast the client sends.
    pub async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.writer.write(bytes);
        Ok(())
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        self.writer.finish().await?;
        Ok(())
    }

    /// Drops what was sent so far. Best effort: a failure is logged, and the start-up sweep
    /// removes anything left.
    pub async fn abort(self) {
        if let Err(e) = self.writer.abort().await {
            tracing::warn!(error = %e, "aborting an evidence upload failed");
        }
    }
}

/// The bytes of a stored file, or of the range asked for.
pub struct Content {
    pub stream: BoxStream<'static, anyhow::Result<Bytes>>,
    /// The bytes served: the whole file, or the range.
    pub range: Range<u64>,
    /// The size of the whole file.
    pub size: u64,
}

impl Storage {
    pub fn open(backend: Backend) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = match &backend {
            Backend::Local(dir) => {
                std::fs::create_dir_all(dir)?;
                Arc::new(LocalFileSystem::new_with_prefix(dir)?)
            }
            Backend::S3 {
                bucket,
                endpoint,
                region,
            } => {
                // Credentials and anything else S3 needs come from the usual AWS_* variables.
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(region);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                Arc::new(builder.build()?)
            }
        };
        Ok(Self { store, backend })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Where the file of evidence `id` is kept.
    pub fn key(id: Uuid) -> Path {
        Path::from(format!("evidence/{id}"))
    }

    pub async fn start_upload(&self, key: &Path) -> anyhow::Result<Upload> {
        let upload = self.store.put_multipart(key).await?;
        Ok(Upload {
            writer: WriteMultipart::new_with_chunk_size(upload, PART_BYTES),
        })
    }

    /// Removes a file; a file already gone is not an error.
    pub async fn delete(&self, key: &Path) -> anyhow::Result<()> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The file, or `range` of it (already checked against `size`).
    pub async fn read(&self, key: &Path, range: Option<Range<u64>>) -> anyhow::Result<Content> {
        let options = GetOptions {
            range: range.clone().map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(key, options).await?;
        let size = result.meta.size;
        let range = result.range.clone();
        let stream = result.into_stream().map_err(anyhow::Error::from).boxed();
        Ok(Content {
            stream,
            range,
            size,
        })
    }

    /// The ids of every stored file, with whether it is old enough to sweep.
    async fn stored(&self) -> anyhow::Result<Vec<(Path, Option<Uuid>, bool)>> {
        let prefix = Path::from("evidence");
        let now = chrono::Utc::now();
        self.store
            .list(Some(&prefix))
            .map_ok(|meta| {
                let id = meta
                    .location
                    .filename()
                    .and_then(|name| Uuid::parse_str(name).ok());
                let old = (now - meta.last_modified)
                    .to_std()
                    .is_ok_and(|age| age >= SWEEP_MIN_AGE);
                (meta.location, id, old)
            })
            .try_collect()
            .await
            .map_err(Into::into)
    }

    /// Removes the files no evidence row names (a crash between upload and commit), once they
    /// are an hour old. `known` answers which of the given ids have a row.
    pub async fn sweep<F, Fut>(&self, known: F) -> anyhow::Result<usize>
    where
        F: FnOnce(Vec<Uuid>) -> Fut,
        Fut: Future<Output = anyhow::Result<HashSet<Uuid>>>,
    {
        self.sweep_older_than(known, true).await
    }

    /// [`Storage::sweep`], optionally without the age limit (for tests and the command line,
    /// when no upload can be running).
    pub async fn sweep_older_than<F, Fut>(&self, known: F, only_old: bool) -> anyhow::Result<usize>
    where
        F: FnOnce(Vec<Uuid>) -> Fut,
        Fut: Future<Output = anyhow::Result<HashSet<Uuid>>>,
    {
        let stored = self.stored().await?;
        let ids: Vec<Uuid> = stored.iter().filter_map(|(_, id, _)| *id).collect();
        let known = known(ids).await?;
        let mut removed = self.sweep_staged(only_old)?;
        for (path, id, old) in stored {
            if (old || !only_old) && !id.is_some_and(|id| known.contains(&id)) {
                self.delete(&path).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The local store keeps an upload in progress as `<key>#<n>` beside its destination, and
    /// lists only finished files; a crash in the middle of an upload leaves that part file,
    /// which this removes. (On S3 an unfinished upload is invisible: the bucket's lifecycle rule
    /// aborts it, see the README.)
    fn sweep_staged(&self, only_old: bool) -> anyhow::Result<usize> {
        let Backend::Local(root) = &self.backend else {
            return Ok(0);
        };
        let entries = match std::fs::read_dir(root.join("evidence")) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            let staged = entry.file_name().to_string_lossy().contains('#');
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= SWEEP_MIN_AGE);
            if staged && (old || !only_old) {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// How many files are stored (for tests: an aborted upload must leave none).
    pub async fn count(&self) -> anyhow::Result<usize> {
        Ok(self.stored().await?.len())
    }
}
