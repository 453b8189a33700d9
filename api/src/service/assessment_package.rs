//! The assessment package (DESIGN §2, §7): a ZIP of an organization's year for the assessment
//! team, **streamed** to the client as it is written, never built in memory.
//!
//! ```text
//! evidence/<category>/<evidence id>-<file name>   every piece of evidence behind an indicator
//! albums/<record type>-<record id>.pdf            the photos of one record, one page each
//! index.xlsx                                      every file, the records it proves, the indicators
//! assessment.json                                 the indicators (canonical JSON)
//! manifest.json                                   {"files": [{path, sha256, size_bytes}]}
//! ```
//!
//! Names are stable: the same evidence is always at the same path. Evidence files are read from
//! storage in chunks and written to the archive as they come (stored, not deflated: PDF, JPEG,
//! PNG and MP4 are compressed already), their SHA-256 checked against the one recorded at
//! upload; the archive goes to the client through a channel of a few chunks. Memory is bounded
//! by those chunks, plus one album's photos at a time (photos over [`ALBUM_PHOTO_MAX`] stay in
//! their folder only).

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write,
};

use bytes::Bytes;
use entity::evidence;
use futures_util::StreamExt;
use sea_orm::{ColumnTrait, QueryFilter};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use uuid::Uuid;
use zip::{CompressionMethod, write::SimpleFileOptions};

use super::{
    AppCtx,
    assessments::{self, Assessment},
    body::ChannelWriter,
    evidence::hex,
    evidence::{EvidenceFamily, EvidenceView},
    kernel::{self, Record},
};
use crate::{
    authz::Actor,
    domain::{EvidenceCategory, RecordType},
    error::AppResult,
    storage::Storage,
};

/// Photos larger than this are left out of the albums (they are in `evidence/photo/`).
pub const ALBUM_PHOTO_MAX: i64 = 32 * 1024 * 1024;
/// The size of the chunks sent to the client.
const CHUNK: usize = 256 * 1024;
/// How many chunks may wait for the client.
const QUEUE: usize = 4;

pub const ZIP: &str = "application/zip";

/// A package being written: its file name, and the archive's bytes as they come.
pub struct Package {
    pub file_name: String,
    pub body: mpsc::Receiver<std::io::Result<Bytes>>,
}

/// One piece of evidence in the package.
struct Item {
    view: EvidenceView,
    key: object_store::path::Path,
    path: String,
    /// The indicators whose figures rest on it.
    indicators: BTreeSet<String>,
}

#[derive(Serialize)]
struct ManifestFile {
    path: String,
    sha256: String,
    size_bytes: u64,
}

#[derive(Serialize)]
struct Manifest {
    files: Vec<ManifestFile>,
}

/// Starts the package of `org_id`'s `year`: the assessment and the evidence list are read (and
/// refused) before the first byte is sent; the archive is then written on a blocking thread.
pub async fn package(ctx: &AppCtx, actor: &Actor, org_id: Uuid, year: i32) -> AppResult<Package> {
    let assessment = assessments::get(ctx, actor, org_id, year).await?;
    let mut indicators_of: BTreeMap<Uuid, BTreeSet<String>> = BTreeMap::new();
    for indicator in &assessment.indicators {
        for id in &indicator.evidence_ids {
            indicators_of
                .entry(*id)
                .or_default()
                .insert(indicator.code.clone());
        }
    }
    let ids: Vec<Uuid> = indicators_of.keys().copied().collect();
    let mut items = Vec::new();
    for chunk in ids.chunks(500) {
        let rows = kernel::visible::<EvidenceFamily>(ctx.db.get_database_backend(), actor.scope())
            .filter(evidence::Column::Id.is_in(chunk.to_vec()))
            .into_model::<<EvidenceFamily as Record>::Row>()
            .all(&ctx.db)
            .await?;
        for row in rows {
            let key = object_store::path::Path::from(row.evidence.storage_key.clone());
            let view = EvidenceFamily::view(actor, row)?;
            let path = format!(
                "evidence/{}/{}-{}",
                view.category.as_str(),
                view.id,
                view.file_name
            );
            let indicators = indicators_of.remove(&view.id).unwrap_or_default();
            items.push(Item {
                view,
                key,
                path,
                indicators,
            });
        }
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));

    let (tx, rx) = mpsc::channel(QUEUE);
    let storage = ctx.storage.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let sink = ChannelWriter::new(tx.clone(), CHUNK);
        if let Err(e) = write(sink, &handle, &storage, &assessment, &items) {
            tracing::warn!(error = %e, %org_id, year, "writing an assessment package failed");
            // The client sees the download break, not a complete-looking archive.
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    Ok(Package {
        file_name: format!("assessment-{org_id}-{year}.zip"),
        body: rx,
    })
}

fn options(size: u64, method: CompressionMethod) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(method)
        .large_file(size >= u64::from(u32::MAX))
}

/// Writes a file made in memory (album, workbook, JSON) and notes it for the manifest.
fn put(
    zip: &mut zip::ZipWriter<zip::write::StreamWriter<ChannelWriter>>,
    manifest: &mut Vec<ManifestFile>,
    path: String,
    bytes: &[u8],
    method: CompressionMethod,
) -> anyhow::Result<()> {
    let size = bytes.len() as u64;
    zip.start_file(path.as_str(), options(size, method))?;
    zip.write_all(bytes)?;
    manifest.push(ManifestFile {
        sha256: hex(&Sha256::digest(bytes)),
        path,
        size_bytes: size,
    });
    Ok(())
}

/// Reads a whole stored file (a photo for an album).
fn read_all(
    handle: &tokio::runtime::Handle,
    storage: &Storage,
    key: &object_store::path::Path,
) -> anyhow::Result<Vec<u8>> {
    handle.block_on(async {
        let mut content = storage.read(key, None).await?;
        let mut out = Vec::new();
        while let Some(chunk) = content.stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    })
}

fn write(
    sink: ChannelWriter,
    handle: &tokio::runtime::Handle,
    storage: &Storage,
    assessment: &Assessment,
    items: &[Item],
) -> anyhow::Result<()> {
    let mut zip = zip::ZipWriter::new_stream(sink);
    let mut manifest = Vec::new();

    // The evidence, streamed from storage, each checked against its recorded SHA-256.
    for item in items {
        let size = u64::try_from(item.view.size_bytes).unwrap_or_default();
        zip.start_file(item.path.as_str(), options(size, CompressionMethod::Stored))?;
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        // Each chunk is awaited on the runtime, then written here: the writer waits for the
        // client, which must not happen inside the runtime.
        let mut content = handle.block_on(storage.read(&item.key, None))?;
        while let Some(chunk) = handle.block_on(content.stream.next()) {
            let chunk = chunk?;
            hasher.update(&chunk);
            written += chunk.len() as u64;
            zip.write_all(&chunk)?;
        }
        let sha256 = hex(&hasher.finalize());
        anyhow::ensure!(
            sha256 == item.view.sha256 && written == size,
            "evidence {} in storage is not the file uploaded (sha256 {sha256}, {written} bytes)",
            item.view.id
        );
        manifest.push(ManifestFile {
            path: item.path.clone(),
            sha256,
            size_bytes: written,
        });
    }

    // One album per record with photos, the photos in path order.
    let mut albums: BTreeMap<(RecordType, Uuid), Vec<&Item>> = BTreeMap::new();
    for item in items {
        if item.view.category == EvidenceCategory::Photo && item.view.size_bytes <= ALBUM_PHOTO_MAX
        {
            for link in &item.view.links {
                albums
                    .entry((link.record_type, link.record_id))
                    .or_default()
                    .push(item);
            }
        }
    }
    let mut album_of: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for ((record_type, record_id), photos) in &albums {
        let name = format!("{}-{record_id}", record_type.as_str());
        let bytes = photos
            .iter()
            .map(|p| read_all(handle, storage, &p.key))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let pdf = crate::album::album(&name, &bytes)?;
        let path = format!("albums/{name}.pdf");
        for p in photos {
            album_of.entry(p.view.id).or_default().push(path.clone());
        }
        put(
            &mut zip,
            &mut manifest,
            path,
            &pdf,
            CompressionMethod::Stored,
        )?;
    }

    let index = index(items, &album_of)?;
    put(
        &mut zip,
        &mut manifest,
        "index.xlsx".into(),
        &index,
        CompressionMethod::Stored,
    )?;
    let json = serde_jcs::to_vec(assessment)?;
    put(
        &mut zip,
        &mut manifest,
        "assessment.json".into(),
        &json,
        CompressionMethod::Deflated,
    )?;
    let manifest = serde_json::to_vec_pretty(&Manifest { files: manifest })?;
    zip.start_file("manifest.json", options(0, CompressionMethod::Deflated))?;
    zip.write_all(&manifest)?;
    let mut sink = zip.finish()?.into_inner();
    sink.flush()?;
    Ok(())
}

/// The index workbook: every piece of evidence, where it is, what it proves.
fn index(items: &[Item], album_of: &BTreeMap<Uuid, Vec<String>>) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("印证资料目录")?;
    let header = Format::new().set_bold();
    let headers = [
        "文件路径",
        "类别",
        "标题",
        "文件名",
        "大小（字节）",
        "SHA-256",
        "证明的记录",
        "相关指标",
        "所在相册",
        "印证资料ID",
    ];
    for (col, title) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, col, title, &header)?;
        sheet.set_column_width(col, 20)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (row, item) in (1u32..).zip(items) {
        let v = &item.view;
        let records: Vec<String> = v
            .links
            .iter()
            .map(|l| format!("{}:{}", l.record_type.as_str(), l.record_id))
            .collect();
        let indicators: Vec<&str> = item.indicators.iter().map(String::as_str).collect();
        let albums = album_of.get(&v.id).cloned().unwrap_or_default();
        sheet.write_string(row, 0, &item.path)?;
        sheet.write_string(row, 1, v.category.as_str())?;
        sheet.write_string(row, 2, &v.title)?;
        sheet.write_string(row, 3, &v.file_name)?;
        sheet.write_number(row, 4, v.size_bytes as f64)?;
        sheet.write_string(row, 5, &v.sha256)?;
        sheet.write_string(row, 6, records.join("\n"))?;
        sheet.write_string(row, 7, indicators.join("\n"))?;
        sheet.write_string(row, 8, albums.join("\n"))?;
        sheet.write_string(row, 9, v.id.to_string())?;
    }
    Ok(workbook.save_to_buffer()?)
}
