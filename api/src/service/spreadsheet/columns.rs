//! How each record family looks in a spreadsheet: Chinese headers, Chinese labels for the
//! coded values, organizations and pairings by name. Every row also carries the record's id,
//! so a sheet can be traced back to the API.

use uuid::Uuid;

use super::{Cell, Column, Lookup, Tabular};
use crate::domain::{
    EvidenceCategory, FundKind, OrgKind, OrgLevel, PairingLevel, ProjectCategory, ProjectStatus,
    RecordType, Region, Role,
};
use crate::service::{
    agreements::AgreementView,
    audit::AuditEntry,
    contacts::ContactView,
    evidence::EvidenceView,
    exchanges::{ExchangeDirection, ExchangeKind, ExchangeView},
    fund_transactions::FundTransactionView,
    ledger_submissions::{LedgerSubmissionView, SubmissionStatus},
    ledgers::GapKind,
    organizations::OrganizationView,
    pairings::PairingView,
    plans::{PlanTaskStatus, PlanTaskView, PlanView},
    projects::ProjectView,
    reconciliations::{
        LineRecordType, LineStatus, LineView, MatchRule, ReconciliationKind, ReconciliationView,
        Resolution,
    },
    self_assessments::{Opinion, SelfAssessmentStatus, SelfAssessmentView},
    service_accounts::ServiceAccountView,
    statements::{StatementIndicator, StatementView},
    users::UserView,
    webhooks::WebhookView,
    working_groups::WorkingGroupView,
};

/// A coded value's Chinese label.
pub trait Label: Copy + Sized + 'static {
    fn label(self) -> &'static str;
    /// The value's English code, as the API spells it.
    fn code(self) -> &'static str;
    /// The value a label names, or its English code names.
    fn from_label(text: &str) -> Option<Self>;
}

macro_rules! labels {
    ($($ty:ty { $($variant:ident => $text:literal),+ $(,)? })+) => {$(
        impl Label for $ty {
            fn label(self) -> &'static str {
                match self { $(<$ty>::$variant => $text),+ }
            }
            fn code(self) -> &'static str {
                self.as_str()
            }
            fn from_label(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(<$ty>::$variant),)+
                    _ => Self::parse(text),
                }
            }
        }
    )+};
}

labels! {
    Region { East => "东部", West => "西部" }
    OrgLevel { Province => "省级", Prefecture => "市（州）级", County => "县级" }
    OrgKind {
        Federation => "残联",
        Department => "内设部门",
        Institution => "直属单位",
        Agency => "其他单位",
    }
    PairingLevel {
        ProvinceProvince => "省—省",
        CityPrefecture => "市—市（州）",
        CountyCounty => "县—县",
    }
    Role {
        Admin => "管理员",
        Coordinator => "协调员",
        Editor => "填报员",
        Partner => "协作方",
        Auditor => "审核员",
    }
    ProjectCategory {
        CareFacility => "康复托养机构",
        Incubator => "创业就业孵化园",
        EquityDividend => "转股分红",
        AccessibilityRetrofit => "家庭无障碍改造",
        Rehabilitation => "康复脱贫",
        Industry => "产业协作与发展",
        LabourEmployment => "劳务培训与转移就业",
        CadreTraining => "干部培训与交流",
        Other => "其他",
    }
    ProjectStatus {
        Proposed => "拟定",
        Agreed => "已商定",
        Funded => "资金到位",
        InProgress => "实施中",
        Completed => "已完成",
        Verified => "已验收",
        Cancelled => "已取消",
    }
    FundKind {
        Pledge => "认捐",
        Transfer => "拨付",
        Arrival => "到位",
        Expenditure => "支出",
        Refund => "退回",
    }
    ExchangeKind {
        JointMeeting => "联席会议",
        InspectionVisit => "考察调研",
        Consultation => "座谈交流",
        SpecialMeeting => "专题会议",
        WorkMeeting => "工作会议",
        AgreementSigning => "签订协议",
        Training => "培训",
    }
    ExchangeDirection { EastToWest => "东部来黔", WestToEast => "赴东部", Local => "本地" }
    EvidenceCategory {
        Document => "文件",
        Correspondence => "函件",
        Photo => "照片",
        Video => "视频",
        Text => "文字材料",
        Statistics => "统计数据",
    }
    RecordType {
        Organization => "单位",
        Pairing => "结对",
        WorkingGroup => "工作组",
        Contact => "联系人",
        Plan => "计划",
        PlanTask => "计划任务",
        Project => "项目",
        FundTransaction => "资金往来",
        Exchange => "交流互访",
        Agreement => "协议",
        Evidence => "印证资料",
        LedgerSubmission => "台账报送",
        Statement => "报表",
    }
    SubmissionStatus { Submitted => "已报送", Accepted => "已通过", Returned => "已退回" }
    SelfAssessmentStatus {
        Draft => "草稿",
        Sent => "已送协作方",
        OpinionGiven => "协作方已反馈",
        Submitted => "已报送",
    }
    Opinion { Agree => "同意", Comment => "有意见" }
    ReconciliationKind { Horizontal => "横向", Vertical => "纵向" }
    PlanTaskStatus {
        Pending => "进行中",
        Done => "已完成",
        Overdue => "已逾期",
        NotTracked => "不计数",
    }
    LineRecordType {
        FundTransaction => "资金",
        Exchange => "交流互访",
        Counties => "县级合计",
        Statement => "部门报表",
    }
    LineStatus {
        Matched => "一致",
        AmountMismatch => "金额不符",
        EastOnly => "仅东部有记录",
        WestOnly => "仅西部有记录",
        Mismatch => "不一致",
    }
    MatchRule { Voucher => "凭证号", AmountDate => "金额与日期", Dates => "日期重叠" }
    Resolution { Open => "待处理", Explained => "已说明", Resolved => "已解决" }
    StatementIndicator {
        PledgedFen => "认捐金额",
        TransferredFen => "拨付金额",
        ArrivedFen => "到位金额",
        SpentFen => "支出金额",
        RefundedFen => "退回金额",
        Exchanges => "交流互访次数",
    }
    GapKind {
        FundTransactionWithoutVoucher => "资金往来缺凭证",
        ExchangeWithoutEvidence => "交流活动缺印证资料",
        CompletedProjectWithoutAcceptance => "已完成项目缺验收材料",
        PlanTaskOverdue => "计划任务逾期",
    }
}

fn col<T>(header: &'static str, key: &'static str, cell: fn(&T, &Lookup) -> Cell) -> Column<T> {
    Column { header, key, cell }
}

fn label(value: impl Label) -> Cell {
    Cell::text(value.label())
}

fn id(id: Uuid) -> Cell {
    Cell::Text(id.to_string())
}

/// An organization by name, when the caller reads it (by id otherwise, or once it is deleted).
fn org(d: &Lookup, id: Uuid) -> Cell {
    d.dir
        .live_org(id)
        .filter(|_| d.scope.can_read_org(id))
        .map_or_else(|| Cell::Text(id.to_string()), |o| Cell::text(&o.name))
}

fn orgs(d: &Lookup, ids: &[Uuid]) -> Cell {
    join(ids.iter().map(|&i| org(d, i).csv_text()))
}

/// A pairing as its two parties, east first, when the caller reads it (by id otherwise).
fn pairing(d: &Lookup, id: Uuid) -> Cell {
    match d
        .dir
        .live_pairing(id)
        .filter(|_| d.scope.can_read_pairing(id))
    {
        Some(p) => Cell::Text(format!(
            "{}—{}",
            org(d, p.east_org_id).csv_text(),
            org(d, p.west_org_id).csv_text()
        )),
        None => Cell::Text(id.to_string()),
    }
}

fn join(items: impl Iterator<Item = String>) -> Cell {
    Cell::Text(items.collect::<Vec<_>>().join("；"))
}

/// The columns every kernel record ends with.
macro_rules! record_tail {
    ($view:ty) => {
        [
            col("外部编号", "external_id", |v: &$view, _| {
                Cell::opt(v.external_id.clone(), Cell::Text)
            }),
            col("填报单位", "owner_org_id", |v: &$view, d| {
                org(d, v.owner_org_id)
            }),
            col("版本", "version", |v: &$view, _| {
                Cell::Int(v.version.into())
            }),
            col("创建时间", "created_at", |v: &$view, _| {
                Cell::Time(v.created_at)
            }),
            col("更新时间", "updated_at", |v: &$view, _| {
                Cell::Time(v.updated_at)
            }),
            col("ID", "id", |v: &$view, _| id(v.id)),
        ]
    };
}

/// `head` followed by the kernel record columns.
fn with_tail<T>(mut head: Vec<Column<T>>, tail: [Column<T>; 6]) -> Vec<Column<T>> {
    head.extend(tail);
    head
}

impl Tabular for OrganizationView {
    const FILE: &'static str = "organizations";
    const SHEET: &'static str = "单位";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("单位编码", "code", |v, _| Cell::text(&v.code)),
                col("单位名称", "name", |v, _| Cell::text(&v.name)),
                col("地区", "region", |v, _| label(v.region)),
                col("层级", "level", |v, _| label(v.level)),
                col("类型", "kind", |v, _| label(v.kind)),
                col("上级单位", "parent_id", |v, d| {
                    Cell::opt(v.parent_id, |p| org(d, p))
                }),
                col("行政区划代码", "division_code", |v, _| {
                    Cell::opt(v.division_code.clone(), Cell::Text)
                }),
            ],
            record_tail!(OrganizationView),
        )
    }
}

impl Tabular for PairingView {
    const FILE: &'static str = "pairings";
    const SHEET: &'static str = "结对关系";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("东部单位", "east_org_id", |v, d| org(d, v.east_org_id)),
                col("西部单位", "west_org_id", |v, d| org(d, v.west_org_id)),
                col("层级", "level", |v, _| label(v.level)),
                col("开始日期", "started_on", |v, _| {
                    Cell::Date(v.started_on)
                }),
                col("结束日期", "ended_on", |v, _| {
                    Cell::opt(v.ended_on, Cell::Date)
                }),
                col("有效", "active", |v, _| Cell::Bool(v.active)),
            ],
            record_tail!(PairingView),
        )
    }
}

impl Tabular for WorkingGroupView {
    const FILE: &'static str = "working-groups";
    const SHEET: &'static str = "工作组";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("单位", "org_id", |v, d| org(d, v.org_id)),
                col("名称", "name", |v, _| Cell::text(&v.name)),
                col("办公室设在", "office_org_id", |v, d| {
                    Cell::opt(v.office_org_id, |o| org(d, o))
                }),
                col("牵头单位", "responsible_org_id", |v, d| {
                    Cell::opt(v.responsible_org_id, |o| org(d, o))
                }),
                col("成立日期", "established_on", |v, _| {
                    Cell::opt(v.established_on, Cell::Date)
                }),
                col("成员数", "members", |v, _| {
                    Cell::Int(v.members.len() as i64)
                }),
            ],
            record_tail!(WorkingGroupView),
        )
    }
}

impl Tabular for ContactView {
    const FILE: &'static str = "contacts";
    const SHEET: &'static str = "联系人";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("单位", "org_id", |v, d| org(d, v.org_id)),
                col("姓名", "name", |v, _| Cell::text(&v.name)),
                col("职务", "title", |v, _| {
                    Cell::opt(v.title.clone(), Cell::Text)
                }),
                col("电话", "phone", |v, _| {
                    Cell::opt(v.phone.clone(), Cell::Text)
                }),
                col("电子邮箱", "email", |v, _| {
                    Cell::opt(v.email.clone(), Cell::Text)
                }),
            ],
            record_tail!(ContactView),
        )
    }
}

impl Tabular for PlanView {
    const FILE: &'static str = "plans";
    const SHEET: &'static str = "工作计划";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("单位", "org_id", |v, d| org(d, v.org_id)),
                col("年度", "year", |v, _| Cell::Int(v.year.into())),
                col("标题", "title", |v, _| Cell::text(&v.title)),
                col("文号", "document_no", |v, _| {
                    Cell::opt(v.document_no.clone(), Cell::Text)
                }),
                col("印发日期", "issued_on", |v, _| {
                    Cell::opt(v.issued_on, Cell::Date)
                }),
                col("印发单位", "issuer", |v, _| {
                    Cell::opt(v.issuer.clone(), Cell::Text)
                }),
                col("总结日期", "summarized_on", |v, _| {
                    Cell::opt(v.summarized_on, Cell::Date)
                }),
                col("创新做法", "innovations", |v, _| {
                    join(v.innovations.iter().map(|i| i.title.clone()))
                }),
            ],
            record_tail!(PlanView),
        )
    }
}

impl Tabular for PlanTaskView {
    const FILE: &'static str = "plan-tasks";
    const SHEET: &'static str = "计划任务";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("计划ID", "plan_id", |v, _| id(v.plan_id)),
                col("季度", "quarter", |v, _| Cell::Int(v.quarter.into())),
                col("任务", "title", |v, _| Cell::text(&v.title)),
                col("完成时限", "due_on", |v, _| Cell::Date(v.due_on)),
                col("责任单位", "responsible_org_id", |v, d| {
                    org(d, v.responsible_org_id)
                }),
                col("目标次数", "target_count", |v, _| {
                    Cell::Int(v.target_count.into())
                }),
                col("已完成次数", "progress_count", |v, _| {
                    Cell::Int(v.progress_count.into())
                }),
                col("状态", "status", |v, _| label(v.status)),
                col("必须完成", "mandatory", |v, _| Cell::Bool(v.mandatory)),
                col("考核单位", "target_org_ids", |v, d| {
                    orgs(d, &v.target_org_ids)
                }),
            ],
            record_tail!(PlanTaskView),
        )
    }
}

impl Tabular for ProjectView {
    const FILE: &'static str = "projects";
    const SHEET: &'static str = "项目";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("项目编号", "code", |v, _| Cell::text(&v.code)),
                col("项目名称", "title", |v, _| Cell::text(&v.title)),
                col("年度", "year", |v, _| Cell::Int(v.year.into())),
                col("类别", "category", |v, _| label(v.category)),
                col("状态", "status", |v, _| label(v.status)),
                col("结对", "pairing", |v, d| pairing(d, v.pairing_id)),
                col("结对ID", "pairing_id", |v, _| id(v.pairing_id)),
                col("深度贫困地区", "deep_poverty", |v, _| {
                    Cell::Bool(v.deep_poverty)
                }),
                col("计划受益人数", "beneficiaries_planned", |v, _| {
                    Cell::Int(v.beneficiaries_planned.into())
                }),
                col("实际受益人数", "beneficiaries_actual", |v, _| {
                    Cell::opt(v.beneficiaries_actual, |n| Cell::Int(n.into()))
                }),
                col("预算（元）", "budget_fen", |v, _| {
                    Cell::Yuan(v.budget_fen.0)
                }),
                col("开始日期", "start_on", |v, _| {
                    Cell::opt(v.start_on, Cell::Date)
                }),
                col("结束日期", "end_on", |v, _| {
                    Cell::opt(v.end_on, Cell::Date)
                }),
                col("认捐（元）", "pledged_fen", |v, _| {
                    Cell::Yuan(v.pledged_fen.0)
                }),
                col("拨付（元）", "transferred_fen", |v, _| {
                    Cell::Yuan(v.transferred_fen.0)
                }),
                col("到位（元）", "arrived_fen", |v, _| {
                    Cell::Yuan(v.arrived_fen.0)
                }),
                col("支出（元）", "spent_fen", |v, _| {
                    Cell::Yuan(v.spent_fen.0)
                }),
                col("退回（元）", "refunded_fen", |v, _| {
                    Cell::Yuan(v.refunded_fen.0)
                }),
                col("立项依据", "basis", |v, _| Cell::text(&v.basis)),
                col("帮扶措施", "measures", |v, _| Cell::text(&v.measures)),
                col("建设内容", "items", |v, _| {
                    join(
                        v.items
                            .iter()
                            .map(|i| format!("{} {}{}", i.name, i.quantity, i.unit)),
                    )
                }),
            ],
            record_tail!(ProjectView),
        )
    }
}

impl Tabular for FundTransactionView {
    const FILE: &'static str = "fund-transactions";
    const SHEET: &'static str = "资金往来";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("类型", "kind", |v, _| label(v.kind)),
                col("金额（元）", "amount_fen", |v, _| {
                    Cell::Yuan(v.amount_fen.0)
                }),
                col("日期", "occurred_on", |v, _| Cell::Date(v.occurred_on)),
                col("凭证号", "voucher_no", |v, _| {
                    Cell::opt(v.voucher_no.clone(), Cell::Text)
                }),
                col("结对", "pairing", |v, d| pairing(d, v.pairing_id)),
                col("结对ID", "pairing_id", |v, _| id(v.pairing_id)),
                col("项目ID", "project_id", |v, _| Cell::opt(v.project_id, id)),
                col("东西部", "side", |v, _| label(v.side)),
                col("备注", "note", |v, _| {
                    Cell::opt(v.note.clone(), Cell::Text)
                }),
            ],
            record_tail!(FundTransactionView),
        )
    }
}

impl Tabular for ExchangeView {
    const FILE: &'static str = "exchanges";
    const SHEET: &'static str = "交流互访";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("类型", "kind", |v, _| label(v.kind)),
                col("方向", "direction", |v, _| label(v.direction)),
                col("结对", "pairing", |v, d| {
                    Cell::opt(v.pairing_id, |p| pairing(d, p))
                }),
                col("结对ID", "pairing_id", |v, _| Cell::opt(v.pairing_id, id)),
                col("接待单位", "host_org_id", |v, d| org(d, v.host_org_id)),
                col("来访单位", "visiting_org_ids", |v, d| {
                    orgs(d, &v.visiting_org_ids)
                }),
                col("开始日期", "start_on", |v, _| Cell::Date(v.start_on)),
                col("结束日期", "end_on", |v, _| Cell::Date(v.end_on)),
                col("出席领导", "leaders_present", |v, _| {
                    join(v.leaders_present.iter().cloned())
                }),
                col("参加人数", "participants", |v, _| {
                    Cell::opt(v.participants, |n| Cell::Int(n.into()))
                }),
                col("内容摘要", "summary", |v, _| {
                    Cell::opt(v.summary.clone(), Cell::Text)
                }),
            ],
            record_tail!(ExchangeView),
        )
    }
}

impl Tabular for AgreementView {
    const FILE: &'static str = "agreements";
    const SHEET: &'static str = "协议";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("结对", "pairing", |v, d| pairing(d, v.pairing_id)),
                col("结对ID", "pairing_id", |v, _| id(v.pairing_id)),
                col("协议名称", "title", |v, _| Cell::text(&v.title)),
                col("签订日期", "signed_on", |v, _| Cell::Date(v.signed_on)),
                col("承诺金额（元）", "committed_fen", |v, _| {
                    Cell::Yuan(v.committed_fen.0)
                }),
                col("摘要", "summary", |v, _| {
                    Cell::opt(v.summary.clone(), Cell::Text)
                }),
                col("项目数", "project_ids", |v, _| {
                    Cell::Int(v.project_ids.len() as i64)
                }),
            ],
            record_tail!(AgreementView),
        )
    }
}

impl Tabular for EvidenceView {
    const FILE: &'static str = "evidence";
    const SHEET: &'static str = "印证资料";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("类别", "category", |v, _| label(v.category)),
                col("标题", "title", |v, _| Cell::text(&v.title)),
                col("文件名", "file_name", |v, _| Cell::text(&v.file_name)),
                col("文件类型", "media_type", |v, _| {
                    Cell::text(&v.media_type)
                }),
                col("大小（字节）", "size_bytes", |v, _| {
                    Cell::Int(v.size_bytes)
                }),
                col("SHA-256", "sha256", |v, _| Cell::text(&v.sha256)),
                col("年度", "period_year", |v, _| {
                    Cell::opt(v.period_year, |n| Cell::Int(n.into()))
                }),
                col("季度", "period_quarter", |v, _| {
                    Cell::opt(v.period_quarter, |n| Cell::Int(n.into()))
                }),
                col("结对", "pairing", |v, d| {
                    Cell::opt(v.pairing_id, |p| pairing(d, p))
                }),
                col("关联记录", "links", |v, _| {
                    join(
                        v.links
                            .iter()
                            .map(|l| format!("{} {}", l.record_type.label(), l.record_id)),
                    )
                }),
            ],
            record_tail!(EvidenceView),
        )
    }
}

impl Tabular for LedgerSubmissionView {
    const FILE: &'static str = "ledger-submissions";
    const SHEET: &'static str = "台账报送";
    fn columns() -> Vec<Column<Self>> {
        vec![
            col("单位", "org_id", |v, d| org(d, v.org_id)),
            col("年度", "year", |v, _| Cell::Int(v.year.into())),
            col("季度", "quarter", |v, _| {
                Cell::opt(v.quarter, |q| Cell::Int(q.into()))
            }),
            col("报送次数", "number", |v, _| Cell::Int(v.number.into())),
            col("截止日期", "due_on", |v, _| {
                Cell::opt(v.due_on, Cell::Date)
            }),
            col("报送时间", "submitted_at", |v, _| {
                Cell::Time(v.submitted_at)
            }),
            col("按时", "on_time", |v, _| Cell::opt(v.on_time, Cell::Bool)),
            col("问题数", "gaps", |v, _| Cell::Int(v.gaps.into())),
            col("状态", "status", |v, _| label(v.status)),
            col("审核意见", "review_comment", |v, _| {
                Cell::opt(v.review_comment.clone(), Cell::Text)
            }),
            col("审核时间", "reviewed_at", |v, _| {
                Cell::opt(v.reviewed_at, Cell::Time)
            }),
            col("SHA-256", "sha256", |v, _| Cell::text(&v.sha256)),
            col("ID", "id", |v, _| id(v.id)),
        ]
    }
}

impl Tabular for SelfAssessmentView {
    const FILE: &'static str = "self-assessments";
    const SHEET: &'static str = "自评";
    fn columns() -> Vec<Column<Self>> {
        vec![
            col("单位", "org_id", |v, d| org(d, v.org_id)),
            col("年度", "year", |v, _| Cell::Int(v.year.into())),
            col("结对", "pairing", |v, d| pairing(d, v.pairing_id)),
            col("协作方", "partner_org_id", |v, d| {
                org(d, v.partner_org_id)
            }),
            col("状态", "status", |v, _| label(v.status)),
            col("协作方意见", "opinion", |v, _| {
                Cell::opt(v.opinion, label)
            }),
            col("意见说明", "opinion_comment", |v, _| {
                Cell::opt(v.opinion_comment.clone(), Cell::Text)
            }),
            col("发送时间", "sent_at", |v, _| {
                Cell::opt(v.sent_at, Cell::Time)
            }),
            col("报送时间", "submitted_at", |v, _| {
                Cell::opt(v.submitted_at, Cell::Time)
            }),
            col("ID", "id", |v, _| id(v.id)),
        ]
    }
}

impl Tabular for ReconciliationView {
    const FILE: &'static str = "reconciliations";
    const SHEET: &'static str = "对账";
    fn columns() -> Vec<Column<Self>> {
        vec![
            col("类型", "kind", |v, _| label(v.kind)),
            col("结对", "pairing", |v, d| {
                Cell::opt(v.pairing_id, |p| pairing(d, p))
            }),
            col("年度", "year", |v, _| Cell::Int(v.year.into())),
            col("季度", "quarter", |v, _| {
                Cell::opt(v.quarter, |q| Cell::Int(q.into()))
            }),
            col("日期窗口（天）", "window_days", |v, _| {
                Cell::Int(v.window_days.into())
            }),
            col("东部金额（元）", "east_amount_fen", |v, _| {
                Cell::Yuan(v.totals.east.amount_fen.0)
            }),
            col("西部金额（元）", "west_amount_fen", |v, _| {
                Cell::Yuan(v.totals.west.amount_fen.0)
            }),
            col("差额（元）", "difference_fen", |v, _| {
                Cell::Yuan(v.totals.difference_fen.0)
            }),
            col("行数", "line_count", |v, _| Cell::Int(v.line_count)),
            col("创建时间", "created_at", |v, _| {
                Cell::Time(v.created_at)
            }),
            col("ID", "id", |v, _| id(v.id)),
        ]
    }
}

impl Tabular for LineView {
    const FILE: &'static str = "reconciliation-lines";
    const SHEET: &'static str = "对账明细";
    fn columns() -> Vec<Column<Self>> {
        vec![
            col("行号", "line_no", |v, _| Cell::Int(v.line_no)),
            col("类型", "record_type", |v, _| label(v.record_type)),
            col("状态", "status", |v, _| label(v.status)),
            col("匹配方式", "rule", |v, _| Cell::opt(v.rule, label)),
            col("凭证号", "voucher_no", |v, _| {
                Cell::opt(v.voucher_no.clone(), Cell::Text)
            }),
            col("东部金额（元）", "east_amount_fen", |v, _| {
                Cell::opt(v.east_amount_fen, |f| Cell::Yuan(f.0))
            }),
            col("西部金额（元）", "west_amount_fen", |v, _| {
                Cell::opt(v.west_amount_fen, |f| Cell::Yuan(f.0))
            }),
            col("差额（元）", "difference_fen", |v, _| {
                match (v.east_amount_fen, v.west_amount_fen) {
                    (None, None) => Cell::Empty,
                    (e, w) => Cell::Yuan(e.map_or(0, |f| f.0).saturating_sub(w.map_or(0, |f| f.0))),
                }
            }),
            col("东部日期", "east_on", |v, _| {
                Cell::opt(v.east_on, Cell::Date)
            }),
            col("西部日期", "west_on", |v, _| {
                Cell::opt(v.west_on, Cell::Date)
            }),
            col("东部记录", "east_record_id", |v, _| {
                Cell::opt(v.east_record_id, id)
            }),
            col("西部记录", "west_record_id", |v, _| {
                Cell::opt(v.west_record_id, id)
            }),
            col("处理状态", "resolution", |v, _| label(v.resolution)),
            col("说明", "note", |v, _| {
                Cell::opt(v.note.clone(), Cell::Text)
            }),
            col("指标", "indicator", |v, _| Cell::opt(v.indicator, label)),
            col("比对单位", "org_id", |v, d| {
                Cell::opt(v.org_id, |o| org(d, o))
            }),
            col("市（州）数值", "prefecture_value", |v, _| {
                figure(v.indicator, v.prefecture_value)
            }),
            col("比对数值", "compared_value", |v, _| {
                figure(v.indicator, v.compared_value)
            }),
        ]
    }
}

/// A vertical figure: yuan for a money indicator, a count for the others.
fn figure(indicator: Option<StatementIndicator>, value: Option<crate::domain::Fen>) -> Cell {
    match (indicator, value) {
        (Some(StatementIndicator::Exchanges), Some(n)) => Cell::Int(n.0),
        (Some(_), Some(fen)) => Cell::Yuan(fen.0),
        _ => Cell::Empty,
    }
}

impl Tabular for StatementView {
    const FILE: &'static str = "statements";
    const SHEET: &'static str = "部门报表";
    fn columns() -> Vec<Column<Self>> {
        with_tail(
            vec![
                col("申报单位", "org_id", |v, d| org(d, v.org_id)),
                col("年度", "year", |v, _| Cell::Int(v.year.into())),
                col("季度", "quarter", |v, _| {
                    Cell::opt(v.quarter, |q| Cell::Int(q.into()))
                }),
                col("指标", "indicator", |v, _| label(v.indicator)),
                col("数值", "value", |v, _| {
                    figure(Some(v.indicator), Some(v.value))
                }),
                col("说明", "note", |v, _| {
                    Cell::opt(v.note.clone(), Cell::Text)
                }),
            ],
            record_tail!(StatementView),
        )
    }
}

impl Tabular for WebhookView {
    const FILE: &'static str = "webhooks";
    const SHEET: &'static str = "推送订阅";
    fn columns() -> Vec<Column<Self>> {
        vec![
            col("地址", "url", |v, _| Cell::text(&v.url)),
            col("记录类型", "record_types", |v, _| {
                join(v.record_types.iter().cloned())
            }),
            col("订阅单位", "owner_org_id", |v, d| {
                org(d, v.owner_org_id)
            }),
            col("角色", "subscriber_role", |v, _| label(v.subscriber_role)),
            col("创建时间", "created_at", |v, _| {
                Cell::Time(v.created_at)
            }),
            col("ID", "id", |v, _| id(v.id)),
        ]
    }
}

impl Tabular for UserView {
    const FILE: &'static str = "users";
    const SHEET: &'static str = "用户";
    fn columns() -> Vec<Column<Self>> {
        vec![
            col("用户名", "username", |v, _| Cell::text(&v.username)),
            col("角色", "role", |v, _| label(v.role)),
            col("单位", "org_id", |v, d| {
                Cell::opt(v.org_id, |o| org(d, o))
            }),
            col("已停用", "disabled", |v, _| Cell::Bool(v.disabled)),
            col("创建时间", "created_at", |v, _| {
                Cell::Time(v.created_at)
            }),
            col("ID", "id", |v, _| id(v.id)),
        ]
    }
}

impl Tabular for ServiceAccountView {
    const FILE: &'static str = "service-accounts";
    const SHEET: &'static str = "服务账号";
    fn columns() -> Vec<Column<Self>> {
        vec![
            col("名称", "name", |v, _| Cell::text(&v.name)),
            col("客户端ID", "client_id", |v, _| Cell::text(&v.client_id)),
            col("角色", "role", |v, _| label(v.role)),
            col("单位", "org_id", |v, d| {
                Cell::opt(v.org_id, |o| org(d, o))
            }),
            col("已停用", "disabled", |v, _| Cell::Bool(v.disabled)),
            col("创建时间", "created_at", |v, _| {
                Cell::Time(v.created_at)
            }),
            col("ID", "id", |v, _| id(v.id)),
        ]
    }
}

impl Tabular for AuditEntry {
    const FILE: &'static str = "audit-log";
    const SHEET: &'static str = "操作日志";
    fn columns() -> Vec<Column<Self>> {
        vec![
            col("时间", "occurred_at", |v, _| Cell::Time(v.occurred_at)),
            col("操作者类型", "actor_type", |v, _| {
                Cell::text(&v.actor_type)
            }),
            col("操作者", "actor_id", |v, _| id(v.actor_id)),
            col("角色", "actor_role", |v, _| {
                Cell::Text(
                    Role::parse(&v.actor_role)
                        .map_or_else(|| v.actor_role.clone(), |r| r.label().into()),
                )
            }),
            col("操作", "action", |v, _| Cell::text(&v.action)),
            col("记录类型", "record_type", |v, _| {
                Cell::Text(
                    RecordType::parse(&v.record_type)
                        .map_or_else(|| v.record_type.clone(), |t| t.label().into()),
                )
            }),
            col("记录ID", "record_id", |v, _| id(v.record_id)),
            col("请求ID", "request_id", |v, _| {
                Cell::opt(v.request_id.clone(), Cell::Text)
            }),
            col("ID", "id", |v, _| id(v.id)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every coded value has a label of its own, and reads back from it and from its code.
    fn round_trips<T: Label + PartialEq + std::fmt::Debug>(all: &[T], code: fn(T) -> &'static str) {
        let mut seen = std::collections::HashSet::new();
        for &v in all {
            assert!(seen.insert(v.label()), "{v:?}: label {} twice", v.label());
            assert_eq!(T::from_label(v.label()), Some(v));
            assert_eq!(T::from_label(code(v)), Some(v));
        }
        assert_eq!(T::from_label("不存在"), None);
    }

    #[test]
    fn labels_are_distinct_and_read_back() {
        round_trips(ProjectStatus::ALL, ProjectStatus::as_str);
        round_trips(ProjectCategory::ALL, ProjectCategory::as_str);
        round_trips(FundKind::ALL, FundKind::as_str);
        round_trips(ExchangeKind::ALL, ExchangeKind::as_str);
        round_trips(ExchangeDirection::ALL, ExchangeDirection::as_str);
        round_trips(EvidenceCategory::ALL, EvidenceCategory::as_str);
        round_trips(RecordType::ALL, RecordType::as_str);
        round_trips(Role::ALL, Role::as_str);
        round_trips(LineStatus::ALL, LineStatus::as_str);
        round_trips(StatementIndicator::ALL, StatementIndicator::as_str);
        round_trips(LineRecordType::ALL, LineRecordType::as_str);
        round_trips(StatementIndicator::ALL, StatementIndicator::as_str);
        round_trips(LineRecordType::ALL, LineRecordType::as_str);
    }

    #[test]
    fn column_keys_are_unique_per_family() {
        fn unique<T: Tabular>() {
            let mut keys = std::collections::HashSet::new();
            let mut headers = std::collections::HashSet::new();
            for c in T::columns() {
                assert!(keys.insert(c.key), "{}: key {} twice", T::FILE, c.key);
                assert!(headers.insert(c.header), "{}: {} twice", T::FILE, c.header);
            }
        }
        unique::<OrganizationView>();
        unique::<PairingView>();
        unique::<WorkingGroupView>();
        unique::<ContactView>();
        unique::<PlanView>();
        unique::<PlanTaskView>();
        unique::<ProjectView>();
        unique::<FundTransactionView>();
        unique::<ExchangeView>();
        unique::<AgreementView>();
        unique::<EvidenceView>();
        unique::<LedgerSubmissionView>();
        unique::<SelfAssessmentView>();
        unique::<ReconciliationView>();
        unique::<LineView>();
        unique::<WebhookView>();
        unique::<UserView>();
        unique::<ServiceAccountView>();
        unique::<AuditEntry>();
        unique::<StatementView>();
        unique::<StatementView>();
    }
}
