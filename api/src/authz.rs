//! The one table of who may do what (DESIGN §4), as plain functions of facts the service layer
//! has already loaded. Every read and write in `service/` goes through here, for REST and GraphQL
//! alike; `tests/api/authz_matrix.rs` walks it as role × organization × record.

use std::{collections::HashSet, sync::Arc};

use uuid::Uuid;

use crate::{
    domain::{ActorKind, Region, Role},
    error::{AppError, Result},
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

    /// The operator recording for an organization, as admin: what it records is that
    /// organization's own (the demo's western federations' trips east, for one).
    pub fn system_for(task: &str, org_id: Uuid) -> Self {
        Self {
            org_id: Some(org_id),
            ..Self::system(task)
        }
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
    CalendarYear,
    Evidence,
    LedgerSubmission,
    SelfAssessment,
    Reconciliation,
    Statement,
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
            Self::CalendarYear => "calendar_year",
            Self::Evidence => "evidence",
            Self::LedgerSubmission => "ledger_submission",
            Self::SelfAssessment => "self_assessment",
            Self::Reconciliation => "reconciliation",
            Self::Statement => "statement",
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

/// Reviewing a submitted ledger (accepting it, or returning it with a comment) is the province
/// office's: the work plan has the prefectures report to the province's 推进组办公室.
pub fn can_review_ledger(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::Coordinator)
}

/// Running a reconciliation of a pairing (it reads both sides' records and stores what it
/// found): anyone who reads the pairing and writes records, on either side. The assessment
/// team reads reports but runs none.
pub fn can_reconcile(actor: &Actor, pairing: Option<Uuid>) -> bool {
    actor.role != Role::Auditor && pairing.is_some_and(|p| actor.scope().can_read_pairing(p))
}

/// Running a vertical reconciliation of a prefecture (its records against its counties' and
/// against the statements of its departments): anyone whose subtree holds the prefecture, and
/// the province office. Partners and the assessment team run none.
pub fn can_reconcile_org(actor: &Actor, org: Option<Uuid>) -> bool {
    let scope = actor.scope();
    !matches!(actor.role, Role::Auditor | Role::Partner)
        && org.is_some_and(|o| scope.all || scope.subtree.contains(&o))
}

/// Verifying a project (its acceptance, 验收) is the province office's.
pub fn can_verify(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::Coordinator)
}

pub fn ensure_write(actor: &Actor, scope: &Scope, kind: RecordKind, owner: Owner) -> Result<()> {
    if can_write(actor, scope, kind, owner) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Collections only some roles may list at all (the audit log, accounts).
pub fn ensure_role(actor: &Actor, allowed: &[Role]) -> Result<()> {
    if allowed.contains(&actor.role) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    //! The rule table as a table: every role against every kind of record, for each relation
    //! the record's owner can have to the caller's organization, reading and writing. The scopes
    //! come from the directory, as in a request.

    use super::*;
    use crate::service::directory::Directory;

    /// The organizations of the table: a western province `P` with prefectures `Z` (the
    /// editor's) and `T`, a county `R` under `Z`; an eastern province `SP` with the city `S` (the
    /// partner's, paired with `Z`) and its district `SD`, and an unrelated eastern city `G`.
    struct World {
        dir: Directory,
        p: Uuid,
        z: Uuid,
        r: Uuid,
        t: Uuid,
        sp: Uuid,
        s: Uuid,
        sd: Uuid,
        g: Uuid,
        sz: Uuid,
        gt: Uuid,
    }

    fn world() -> World {
        let [p, z, r, t, sp, s, sd, g, sz, gt] = [(); 10].map(|_| Uuid::now_v7());
        let (w, e) = (Region::West, Region::East);
        let dir = Directory::from_parts(
            &[
                (p, None, w),
                (z, Some(p), w),
                (r, Some(z), w),
                (t, Some(p), w),
                (sp, None, e),
                (s, Some(sp), e),
                (sd, Some(s), e),
                (g, None, e),
            ],
            &[(sz, s, z), (gt, g, t)],
        );
        World {
            dir,
            p,
            z,
            r,
            t,
            sp,
            s,
            sd,
            g,
            sz,
            gt,
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Relation {
        Own,
        Subtree,
        Ancestor,
        Paired,
        Unrelated,
    }
    use Relation::*;

    /// How a kind is read: as a ledger record (owner or pairing), with an organization, as the
    /// organization itself, or as a pairing.
    #[derive(Clone, Copy, Debug)]
    enum ReadAs {
        Ledger,
        WithOrg,
        Itself,
        Pairing,
    }

    const KINDS: [(RecordKind, ReadAs); 12] = [
        (RecordKind::Project, ReadAs::Ledger),
        (RecordKind::FundTransaction, ReadAs::Ledger),
        (RecordKind::Exchange, ReadAs::Ledger),
        (RecordKind::Agreement, ReadAs::Ledger),
        (RecordKind::Statement, ReadAs::Ledger),
        (RecordKind::Contact, ReadAs::WithOrg),
        (RecordKind::WorkingGroup, ReadAs::WithOrg),
        (RecordKind::Plan, ReadAs::WithOrg),
        (RecordKind::PlanTask, ReadAs::WithOrg),
        (RecordKind::Organization, ReadAs::Itself),
        (RecordKind::Pairing, ReadAs::Pairing),
        (RecordKind::User, ReadAs::Itself),
    ];

    fn actor(role: Role, org: Option<Uuid>, dir: &Directory) -> Actor {
        let scope = dir.scope(role, org);
        Actor::new(Uuid::now_v7(), ActorKind::User, role, org, None, scope)
    }

    /// The record's owner and pairing for a relation to the caller's organization.
    fn record(w: &World, role: Role, rel: Relation) -> (Uuid, Option<Uuid>) {
        let scoped_east = role == Role::Partner;
        match (scoped_east, rel) {
            (false, Own) => (w.z, Some(w.sz)),
            (false, Subtree) => (w.r, None),
            (false, Ancestor) => (w.p, None),
            (false, Paired) => (w.s, Some(w.sz)),
            (false, Unrelated) => (w.t, Some(w.gt)),
            (true, Own) => (w.s, Some(w.sz)),
            (true, Subtree) => (w.sd, None),
            (true, Ancestor) => (w.sp, None),
            (true, Paired) => (w.z, Some(w.sz)),
            (true, Unrelated) => (w.g, Some(w.gt)),
        }
    }

    fn region(w: &World, org: Uuid) -> Region {
        w.dir.owner(org).map_or(Region::West, |o| o.region)
    }

    fn can_read(scope: &Scope, read_as: ReadAs, owner: Uuid, pairing: Option<Uuid>) -> bool {
        match read_as {
            ReadAs::Ledger => scope.can_read_record(owner, pairing),
            ReadAs::WithOrg | ReadAs::Itself => scope.can_read_org(owner),
            ReadAs::Pairing => pairing.is_some_and(|p| scope.can_read_pairing(p)),
        }
    }

    /// The expected answer, written out by role: (read, write).
    fn expected(
        role: Role,
        kind: RecordKind,
        read_as: ReadAs,
        rel: Relation,
        east: bool,
    ) -> (bool, bool) {
        use RecordKind as K;
        let structure = matches!(kind, K::Organization | K::User);
        match role {
            Role::Admin => (true, !(kind == K::Project && east)),
            Role::Auditor => (true, false),
            Role::Coordinator => {
                let write = match kind {
                    K::Organization | K::User => false,
                    K::Plan | K::PlanTask | K::WorkingGroup => true,
                    _ => !east,
                };
                (true, write)
            }
            Role::Editor | Role::Partner => {
                let read = match (read_as, rel) {
                    (_, Own) => true,
                    (ReadAs::Pairing, Paired) => true,
                    (_, Subtree) => true,
                    (ReadAs::Ledger, Ancestor) => false,
                    (_, Ancestor) => true,
                    (_, Paired) => true,
                    (_, Unrelated) => false,
                };
                let own_or_below = match role {
                    Role::Editor => matches!(rel, Own | Subtree),
                    _ => rel == Own,
                };
                let write = !structure
                    && kind != K::Pairing
                    && own_or_below
                    && !(kind == K::Project && east);
                (read, write)
            }
        }
    }

    #[test]
    fn every_role_against_every_kind_and_relation() {
        let w = world();
        let roles = [
            (Role::Admin, Some(w.p)),
            (Role::Coordinator, Some(w.p)),
            (Role::Auditor, None),
            (Role::Editor, Some(w.z)),
            (Role::Partner, Some(w.s)),
        ];
        let mut checked = 0;
        let mut wrong = Vec::new();
        for (role, org) in roles {
            let who = actor(role, org, &w.dir);
            for (kind, read_as) in KINDS {
                for rel in [Own, Subtree, Ancestor, Paired, Unrelated] {
                    if matches!((read_as, rel), (ReadAs::Pairing, Subtree | Ancestor)) {
                        // A pairing is between two organizations, not below or above one.
                        continue;
                    }
                    let (owner, pairing) = record(&w, role, rel);
                    let owner_facts = Owner {
                        org_id: owner,
                        region: region(&w, owner),
                    };
                    let east = owner_facts.region == Region::East;
                    let actual = (
                        can_read(who.scope(), read_as, owner, pairing),
                        can_write(&who, who.scope(), kind, owner_facts),
                    );
                    let want = expected(role, kind, read_as, rel, east);
                    checked += 1;
                    if actual != want {
                        wrong.push(format!(
                            "{role:?} {kind:?} {rel:?}: (read, write) = {actual:?}, expected {want:?}"
                        ));
                    }
                }
            }
        }
        assert_eq!(checked, 5 * (KINDS.len() * 5 - 2));
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn verifying_and_personal_data_belong_to_the_province_office_and_the_own_org() {
        let w = world();
        for (role, verify) in [
            (Role::Admin, true),
            (Role::Coordinator, true),
            (Role::Editor, false),
            (Role::Partner, false),
            (Role::Auditor, false),
        ] {
            let who = actor(role, Some(w.z), &w.dir);
            assert_eq!(can_verify(&who), verify, "{role:?}");
            assert!(
                sees_personal_data(&who, w.z),
                "{role:?} of the contact's own org"
            );
            assert_eq!(
                sees_personal_data(&who, w.r),
                verify,
                "{role:?} above the contact"
            );
        }
    }

    #[test]
    fn a_pairing_is_reconciled_by_whoever_reads_it_but_the_assessment_team() {
        let w = world();
        // (role, org, pairing, may run)
        let cases = [
            (Role::Admin, None, w.sz, true),
            (Role::Coordinator, Some(w.p), w.gt, true),
            (Role::Editor, Some(w.z), w.sz, true),
            (Role::Editor, Some(w.p), w.sz, true),
            (Role::Editor, Some(w.r), w.sz, false),
            (Role::Editor, Some(w.t), w.sz, false),
            (Role::Partner, Some(w.s), w.sz, true),
            (Role::Partner, Some(w.sd), w.sz, false),
            (Role::Partner, Some(w.g), w.sz, false),
            (Role::Partner, Some(w.g), w.gt, true),
            (Role::Auditor, None, w.sz, false),
        ];
        for (role, org, pairing, may) in cases {
            let who = actor(role, org, &w.dir);
            assert_eq!(
                can_reconcile(&who, Some(pairing)),
                may,
                "{role:?} of {org:?} on {pairing}"
            );
            assert!(!can_reconcile(&who, None), "no pairing");
        }
    }

    #[test]
    fn a_prefecture_is_reconciled_vertically_from_its_subtree_and_by_the_province_office() {
        let w = world();
        // (role, org, prefecture, may run)
        let cases = [
            (Role::Admin, None, w.z, true),
            (Role::Coordinator, Some(w.p), w.t, true),
            (Role::Editor, Some(w.z), w.z, true),
            (Role::Editor, Some(w.p), w.z, true),
            (Role::Editor, Some(w.r), w.z, false),
            (Role::Editor, Some(w.t), w.z, false),
            (Role::Partner, Some(w.s), w.z, false),
            (Role::Auditor, None, w.z, false),
        ];
        for (role, org, prefecture, may) in cases {
            let who = actor(role, org, &w.dir);
            assert_eq!(
                can_reconcile_org(&who, Some(prefecture)),
                may,
                "{role:?} of {org:?} on {prefecture}"
            );
            assert!(!can_reconcile_org(&who, None), "no organization");
        }
    }
}
