//! Plan tasks: reads (with progress computed for a whole page at once) and writes, each checked
//! against its plan.

use super::{
    progress::{task_views, task_views_with_years},
    *,
};

/// A task and its whole plan, for the writes that check a task against its plan.
pub(super) async fn task_with_plan(
    db: &impl ConnectionTrait,
    scope: &Scope,
    id: Uuid,
) -> AppResult<(plan_task::Model, plan::Model)> {
    let (task, _) = readable_task(db, scope, id).await?;
    let plan = kernel::find::<Plans>(db, scope, task.plan_id).await?;
    Ok((task, plan))
}

/// A task with what it needs of its plan, read in the same statement.
#[derive(Clone, Debug, FromQueryResult)]
pub(super) struct TaskRow {
    #[sea_orm(nested)]
    task: plan_task::Model,
    /// Null when the plan is deleted.
    plan_year: Option<i32>,
    plan_org_id: Option<Uuid>,
}

/// A live task of a live plan, readable with its plan: one statement.
pub(super) async fn readable_task(
    db: &impl ConnectionTrait,
    scope: &Scope,
    id: Uuid,
) -> AppResult<(plan_task::Model, i32)> {
    let plan_column = |col: &str| {
        Expr::cust(format!(
            "(SELECT p.{col} FROM plans p WHERE p.id = plan_tasks.plan_id AND p.deleted_at IS NULL)"
        ))
    };
    let row = plan_task::Entity::find_by_id(id)
        .filter(plan_task::Column::DeletedAt.is_null())
        .column_as(plan_column("year"), "plan_year")
        .column_as(plan_column("org_id"), "plan_org_id")
        .into_model::<TaskRow>()
        .one(db)
        .await?;
    match row {
        Some(TaskRow {
            task,
            plan_year: Some(year),
            plan_org_id: Some(org),
        }) if scope.can_read_org(org) => Ok((task, year)),
        _ => Err(AppError::NotFound),
    }
}

/// Ids of the live plans `scope` may read, optionally of one year: the SQL form of
/// [`Plans`]' read rule for task lists.
pub(super) fn readable_plan_ids(scope: &Scope, year: Option<i32>) -> SelectStatement {
    let mut q = Query::select();
    q.column((plan::Entity, plan::Column::Id))
        .from(plan::Entity)
        .and_where(plan::Column::DeletedAt.is_null());
    if !scope.all {
        q.and_where(plan::Column::OrgId.is_in(scope.orgs.iter().copied()));
    }
    if let Some(y) = year {
        q.and_where(plan::Column::Year.eq(y));
    }
    q.to_owned()
}

pub(super) fn check_quarter(f: &mut Fields, quarter: Option<i32>) {
    if quarter.is_some_and(|q| !super::QUARTERS.contains(&q)) {
        f.push("quarter", "must be 1, 2, 3 or 4");
    }
}

/// The live tasks of each of `plans` (id, year), in quarter, due date, id order.
pub(super) async fn tasks_of_plans(
    db: &impl ConnectionTrait,
    dir: &Directory,
    scope: &Scope,
    plans: &[(Uuid, i32)],
) -> AppResult<HashMap<Uuid, Vec<PlanTaskView>>> {
    if plans.is_empty() {
        return Ok(HashMap::new());
    }
    let years: HashMap<Uuid, i32> = plans.iter().copied().collect();
    let rows = plan_task::Entity::find()
        .filter(plan_task::Column::PlanId.is_in(years.keys().copied()))
        .filter(plan_task::Column::DeletedAt.is_null())
        .order_by_asc(plan_task::Column::Quarter)
        .order_by_asc(plan_task::Column::DueOn)
        .order_by_asc(plan_task::Column::Id)
        .all(db)
        .await?;
    let with_years = rows
        .into_iter()
        .map(|t| {
            let year = years.get(&t.plan_id).copied().unwrap_or(t.due_on.year());
            (t, year)
        })
        .collect();
    let mut out: HashMap<Uuid, Vec<PlanTaskView>> = HashMap::new();
    for view in task_views(db, dir, scope, with_years).await? {
        out.entry(view.plan_id).or_default().push(view);
    }
    Ok(out)
}

pub async fn get_task(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<PlanTaskView> {
    let (task, year) = readable_task(&ctx.db, actor.scope(), id).await?;
    let dir = ctx.directory.get(&ctx.db).await?;
    one_view(&ctx.db, &dir, actor.scope(), task, year).await
}

pub(super) async fn one_view(
    db: &impl ConnectionTrait,
    dir: &Directory,
    scope: &Scope,
    task: plan_task::Model,
    year: i32,
) -> AppResult<PlanTaskView> {
    task_views(db, dir, scope, vec![(task, year)])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("a task view went missing"))
}

pub async fn list_tasks(
    ctx: &AppCtx,
    actor: &Actor,
    q: PlanTaskQuery,
) -> AppResult<Page<PlanTaskView>> {
    let mut f = Fields::new();
    let page = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    check_year(&mut f, "year", q.year);
    check_quarter(&mut f, q.quarter);
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let page = checked(page)?;
    let scope = actor.scope();
    let dir = ctx.directory.get(&ctx.db).await?;

    let mut select = plan_task::Entity::find()
        .filter(plan_task::Column::DeletedAt.is_null())
        .filter(plan_task::Column::PlanId.in_subquery(readable_plan_ids(scope, q.year)));
    if let Some(p) = q.plan_id {
        select = select.filter(plan_task::Column::PlanId.eq(p));
    }
    if let Some(org) = q.org_id {
        let targeted = Query::select()
            .column(plan_task_org::Column::TaskId)
            .from(plan_task_org::Entity)
            .and_where(plan_task_org::Column::OrgId.eq(org))
            .to_owned();
        select = select.filter(
            sea_orm::Condition::any()
                .add(plan_task::Column::ResponsibleOrgId.eq(org))
                .add(plan_task::Column::Id.in_subquery(targeted)),
        );
    }
    if let Some(mandatory) = q.mandatory {
        select = select.filter(plan_task::Column::Mandatory.eq(mandatory));
    }
    if let Some(quarter) = q.quarter {
        select = select.filter(plan_task::Column::Quarter.eq(quarter));
    }
    if let Some(e) = q.external_id {
        select = select.filter(plan_task::Column::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(plan_task::Column::UpdatedAt.gte(since));
    }
    let Some(wanted) = q.status else {
        let rows = records::fetch_page(&ctx.db, select, plan_task::Column::Id, page).await?;
        let views = task_views_with_years(&ctx.db, &dir, actor.scope(), rows).await?;
        return Ok(Page::from_rows(views, page.limit.get(), |v| v.id));
    };

    // The status is computed, so it cannot be a WHERE clause. The due date narrows it where it
    // can (only a task past its due date is overdue; only one not yet due is pending); the rest
    // is computed chunk by chunk until the page is full.
    let today = today_in_china();
    match wanted {
        PlanTaskStatus::Overdue => {
            select = select
                .filter(plan_task::Column::DueOn.lt(today))
                .filter(plan_task::Column::TargetCount.gt(0))
        }
        PlanTaskStatus::Pending => {
            select = select
                .filter(plan_task::Column::DueOn.gte(today))
                .filter(plan_task::Column::TargetCount.gt(0))
        }
        PlanTaskStatus::NotTracked => select = select.filter(plan_task::Column::TargetCount.eq(0)),
        PlanTaskStatus::Done => select = select.filter(plan_task::Column::TargetCount.gt(0)),
    }
    let mut found = Vec::new();
    let mut after = page.cursor;
    loop {
        let args = PageArgs {
            limit: crate::domain::Limit::parse(Some(STATUS_CHUNK as i64 - 1))
                .map_err(AppError::internal)?,
            cursor: after,
        };
        let rows =
            records::fetch_page(&ctx.db, select.clone(), plan_task::Column::Id, args).await?;
        let exhausted = (rows.len() as u64) < STATUS_CHUNK;
        after = rows.last().map(|r| Cursor::after(r.id));
        found.extend(
            task_views_with_years(&ctx.db, &dir, actor.scope(), rows)
                .await?
                .into_iter()
                .filter(|v| v.status == wanted),
        );
        if exhausted || found.len() as u64 > page.limit.get() {
            break;
        }
    }
    Ok(Page::from_rows(found, page.limit.get(), |v| v.id))
}

/// Batch read for GraphQL loaders: the tasks of each readable plan among `plan_ids`, progress
/// computed for all of them together.
pub async fn tasks_of_many(
    ctx: &AppCtx,
    actor: &Actor,
    plan_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<PlanTaskView>>> {
    let plans: Vec<(Uuid, i32)> = get_many(ctx, actor, plan_ids)
        .await?
        .into_values()
        .map(|p| (p.id, p.year))
        .collect();
    let dir = ctx.directory.get(&ctx.db).await?;
    tasks_of_plans(&ctx.db, &dir, actor.scope(), &plans).await
}

/// A task's fields after merging input with what is stored, before validation.
pub(super) struct TaskDraft {
    quarter: i32,
    title: Option<String>,
    due_on: NaiveDate,
    responsible_org_id: Uuid,
    target_count: i32,
    counts_record_type: Option<CountedRecord>,
    counts_kind: Option<String>,
    counts_direction: Option<ExchangeDirection>,
    counts_leaders: bool,
    counts_period: CountsPeriod,
    mandatory: bool,
    target_org_ids: Vec<Uuid>,
}

impl TaskDraft {
    /// The stored row's fields set from the draft (the title once it is checked).
    fn apply(&self, model: &mut plan_task::ActiveModel) -> AppResult<()> {
        model.quarter = Set(self.quarter);
        model.title = Set(checked(self.title.clone())?);
        model.due_on = Set(self.due_on);
        model.responsible_org_id = Set(self.responsible_org_id);
        model.target_count = Set(self.target_count);
        model.counts_record_type = Set(self.counts_record_type.map(|t| t.as_str().to_string()));
        model.counts_kind = Set(self.counts_kind.clone());
        model.counts_direction = Set(self.counts_direction.map(|d| d.as_str().to_string()));
        model.counts_leaders = Set(self.counts_leaders);
        model.counts_period = Set(self.counts_period.as_str().to_string());
        model.mandatory = Set(self.mandatory);
        Ok(())
    }
}

/// The last day a task of a plan for `year` may be due: the end of the next year's first
/// quarter, since the fourth quarter's ledger is due in January.
pub(super) fn latest_due(year: i32) -> Option<NaiveDate> {
    quarter_end(year + 1, 1)
}

/// Replaces the target organizations of `task` with `orgs`.
pub(super) async fn save_targets(
    tx: &impl ConnectionTrait,
    task: Uuid,
    orgs: &[Uuid],
) -> AppResult<()> {
    plan_task_org::Entity::delete_many()
        .filter(plan_task_org::Column::TaskId.eq(task))
        .exec(tx)
        .await?;
    if !orgs.is_empty() {
        plan_task_org::Entity::insert_many(orgs.iter().map(|org| plan_task_org::ActiveModel {
            task_id: Set(task),
            org_id: Set(*org),
        }))
        .exec_without_returning(tx)
        .await?;
    }
    Ok(())
}

/// Checks a task against its plan: quarter, due date in the plan's year (or up to the end of
/// the next year's first quarter), the responsible and target organizations in the plan's
/// organization's subtree, and a target that something can count.
/// `unchanged_targets`: the target organizations stored before an update, which are not
/// checked again (one deleted since must not block every later change of the task).
pub(super) fn check_task(
    dir: &Directory,
    f: &mut Fields,
    plan: &plan::Model,
    d: &TaskDraft,
    unchanged_targets: &[Uuid],
) {
    check_quarter(f, Some(d.quarter));
    let quarter_start = match d.quarter {
        2..=4 => quarter_end(plan.year, d.quarter - 1).and_then(|e| e.succ_opt()),
        _ => NaiveDate::from_ymd_opt(plan.year, 1, 1),
    };
    if quarter_start.is_some_and(|s| d.due_on < s) && QUARTERS.contains(&d.quarter) {
        f.push(
            "due_on",
            "must not fall before the start of the task's quarter",
        );
    }
    if d.due_on.year() < plan.year || latest_due(plan.year).is_some_and(|l| d.due_on > l) {
        f.push(
            "due_on",
            format!(
                "must be in the plan's year {} or the first quarter after it",
                plan.year
            ),
        );
    }
    let under_plan = dir.subtree(plan.org_id);
    if !under_plan.contains(&d.responsible_org_id) {
        f.push(
            "responsible_org_id",
            "must be the plan's organization or one under it",
        );
    }
    if d.target_org_ids.len() > TARGET_ORGS_MAX {
        f.push(
            "target_org_ids",
            format!("must hold at most {TARGET_ORGS_MAX} organizations"),
        );
    }
    let distinct: HashSet<&Uuid> = d.target_org_ids.iter().collect();
    if distinct.len() != d.target_org_ids.len() {
        f.push("target_org_ids", "must not name an organization twice");
    }
    if let Some(bad) = d
        .target_org_ids
        .iter()
        .find(|o| !under_plan.contains(o) && !unchanged_targets.contains(o))
    {
        f.push(
            "target_org_ids",
            format!("{bad} is not the plan's organization or one under it"),
        );
    }
    if !d.target_org_ids.is_empty() && d.target_count == 0 {
        f.push(
            "target_org_ids",
            "needs a target above 0 for each organization to meet",
        );
    }
    let exchange = d.counts_record_type == Some(CountedRecord::Exchange);
    if d.counts_direction.is_some() && !exchange {
        f.push("counts_direction", "only exchanges have a direction");
    }
    if d.counts_leaders && !exchange {
        f.push("counts_leaders", "only exchanges have leaders present");
    }
    if d.target_count < 0 {
        f.push("target_count", "must be 0 or more");
    } else if d.target_count > 0 && d.counts_record_type.is_none() {
        f.push(
            "counts_record_type",
            "is needed for a target above 0: name the record type that counts",
        );
    }
    match (d.counts_record_type, d.counts_kind.as_deref()) {
        (None, Some(_)) => f.push("counts_kind", "needs counts_record_type"),
        (Some(t), Some(_)) if t.kinds().is_empty() => f.push(
            "counts_kind",
            format!("{} records have no kind: leave it out", t.as_str()),
        ),
        (Some(t), Some(k)) if !t.kinds().contains(&k) => f.push(
            "counts_kind",
            format!("must be one of {} for {}", t.kinds().join(", "), t.as_str()),
        ),
        (Some(t), None) if t.needs_kind() => f.push(
            "counts_kind",
            format!("must be one of {} for {}", t.kinds().join(", "), t.as_str()),
        ),
        _ => {}
    }
}

pub async fn create_task(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewPlanTask,
) -> AppResult<PlanTaskView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let plan = match live_plan(&tx, input.plan_id).await? {
        Some(p) if scope.can_read_org(p.org_id) => Some(p),
        _ => None,
    };
    // Without a plan, the caller's own organization stands in so the role answers first.
    let owner = match &plan {
        Some(p) => kernel::owner(&dir, &tx, p.owner_org_id).await?,
        None => Owner {
            org_id: actor.org_id.unwrap_or_default(),
            region: Region::West,
        },
    };
    ensure_write(actor, scope, RecordKind::PlanTask, owner)?;
    let Some(plan) = plan else {
        return Err(AppError::field("plan_id", "no such plan"));
    };
    let mut f = Fields::new();
    let draft = TaskDraft {
        quarter: input.quarter,
        title: f
            .check("title", Text::parse(&input.title, TASK_TITLE_MAX))
            .map(Text::into_inner),
        due_on: match input.due_on {
            Some(d) => d,
            None => quarter_end(plan.year, input.quarter.clamp(1, 4))
                .ok_or_else(|| AppError::internal("a quarter without an end"))?,
        },
        responsible_org_id: input.responsible_org_id.unwrap_or(plan.org_id),
        target_count: input.target_count.unwrap_or(0),
        counts_record_type: input.counts_record_type,
        counts_kind: input.counts_kind.map(|k| k.trim().to_string()),
        counts_direction: input.counts_direction,
        counts_leaders: input.counts_leaders.unwrap_or(false),
        counts_period: input.counts_period.unwrap_or(CountsPeriod::Year),
        mandatory: input.mandatory.unwrap_or(true),
        target_org_ids: input.target_org_ids.unwrap_or_default(),
    };
    check_task(&dir, &mut f, &plan, &draft, &[]);
    let external = records::external_id(&mut f, input.external_id.as_deref());
    f.finish()?;

    let id = Uuid::now_v7();
    let at = now();
    let mut model = plan_task::ActiveModel {
        id: Set(id),
        plan_id: Set(plan.id),
        version: Set(1),
        owner_org_id: Set(plan.org_id),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
        ..Default::default()
    };
    draft.apply(&mut model)?;
    let inserted = plan_task::Entity::insert(model)
        .exec_with_returning(&tx)
        .await?;
    save_targets(&tx, id, &draft.target_org_ids).await?;
    feed(&tx, &inserted, None, true).await?;
    let view = one_view(&tx, &dir, actor.scope(), inserted, plan.year).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Create,
        RecordKind::PlanTask,
        id,
        None,
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn update_task(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: PlanTaskPatch,
) -> AppResult<PlanTaskView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let (current, plan) = task_with_plan(&tx, scope, id).await?;
    ensure_write(
        actor,
        scope,
        RecordKind::PlanTask,
        kernel::owner(&dir, &tx, current.owner_org_id).await?,
    )?;
    check_version(expected_version, current.version)?;
    let before = one_view(&tx, &dir, actor.scope(), current.clone(), plan.year).await?;

    let mut f = Fields::new();
    let counts_record_type = match patch.counts_record_type {
        MaybeUndefined::Undefined => before.counts_record_type,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(t) => Some(t),
    };
    let counts_kind = match patch.counts_kind {
        MaybeUndefined::Undefined => current.counts_kind.clone(),
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(k) => Some(k.trim().to_string()),
    };
    let draft = TaskDraft {
        quarter: patch.quarter.unwrap_or(current.quarter),
        title: match &patch.title {
            Some(t) => f
                .check("title", Text::parse(t, TASK_TITLE_MAX))
                .map(Text::into_inner),
            None => Some(current.title.clone()),
        },
        due_on: patch.due_on.unwrap_or(current.due_on),
        responsible_org_id: patch
            .responsible_org_id
            .unwrap_or(current.responsible_org_id),
        target_count: patch.target_count.unwrap_or(current.target_count),
        counts_record_type,
        counts_kind,
        counts_direction: match patch.counts_direction {
            MaybeUndefined::Undefined => before.counts_direction,
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(d) => Some(d),
        },
        counts_leaders: patch.counts_leaders.unwrap_or(current.counts_leaders),
        counts_period: patch.counts_period.unwrap_or(before.counts_period),
        mandatory: patch.mandatory.unwrap_or(current.mandatory),
        target_org_ids: patch
            .target_org_ids
            .clone()
            .unwrap_or_else(|| before.target_org_ids.clone()),
    };
    check_task(&dir, &mut f, &plan, &draft, &before.target_org_ids);
    let external = records::patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        current.external_id.clone(),
        |e| Text::parse(e, records::EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;

    let mut model: plan_task::ActiveModel = current.clone().into();
    draft.apply(&mut model)?;
    model.external_id = Set(checked(external)?);
    let after = save_task(&tx, model, id, current.version).await?;
    if patch.target_org_ids.is_some() {
        save_targets(&tx, id, &draft.target_org_ids).await?;
    }
    feed(&tx, &after, Some(&current), true).await?;
    let view = one_view(&tx, &dir, actor.scope(), after, plan.year).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Update,
        RecordKind::PlanTask,
        id,
        Some(&before),
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn delete_task(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let (current, plan) = task_with_plan(&tx, scope, id).await?;
    ensure_write(
        actor,
        scope,
        RecordKind::PlanTask,
        kernel::owner(&dir, &tx, current.owner_org_id).await?,
    )?;
    check_version(expected_version, current.version)?;
    let before = one_view(&tx, &dir, actor.scope(), current.clone(), plan.year).await?;
    let mut model: plan_task::ActiveModel = current.clone().into();
    model.deleted_at = Set(Some(now()));
    let deleted = save_task(&tx, model, id, current.version).await?;
    feed(&tx, &deleted, Some(&current), false).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Delete,
        RecordKind::PlanTask,
        id,
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Who reads a task, as the change feed keeps it: those who read its plan's organization (which
/// owns the task).
fn task_keys(task: &plan_task::Model) -> changes::Keys {
    changes::Keys {
        rule: changes::Rule::Org,
        owner: task.owner_org_id,
        key: Some(task.owner_org_id),
    }
}

/// The change that left `task` as it is, for the feed: `before` as it was (none for a create),
/// `live` false for a delete.
pub(super) fn task_change(
    task: &plan_task::Model,
    before: Option<&plan_task::Model>,
    live: bool,
) -> changes::Entry {
    changes::Entry {
        kind: RecordKind::PlanTask,
        record_id: task.id,
        version: task.version,
        before: before.map(task_keys),
        after: live.then(|| task_keys(task)),
    }
}

/// Appends the change that left `task` as it is to the feed: the transaction's last write.
async fn feed(
    tx: &impl ConnectionTrait,
    task: &plan_task::Model,
    before: Option<&plan_task::Model>,
    live: bool,
) -> AppResult<()> {
    changes::append(tx, &[task_change(task, before, live)]).await
}

pub(super) async fn save_task(
    tx: &impl ConnectionTrait,
    model: plan_task::ActiveModel,
    id: Uuid,
    version: i32,
) -> AppResult<plan_task::Model> {
    super::super::save_versioned::<plan_task::Entity>(
        tx,
        model,
        id,
        version,
        [
            plan_task::Column::Id,
            plan_task::Column::Version,
            plan_task::Column::UpdatedAt,
        ],
    )
    .await
}
