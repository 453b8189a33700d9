//! The one table of who may do what (DESIGN §4), as plain functions of facts the service layer
//! has already loaded. Every read and write in `service/` goes through here, for REST and GraphQL
//! alike; `tests/api/authz_matrix.rs` walks it as role × organization × record.

use std::{collections::HashSet, sync::Arc};

use uuid::Uuid;

use crate::{
    domain::{ActorKind, Region, Role},
    error::{AppError, AppResult},
};

/// The caller of one request, as its account stands now: identity, role, organization and the
/// read scope resolved from the directory when the request came in. Plain data: every service
/// function receives it and none of them loads anything more to know who is asking.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: Uuid,
    pub kind: ActorKind,
    pub role: Role,
    pub org_id: Option<Uuid>,
    pub request_id: Option<String>,
    scope: Arc<Scope>,
}

impl Actor {
    pub fn new(
        id: Uuid,
        kind: ActorKind,
        role: Role,
        org_id: Option<Uuid>,
        request_id: Option<String>,
        scope: Arc<Scope>,
    ) -> Self {
        Self {
            id,
            kind,
            role,
            org_id,
            request_id,
            scope,
        }
    }

    /// The operator running a command-line task, acting as admin.
    pub fn system(task: &str) -> Self {
        Self::new(
            Uuid::nil(),
            ActorKind::System,
            Role::Admin,
            None,
            Some(task.to_string()),
            Arc::new(Scope::everything()),
        )
    }

    /// What this actor may read.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

/// The kinds of record the rules distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Organization,
    Pairing,
    User,
    ServiceAccount,
    AuditLog,
    Contact,
    WorkingGroup,
    Plan,
    PlanTask,
    Project,
    FundTransaction,
    Exchange,
    Agreement,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organization => "organization",
            Self::Pairing => "pairing",
            Self::User => "user",
            Self::ServiceAccount => "service_account",
            Self::AuditLog => "audit_log",
            Self::Contact => "contact",
            Self::WorkingGroup => "working_group",
            Self::Plan => "plan",
            Self::PlanTask => "plan_task",
            Self::Project => "project",
            Self::FundTransaction => "fund_transaction",
            Self::Exchange => "exchange",
            Self::Agreement => "agreement",
        }
    }
}

/// What an actor can see, resolved once per request from the organization tree.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// admin, coordinator and auditor read everything.
    pub all: bool,
    /// The actor's organization and everything under it.
    pub subtree: HashSet<Uuid>,
    /// Organizations the actor may read: its subtree, its ancestors, its partners in pairings.
    pub orgs: HashSet<Uuid>,
    /// Pairings with either side in the actor's subtree.
    pub pairings: HashSet<Uuid>,
}

impl Scope {
    pub fn everything() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    pub fn can_read_org(&self, id: Uuid) -> bool {
        self.all || self.orgs.contains(&id)
    }

    pub fn can_read_pairing(&self, id: Uuid) -> bool {
        self.all || self.pairings.contains(&id)
    }

    /// A ledger record: readable when its owner is in the actor's subtree, or when it belongs to
    /// one of the actor's pairings (the partner's records on those pairings).
    pub fn can_read_record(&self, owner_org_id: Uuid, pairing_id: Option<Uuid>) -> bool {
        self.all
            || self.subtree.contains(&owner_org_id)
            || pairing_id.is_some_and(|p| self.pairings.contains(&p))
    }
}

/// Roles that read every record.
pub fn reads_everything(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Coordinator | Role::Auditor)
}

/// The owner of a record being written: its org and that org's region.
#[derive(Clone, Copy, Debug)]
pub struct Owner {
    pub org_id: Uuid,
    pub region: Region,
}

/// May `actor` create, change or delete a record of `kind` owned by `owner`?
pub fn can_write(actor: &Actor, scope: &Scope, kind: RecordKind, owner: Owner) -> bool {
    use RecordKind::*;
    match (actor.role, kind) {
        // Projects are the western side's needs; the east pledges and transfers for them.
        (_, Project) if owner.region == Region::East => false,
        (Role::Admin, _) => true,
        (Role::Auditor, _) => false,
        // Structure and accounts are the admin's.
        (_, Organization | User | ServiceAccount | AuditLog) => false,
        // The province office keeps the pairing register.
        (Role::Coordinator, Pairing) => owner.region == Region::West,
        (Role::Editor | Role::Partner, Pairing) => false,
        // The province office runs plans and working groups everywhere, and may correct any
        // western record.
        (Role::Coordinator, Plan | PlanTask | WorkingGroup) => true,
        (Role::Coordinator, _) => owner.region == Region::West,
        (Role::Editor, _) => scope.subtree.contains(&owner.org_id),
        (Role::Partner, _) => actor.org_id == Some(owner.org_id),
    }
}

/// Who sees a contact's phone and email in full: the admin, the province office, and callers of
/// the contact's own organization (not every organization above it). Everyone else — partners,
/// neighbouring prefectures, the assessment team — sees them masked (DESIGN §6).
pub fn sees_personal_data(actor: &Actor, org_id: Uuid) -> bool {
    matches!(actor.role, Role::Admin | Role::Coordinator) || actor.org_id == Some(org_id)
}

/// Verifying a project (its acceptance, 验收) is the province office's.
pub fn can_verify(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::Coordinator)
}

pub fn ensure_write(actor: &Actor, scope: &Scope, kind: RecordKind, owner: Owner) -> AppResult<()> {
    if can_write(actor, scope, kind, owner) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Collections only some roles may list at all (the audit log, accounts).
pub fn ensure_role(actor: &Actor, allowed: &[Role]) -> AppResult<()> {
    if allowed.contains(&actor.role) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
