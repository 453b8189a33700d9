//! Evidence: `evidence`, `evidenceList`, `updateEvidence`, `deleteEvidence`, `syncEvidence`, and
//! `Evidence.contentUrl`. Files are uploaded and downloaded over REST (`POST /api/v1/evidence`,
//! `GET …/content`), which stream them; GraphQL reads, changes and deletes the records.

use async_graphql::{ComplexObject, Context, Object, connection::Connection};
use uuid::Uuid;

use super::{connection, gql, page_args, parts};
use crate::{
    error::AppError,
    service::{
        evidence::{
            self, EvidenceMetadata, EvidencePatch, EvidenceQuery as EvidenceFilter, EvidenceView,
        },
        sync::SyncResult,
    },
};

#[derive(Default)]
pub struct EvidenceQuery;

#[Object]
impl EvidenceQuery {
    /// One piece of evidence; null when it does not exist or the caller may not read it.
    async fn evidence(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<EvidenceView>> {
        let (app, actor) = parts(ctx)?;
        match evidence::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// The evidence the caller may read (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn evidence_list(
        &self,
        ctx: &Context<'_>,
        filter: Option<EvidenceFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, EvidenceView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = evidence::list(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |e| e.id))
    }
}

#[derive(Default)]
pub struct EvidenceMutation;

#[Object]
impl EvidenceMutation {
    /// `expectedVersion` works as REST's `If-Match`.
    async fn update_evidence(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: EvidencePatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<EvidenceView> {
        let (app, actor) = parts(ctx)?;
        evidence::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    /// Deletes the record and its file. `expectedVersion` works as REST's `If-Match`.
    async fn delete_evidence(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        evidence::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Batch sync, as REST's `POST /sync/evidence`: the metadata of evidence the caller's
    /// organization already uploaded, each item matched by its `externalId` and `updated` or
    /// left `unchanged`, all in one transaction or none (the error's `errors` extension names
    /// each bad item's field as REST does, `items[3].links[0].record_id`, with its `externalId`).
    async fn sync_evidence(
        &self,
        ctx: &Context<'_>,
        items: Vec<EvidenceMetadata>,
    ) -> async_graphql::Result<Vec<SyncResult>> {
        let (app, actor) = parts(ctx)?;
        Ok(evidence::sync(app, actor, items)
            .await
            .map_err(gql)?
            .results)
    }
}

#[ComplexObject]
impl EvidenceView {
    /// Where the file is served (REST, with `Range`), relative to the service's address.
    async fn content_url(&self) -> String {
        format!("/api/v1/evidence/{}/content", self.id)
    }
}
