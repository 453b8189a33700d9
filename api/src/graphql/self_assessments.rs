//! Self-assessments: the same service functions as REST's `/self-assessments`.

use async_graphql::{Context, Object, connection::Connection};
use uuid::Uuid;

use super::{connection, gql, page_args, parts};
use crate::{
    error::AppError,
    service::{
        idempotency,
        self_assessments::{
            self, NewSelfAssessment, OpinionInput, SelfAssessmentPatch,
            SelfAssessmentQuery as SelfAssessmentFilter, SelfAssessmentView,
        },
    },
};

/// Drafting, editing and sending compute the assessment: they count like a ledger.
const COMPUTE_COST: usize = 5_000;

#[derive(Default)]
pub struct SelfAssessmentQuery;

#[Object]
impl SelfAssessmentQuery {
    /// One self-assessment; null when it does not exist or the caller may not read it.
    async fn self_assessment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<SelfAssessmentView>> {
        let (app, actor) = parts(ctx)?;
        match self_assessments::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Self-assessments the caller may read, in id order (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn self_assessments(
        &self,
        ctx: &Context<'_>,
        filter: Option<SelfAssessmentFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SelfAssessmentView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = self_assessments::list(app, actor, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |s| s.id))
    }
}

#[derive(Default)]
pub struct SelfAssessmentMutation;

#[Object]
impl SelfAssessmentMutation {
    /// Drafts a self-assessment with its computed indicators. `idempotencyKey` works as REST's
    /// `Idempotency-Key` header.
    #[graphql(complexity = "COMPUTE_COST + child_complexity")]
    async fn create_self_assessment(
        &self,
        ctx: &Context<'_>,
        input: NewSelfAssessment,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<SelfAssessmentView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_self_assessment",
            &payload,
            || self_assessments::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// Changes a draft's account and computes its indicators again. `expectedVersion` works
    /// as REST's `If-Match`.
    #[graphql(complexity = "COMPUTE_COST + child_complexity")]
    async fn update_self_assessment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: SelfAssessmentPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<SelfAssessmentView> {
        let (app, actor) = parts(ctx)?;
        self_assessments::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    /// Sends the draft to the partner, its indicators frozen.
    #[graphql(complexity = "COMPUTE_COST + child_complexity")]
    async fn send_self_assessment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<SelfAssessmentView> {
        let (app, actor) = parts(ctx)?;
        self_assessments::send(app, actor, id, expected_version)
            .await
            .map_err(gql)
    }

    /// The partner's opinion on a self-assessment sent to it.
    async fn give_self_assessment_opinion(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: OpinionInput,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<SelfAssessmentView> {
        let (app, actor) = parts(ctx)?;
        self_assessments::give_opinion(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    /// Submits a self-assessment the partner has given its opinion on.
    async fn submit_self_assessment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<SelfAssessmentView> {
        let (app, actor) = parts(ctx)?;
        self_assessments::submit(app, actor, id, expected_version)
            .await
            .map_err(gql)
    }
}
