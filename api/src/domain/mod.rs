//! Values that parse, never re-validate: once one exists, it is valid. Input DTOs carry plain
//! strings so that every bad field can be reported at once; services turn them into these types
//! through a [`Fields`] collector.

pub mod calendar;
pub mod evidence;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{AppError, FieldError, Result};

/// Declares a closed set of snake_case names shared by REST (serde, OpenAPI), GraphQL and the
/// database (stored as the same text).
macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema, ::async_graphql::Enum)]
        #[serde(rename_all = "snake_case")]
        #[graphql(rename_items = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// For values read back from the database, where anything else is corruption.
            pub fn from_db(text: &str) -> $crate::error::Result<Self> {
                Self::parse(text).ok_or_else(|| {
                    $crate::error::AppError::internal(format!("stored {} is not valid: {text}", stringify!($name)))
                })
            }
        }
    };
}

pub(crate) use names;

names!(
    /// East (the assisting cities and provinces) or west (Guizhou).
    Region { East => "east", West => "west" }
);
names!(OrgLevel { Province => "province", Prefecture => "prefecture", County => "county" });
names!(OrgKind {
    Federation => "federation",
    Department => "department",
    Institution => "institution",
    Agency => "agency",
});
names!(
    /// `province_province` is a western province's federation with an eastern province's: the
    /// joint meeting, the agreement, the leaders' visits and the provincial departments'
    /// projects hang on it.
    PairingLevel {
        ProvinceProvince => "province_province",
        CityPrefecture => "city_prefecture",
        CountyCounty => "county_county",
    }
);
names!(
    /// Who a token speaks for: a user, a service account, or the operator at the command line
    /// (`xiezuo create-user`).
    ActorKind { User => "user", ServiceAccount => "service_account", System => "system" }
);
names!(Role {
    Admin => "admin",
    Coordinator => "coordinator",
    Editor => "editor",
    Partner => "partner",
    Auditor => "auditor",
});

names!(
    /// The six kinds of evidence the 2019 plan names (印证资料): 文件, 函电, 图片, 影像, 文字,
    /// 统计资料.
    EvidenceCategory {
        Document => "document",
        Correspondence => "correspondence",
        Photo => "photo",
        Video => "video",
        Text => "text",
        Statistics => "statistics",
    }
);
names!(
    /// A kind of record, wherever one is named by type (evidence links, and later the change
    /// feed, sync, imports and webhooks).
    RecordType {
        Organization => "organization",
        Pairing => "pairing",
        WorkingGroup => "working_group",
        Contact => "contact",
        Plan => "plan",
        PlanTask => "plan_task",
        Project => "project",
        FundTransaction => "fund_transaction",
        Exchange => "exchange",
        Agreement => "agreement",
        Evidence => "evidence",
        LedgerSubmission => "ledger_submission",
        Statement => "statement",
    }
);

names!(
    /// What a project does (帮扶清单 categories of the 2019 plan).
    ProjectCategory {
        CareFacility => "care_facility",
        Incubator => "incubator",
        EquityDividend => "equity_dividend",
        AccessibilityRetrofit => "accessibility_retrofit",
        Rehabilitation => "rehabilitation",
        Industry => "industry",
        LabourEmployment => "labour_employment",
        CadreTraining => "cadre_training",
        Other => "other",
    }
);
names!(ProjectStatus {
    Proposed => "proposed",
    Agreed => "agreed",
    Funded => "funded",
    InProgress => "in_progress",
    Completed => "completed",
    Verified => "verified",
    Cancelled => "cancelled",
});
names!(FundKind {
    Pledge => "pledge",
    Transfer => "transfer",
    Arrival => "arrival",
    Expenditure => "expenditure",
    Refund => "refund",
});

impl FundKind {
    /// The side that records this kind: the east pledges and transfers, the west receives,
    /// spends and refunds.
    pub fn recorded_by(self) -> Region {
        match self {
            Self::Pledge | Self::Transfer => Region::East,
            Self::Arrival | Self::Expenditure | Self::Refund => Region::West,
        }
    }
}

impl ProjectStatus {
    /// The lifecycle: proposed → agreed → funded → in_progress → completed → verified, with
    /// cancellation before completion and a step back where a real project needs one.
    pub fn can_become(self, next: Self) -> bool {
        use ProjectStatus::*;
        matches!(
            (self, next),
            (Proposed, Agreed | Cancelled)
                | (Agreed, Proposed | Funded | Cancelled)
                | (Funded, InProgress | Cancelled)
                | (InProgress, Completed | Cancelled)
                | (Completed, InProgress | Verified)
        )
    }
}

/// An amount of money in fen: a positive integer below 10^13 fen (a hundred billion yuan), so
/// that sums of hundreds of thousands of them stay far inside an i64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmountFen(i64);

impl AmountFen {
    pub const MAX: i64 = 10_000_000_000_000;

    pub fn parse(value: i64) -> Result<Self, String> {
        if value <= 0 {
            Err("must be a positive integer number of fen".into())
        } else if value >= Self::MAX {
            Err("is larger than any amount this service accepts".into())
        } else {
            Ok(Self(value))
        }
    }

    /// Zero allowed (budgets, commitments, unit costs).
    pub fn parse_non_negative(value: i64) -> Result<Self, String> {
        if value == 0 {
            Ok(Self(0))
        } else {
            Self::parse(value)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Money as the API carries it: integer fen. In JSON a plain integer; in GraphQL the scalar
/// `Fen`, because GraphQL's `Int` is 32-bit (21,474,836.47 yuan at most) and a client that
/// follows the specification rejects larger values. `Fen` is a JSON number (any amount the
/// service accepts, below 10^13, is exact in an IEEE double); as input it also takes a string
/// of digits, for clients that keep large integers as text.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = i64, format = Int64)]
pub struct Fen(pub i64);

impl std::fmt::Display for Fen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<i64> for Fen {
    fn from(value: i64) -> Self {
        Self(value)
    }
}

/// Integer fen (1 fen = 0.01 yuan), up to 10^13 in magnitude: a JSON number, exact in an
/// IEEE double. Input also accepts a string of digits.
#[async_graphql::Scalar(name = "Fen")]
impl async_graphql::ScalarType for Fen {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::Number(n) => n
                .as_i64()
                .map(Fen)
                .ok_or_else(|| async_graphql::InputValueError::custom("fen is a whole number")),
            async_graphql::Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Fen)
                .map_err(|_| async_graphql::InputValueError::custom("fen is a whole number")),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::Number(self.0.into())
    }
}

/// A whole number that may pass 2^31 (an indicator: a count, a sum of fen, basis points): a
/// JSON number, exact up to 2^53, where GraphQL's `Int` stops at 32 bits.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = i64, format = Int64)]
pub struct Int64(pub i64);

/// A whole number up to 2^53 in magnitude, as a JSON number (GraphQL's `Int` is 32-bit).
#[async_graphql::Scalar(name = "Int64")]
impl async_graphql::ScalarType for Int64 {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::Number(n) => n
                .as_i64()
                .map(Int64)
                .ok_or_else(|| async_graphql::InputValueError::custom("a whole number")),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::Number(self.0.into())
    }
}

/// A GB/T 2260 administrative division code: six digits, the first two a province (11–82).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be six digits (GB/T 2260), e.g. 520300".into());
        }
        let province: u8 = text[..2]
            .parse()
            .map_err(|_| "must be six digits".to_string())?;
        if !(11..=82).contains(&province) {
            return Err("does not start with a province code (11–82)".into());
        }
        Ok(Self(text.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A short text identifier: 1–`max` characters of letters, digits, `.`, `_`, `-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    pub fn parse(text: &str, max: usize) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > max {
            return Err(format!("must be 1–{max} characters"));
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err("may hold only letters, digits, '.', '_' and '-'".into());
        }
        Ok(Self(text.to_string()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Free text with surrounding space trimmed, non-empty, at most `max` characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    pub fn parse(text: &str, max: usize) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.chars().count() > max {
            return Err(format!("must be at most {max} characters"));
        }
        if text.chars().any(|c| c.is_control()) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(text.to_string()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password to be set: 12–256 characters.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(text: &str) -> Result<Self, String> {
        let chars = text.chars().count();
        if chars < Self::MIN_CHARS {
            Err(format!("must be at least {} characters", Self::MIN_CHARS))
        } else if chars > Self::MAX_CHARS {
            Err(format!("must be at most {} characters", Self::MAX_CHARS))
        } else {
            Ok(Self(text.to_string()))
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Page size: default 50, 1..=500.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(u64);

impl Limit {
    pub const DEFAULT: u64 = 50;
    pub const MAX: u64 = 500;

    pub fn parse(value: Option<i64>) -> Result<Self, String> {
        match value {
            None => Ok(Self(Self::DEFAULT)),
            Some(n) if (1..=Self::MAX as i64).contains(&n) => Ok(Self(n as u64)),
            Some(_) => Err(format!("must be between 1 and {}", Self::MAX)),
        }
    }
    pub fn get(self) -> u64 {
        self.0
    }
}

/// An opaque keyset cursor: the id of the last row of the previous page. Rows are ordered by
/// their UUID v7 id, which is time-ordered and unique, so the order is total and stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(Uuid);

impl Cursor {
    pub fn after(id: Uuid) -> Self {
        Self(id)
    }
    pub fn id(self) -> Uuid {
        self.0
    }
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }
    pub fn parse(text: &str) -> Result<Self, String> {
        URL_SAFE_NO_PAD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| Uuid::from_slice(&bytes).ok())
            .map(Self)
            .ok_or_else(|| "is not a cursor this service issued".to_string())
    }
}

/// The years a date may fall in.
pub const DATE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;
const DATE_RANGE_MESSAGE: &str = "must be between 1900-01-01 and 2199-12-31";

/// Collects field errors so that one response names every bad field.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value, or records the error under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.0.push(FieldError::new(field, message));
                None
            }
        }
    }

    /// An optional input: absent stays absent, present must parse.
    pub fn check_opt<T, I>(
        &mut self,
        field: &str,
        input: Option<I>,
        parse: impl FnOnce(I) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match input {
            None => Some(None),
            Some(raw) => self.check(field, parse(raw)).map(Some),
        }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// A date the ledgers can hold: from 1900 through 2199. Anything outside is a typo or a
    /// probe (PostgreSQL refuses dates before 4714 BC, SQLite takes any text).
    pub fn date(&mut self, field: &str, date: Option<chrono::NaiveDate>) {
        use chrono::Datelike;
        if date.is_some_and(|d| !(DATE_YEARS.contains(&d.year()))) {
            self.push(field, DATE_RANGE_MESSAGE);
        }
    }

    /// An instant in the same range as [`Fields::date`].
    pub fn instant(&mut self, field: &str, at: Option<chrono::DateTime<chrono::Utc>>) {
        self.date(field, at.map(|t| t.date_naive()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What was recorded.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    /// `Err(Validation)` when anything was recorded.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// Unwraps values a [`Fields`] collector has vouched for; call only after `finish()` succeeded.
pub fn checked<T>(value: Option<T>) -> Result<T> {
    value.ok_or_else(|| AppError::internal("a checked field was missing after validation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_codes() {
        assert!(DivisionCode::parse("520300").is_ok());
        assert!(DivisionCode::parse("310000").is_ok());
        for bad in ["52030", "5203000", "52030a", "000000", "990000", ""] {
            assert!(DivisionCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let id = Uuid::now_v7();
        let c = Cursor::after(id);
        assert_eq!(Cursor::parse(&c.encode()), Ok(c));
        assert!(Cursor::parse("not-a-cursor").is_err());
        assert!(Cursor::parse("").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(Limit::parse(None).map(Limit::get), Ok(50));
        assert_eq!(Limit::parse(Some(500)).map(Limit::get), Ok(500));
        assert!(Limit::parse(Some(0)).is_err());
        assert!(Limit::parse(Some(501)).is_err());
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
        }
        assert_eq!(
            PairingLevel::parse("city_prefecture"),
            Some(PairingLevel::CityPrefecture)
        );
        assert_eq!(Region::parse("north"), None);
    }

    #[test]
    fn project_lifecycle() {
        use ProjectStatus::*;
        assert!(Proposed.can_become(Agreed));
        assert!(Funded.can_become(InProgress));
        assert!(!Proposed.can_become(InProgress));
        assert!(!Verified.can_become(Completed));
        assert!(!Cancelled.can_become(Proposed));
        for s in ProjectStatus::ALL {
            assert!(!s.can_become(*s), "{s:?} to itself is not a transition");
            assert!(!Verified.can_become(*s));
        }
    }

    #[test]
    fn amounts() {
        assert!(AmountFen::parse(1).is_ok());
        assert!(AmountFen::parse(0).is_err());
        assert!(AmountFen::parse(-5).is_err());
        assert!(AmountFen::parse(AmountFen::MAX).is_err());
        assert_eq!(AmountFen::parse_non_negative(0).map(AmountFen::get), Ok(0));
    }

    #[test]
    fn parsed_values_keep_the_trimmed_input() {
        let code = DivisionCode::parse(" 520300 ").map(DivisionCode::into_inner);
        assert_eq!(code.as_deref(), Ok("520300"));
        let code = DivisionCode::parse("520382");
        assert_eq!(code.as_ref().map(DivisionCode::as_str), Ok("520382"));
        assert_eq!(
            Code::parse(" ZY-2019.01_a ", 64).map(Code::into_inner),
            Ok("ZY-2019.01_a".to_string())
        );
        assert_eq!(
            Text::parse("  康复中心  ", 10).map(Text::into_inner),
            Ok("康复中心".to_string())
        );
        let id = Uuid::now_v7();
        assert_eq!(Cursor::after(id).id(), id);
        assert_eq!(
            Cursor::parse(&Cursor::after(id).encode()).map(Cursor::id),
            Ok(id)
        );
    }

    #[test]
    fn fen_is_a_whole_number_as_a_number_or_digits() {
        use async_graphql::{ScalarType, Value};
        let parse = |v: Value| <Fen as ScalarType>::parse(v).ok();
        assert_eq!(
            parse(Value::from(5_000_000_000_000_i64)),
            Some(Fen(5_000_000_000_000))
        );
        assert_eq!(parse(Value::from(-3)), Some(Fen(-3)));
        assert_eq!(parse(Value::from(" 1200 ")), Some(Fen(1200)));
        assert_eq!(parse(Value::from(1.5)), None);
        assert_eq!(parse(Value::from("12.5")), None);
        assert_eq!(parse(Value::from("")), None);
        assert_eq!(parse(Value::from(true)), None);
        assert_eq!(parse(Value::Null), None);
        assert_eq!(
            Fen(7_000_000_000_001).to_value(),
            Value::from(7_000_000_000_001_i64)
        );
        assert_eq!(Fen::from(42), Fen(42));
    }

    #[test]
    fn int64_is_a_whole_number_past_32_bits() {
        use async_graphql::{ScalarType, Value};
        let parse = |v: Value| <Int64 as ScalarType>::parse(v).ok();
        assert_eq!(
            parse(Value::from(5_000_000_000_i64)),
            Some(Int64(5_000_000_000))
        );
        assert_eq!(parse(Value::from(-7)), Some(Int64(-7)));
        assert_eq!(parse(Value::from(1.5)), None);
        assert_eq!(parse(Value::from("12")), None);
        assert_eq!(parse(Value::Null), None);
        assert_eq!(
            Int64(9_000_000_000_001).to_value(),
            Value::from(9_000_000_000_001_i64)
        );
    }

    #[test]
    fn dates_and_instants_stay_in_the_ledger_years() {
        let day = |y| chrono::NaiveDate::from_ymd_opt(y, 6, 1);
        let mut f = Fields::new();
        f.date("ok", day(1900));
        f.date("ok", day(2199));
        f.date("absent", None);
        f.instant(
            "ok",
            day(2019)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc()),
        );
        assert!(f.is_empty());
        f.date("early", day(1899));
        f.date("late", day(2200));
        f.instant(
            "at",
            day(2200)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc()),
        );
        assert!(!f.is_empty());
        match f.finish() {
            Err(AppError::Validation(errors)) => {
                let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(names, ["early", "late", "at"]);
            }
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn fields_collects_every_error() {
        let mut f = Fields::new();
        f.check("a", Code::parse("", 10));
        f.check("b", Text::parse("  ", 10));
        f.check("c", Text::parse("ok", 10));
        match f.finish() {
            Err(AppError::Validation(errors)) => {
                let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(names, ["a", "b"]);
            }
            other => panic!("expected validation errors, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn division_code_accepts_exactly_six_digits_of_a_province(s in "\\PC{0,8}") {
            let ok = s.trim().len() == 6
                && s.trim().bytes().all(|b| b.is_ascii_digit())
                && (11..=82).contains(&s.trim()[..2].parse::<u8>().unwrap_or(0));
            prop_assert_eq!(DivisionCode::parse(&s).is_ok(), ok);
        }

        #[test]
        fn six_digit_codes_depend_on_their_province(s in "[0-9]{6}") {
            let province: u8 = s[..2].parse().unwrap_or(0);
            prop_assert_eq!(DivisionCode::parse(&s).is_ok(), (11..=82).contains(&province));
        }

        #[test]
        fn parsed_codes_hold_their_invariant(s in "\\PC{0,80}") {
            if let Ok(code) = Code::parse(&s, 64) {
                let inner = code.into_inner();
                prop_assert!(!inner.is_empty() && inner.chars().count() <= 64);
                prop_assert!(inner.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)));
            }
        }

        #[test]
        fn parsed_text_is_trimmed_bounded_and_clean(s in "\\PC{0,300}") {
            if let Ok(text) = Text::parse(&s, 200) {
                let inner = text.into_inner();
                prop_assert_eq!(inner.trim(), inner.as_str());
                prop_assert!(!inner.is_empty() && inner.chars().count() <= 200);
            }
        }

        #[test]
        fn cursors_round_trip(bytes in any::<[u8; 16]>()) {
            let cursor = Cursor::after(Uuid::from_bytes(bytes));
            prop_assert_eq!(Cursor::parse(&cursor.encode()), Ok(cursor));
        }

        #[test]
        fn limits_are_within_bounds(n in any::<i64>()) {
            match Limit::parse(Some(n)) {
                Ok(limit) => prop_assert!((1..=500).contains(&limit.get()) && limit.get() as i64 == n),
                Err(_) => prop_assert!(!(1..=500).contains(&n)),
            }
        }
    }
}
