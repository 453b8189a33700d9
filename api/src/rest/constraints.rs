//! The input rules the service enforces, stated in the OpenAPI document (`maxLength`,
//! `minimum`/`maximum`, `pattern`, `maxItems`), so that a request the document allows is one
//! the service accepts. Each rule names the constant the validation itself uses.
//!
//! A stated rule may be stricter than the service (a length counted before trimming, a pattern
//! that refuses surrounding space the service would trim), never looser. What no schema keyword
//! can say (a date between 1900 and 2199, a due date in the plan's year, an organization of the
//! right region) is left to the service and its `422`.
//!
//! Patterns are written in the subset that ECMA-262 (what JSON Schema names), Python's `re`
//! (schemathesis, hypothesis-jsonschema) and Rust's `regex` read alike. In each, `\s` is at
//! least the White_Space that `str::trim` removes, so "one character outside `\s`" implies
//! "not empty once trimmed". Every pattern matches in linear time: the parts it is built of
//! cannot overlap.

use std::collections::BTreeMap;

use utoipa::{
    Number,
    openapi::{
        OpenApi, RefOr,
        schema::{ArrayItems, Object, Schema, SchemaType, Type},
    },
};

use crate::{
    domain::{AmountFen, NewPassword, calendar},
    service::{
        agreements, contacts, evidence, exchanges, fund_transactions, ledger_submissions,
        organizations, plans, projects, reconciliations, records::EXTERNAL_ID_MAX,
        self_assessments, service_accounts, statements, users, webhooks, working_groups,
    },
};

/// `domain::Text`: no control character (Unicode `Cc`), and one character that is neither
/// space nor control. Leading space is matched by its own class so that the split point is the
/// first non-space character.
const TEXT: &str = r"^[^\S\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";
/// `records::long_text`: as [`TEXT`], with line breaks and tabs allowed.
const LONG_TEXT: &str = r"^[^\S\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
/// `domain::Code`: ASCII letters, digits, `.`, `_` and `-`.
/// The longest record type name the change feed knows (`self_assessment`), with room to grow.
const KIND_MAX: usize = 32;
const CODE: &str = r"^[A-Za-z0-9._-]+$";
/// `domain::DivisionCode`: six digits, the first two a province (11–82).
const DIVISION: &str = r"^(?:1[1-9]|[2-7][0-9]|8[0-2])[0-9]{4}$";
/// `users::parse_username`: lower-case ASCII letters, digits, `.`, `_` and `-`.
const USERNAME: &str = r"^[a-z0-9._-]+$";
/// `contacts::parse_email`: something without `@`, one `@`, then dot-separated labels (at
/// least two, none empty); no space or control character anywhere.
const EMAIL: &str = r"^[^@\s\u0000-\u001F\u007F-\u009F]+@[^@.\s\u0000-\u001F\u007F-\u009F]+(?:\.[^@.\s\u0000-\u001F\u007F-\u009F]+)+$";

/// `contacts::parse_phone`: an optional `+`, then digits separated by `-` or spaces, beginning
/// and ending with a digit, as many digits as [`contacts::PHONE_DIGITS`] allows.
fn phone_pattern() -> String {
    let (min, max) = (contacts::PHONE_DIGITS.start(), contacts::PHONE_DIGITS.end());
    format!(
        r"^\+?[0-9](?:[- ]*[0-9]){{{},{}}}$",
        min.saturating_sub(1),
        max.saturating_sub(1)
    )
}

/// What the service checks of one field.
#[derive(Clone, Debug, PartialEq)]
enum Rule {
    /// `domain::Text::parse(_, max)`: trimmed, not empty, at most `max` characters, no control
    /// characters.
    Text(usize),
    /// `records::long_text(_, max)`: as `Text`, with line breaks and tabs.
    LongText(usize),
    /// `domain::Code::parse(_, max)`.
    Code(usize),
    /// `domain::DivisionCode::parse`.
    Division,
    /// `users::parse_username`: not trimmed.
    Username,
    /// `domain::NewPassword::parse`: any characters, counted, not trimmed.
    Password,
    /// `contacts::parse_phone`.
    Phone,
    /// `contacts::parse_email`.
    Email,
    /// Refused when empty (the token endpoint's credentials).
    NonEmpty,
    /// From `min` to `max` characters of any kind, not trimmed.
    Chars(usize, usize),
    /// An integer from `min` to `max`.
    Range(i64, i64),
    /// An integer of at least `min` (an `int64`, so no upper bound to state).
    Min(i64),
    /// Money in fen, from `min` (0 or 1) to below `AmountFen::MAX`
    /// (`AmountFen::parse_non_negative` or `AmountFen::parse`).
    Fen(i64),
    /// At most `max` entries.
    MaxItems(usize),
    /// At most `max` entries, none listed twice.
    UniqueItems(usize),
}

/// One row of the table: a rule for `property` of each of `schemas`. `list[]` names the items of
/// the array `list`.
struct Entry {
    schemas: &'static [&'static str],
    property: &'static str,
    rule: Rule,
}

/// Every input rule the document states, by component schema and property.
fn table() -> Vec<Entry> {
    use Rule::*;
    const I32_MAX: i64 = i32::MAX as i64;
    const PROJECT: &[&str] = &["NewProject", "ProjectPatch"];
    const FUND: &[&str] = &["NewFundTransaction", "FundTransactionPatch"];
    const ORG: &[&str] = &["NewOrganization", "OrganizationPatch"];
    const CONTACT: &[&str] = &["NewContact", "ContactPatch"];
    const EXCHANGE: &[&str] = &["NewExchange", "ExchangePatch"];
    const AGREEMENT: &[&str] = &["NewAgreement", "AgreementPatch"];
    const GROUP: &[&str] = &["NewWorkingGroup", "WorkingGroupPatch"];
    const PLAN: &[&str] = &["NewPlan", "PlanPatch"];
    const TASK: &[&str] = &["NewPlanTask", "PlanTaskPatch"];
    const USER: &[&str] = &["NewUser", "UserPatch"];
    const EVIDENCE: &[&str] = &["EvidenceUpload", "EvidencePatch", "EvidenceMetadata"];
    const EXTERNAL: &[&str] = &[
        "NewProject",
        "ProjectPatch",
        "NewFundTransaction",
        "FundTransactionPatch",
        "NewOrganization",
        "OrganizationPatch",
        "NewContact",
        "ContactPatch",
        "NewExchange",
        "ExchangePatch",
        "NewAgreement",
        "AgreementPatch",
        "NewWorkingGroup",
        "WorkingGroupPatch",
        "NewPlan",
        "PlanPatch",
        "NewPlanTask",
        "PlanTaskPatch",
        "NewPairing",
        "PairingPatch",
        "EvidenceUpload",
        "EvidencePatch",
        "EvidenceMetadata",
        "NewStatement",
    ];
    let entry = |schemas, property, rule| Entry {
        schemas,
        property,
        rule,
    };
    let range =
        |r: &std::ops::RangeInclusive<i32>| Range(i64::from(*r.start()), i64::from(*r.end()));
    vec![
        entry(EXTERNAL, "external_id", Text(EXTERNAL_ID_MAX)),
        // Projects.
        entry(PROJECT, "code", Code(projects::CODE_MAX)),
        entry(PROJECT, "year", range(&projects::YEARS)),
        entry(PROJECT, "title", Text(projects::TITLE_MAX)),
        entry(PROJECT, "basis", LongText(projects::TEXT_MAX)),
        entry(PROJECT, "measures", LongText(projects::TEXT_MAX)),
        entry(PROJECT, "quantity", LongText(projects::TEXT_MAX)),
        entry(PROJECT, "items", MaxItems(projects::ITEMS_MAX)),
        entry(PROJECT, "milestones", MaxItems(projects::MILESTONES_MAX)),
        entry(PROJECT, "beneficiaries_planned", Range(0, I32_MAX)),
        entry(&["ProjectPatch"], "beneficiaries_actual", Range(0, I32_MAX)),
        entry(PROJECT, "budget_fen", Fen(0)),
        entry(&["ProjectItem"], "name", Text(projects::ITEM_NAME_MAX)),
        entry(&["ProjectItem"], "unit", Text(projects::ITEM_UNIT_MAX)),
        entry(&["ProjectItem"], "quantity", Min(0)),
        entry(&["ProjectItem"], "unit_cost_fen", Fen(0)),
        entry(&["Milestone"], "title", Text(projects::MILESTONE_TITLE_MAX)),
        // Fund transactions.
        entry(FUND, "amount_fen", Fen(1)),
        entry(FUND, "voucher_no", Text(fund_transactions::VOUCHER_NO_MAX)),
        entry(FUND, "note", Text(fund_transactions::NOTE_MAX)),
        // Organizations.
        entry(ORG, "code", Code(organizations::CODE_MAX)),
        entry(ORG, "name", Text(organizations::NAME_MAX)),
        entry(ORG, "division_code", Division),
        // Contacts.
        entry(CONTACT, "name", Text(contacts::NAME_MAX)),
        entry(CONTACT, "title", Text(contacts::TITLE_MAX)),
        entry(CONTACT, "phone", Phone),
        entry(CONTACT, "email", Email),
        // Exchanges.
        entry(
            EXCHANGE,
            "visiting_org_ids",
            UniqueItems(exchanges::VISITORS_MAX),
        ),
        entry(
            EXCHANGE,
            "leaders_present",
            MaxItems(exchanges::LEADERS_MAX),
        ),
        entry(EXCHANGE, "leaders_present[]", Text(exchanges::LEADER_MAX)),
        entry(EXCHANGE, "participants", Range(0, I32_MAX)),
        entry(EXCHANGE, "summary", LongText(exchanges::SUMMARY_MAX)),
        // Agreements.
        entry(AGREEMENT, "title", Text(agreements::TITLE_MAX)),
        entry(AGREEMENT, "committed_fen", Fen(0)),
        entry(AGREEMENT, "summary", LongText(exchanges::SUMMARY_MAX)),
        entry(
            AGREEMENT,
            "project_ids",
            UniqueItems(agreements::PROJECTS_MAX),
        ),
        // Working groups: a contact is listed once per role, so equal entries are refused.
        entry(GROUP, "name", Text(working_groups::NAME_MAX)),
        entry(GROUP, "members", UniqueItems(working_groups::MEMBERS_MAX)),
        // Plans and their tasks.
        entry(&["NewPlan"], "year", range(&plans::YEARS)),
        entry(PLAN, "title", Text(plans::TITLE_MAX)),
        entry(PLAN, "document_no", Text(plans::DOCUMENT_NO_MAX)),
        entry(PLAN, "issuer", Text(plans::ISSUER_MAX)),
        entry(PLAN, "addressees", LongText(plans::PLAN_TEXT_MAX)),
        entry(PLAN, "goals", LongText(plans::PLAN_TEXT_MAX)),
        entry(PLAN, "contents", LongText(plans::PLAN_TEXT_MAX)),
        entry(PLAN, "summary", LongText(plans::PLAN_TEXT_MAX)),
        entry(PLAN, "innovations", MaxItems(plans::INNOVATIONS_MAX)),
        entry(&["Innovation"], "title", Text(plans::INNOVATION_TITLE_MAX)),
        entry(
            &["Innovation"],
            "description",
            LongText(plans::PLAN_TEXT_MAX),
        ),
        entry(TASK, "target_org_ids", UniqueItems(plans::TARGET_ORGS_MAX)),
        entry(TASK, "quarter", range(&plans::QUARTERS)),
        entry(TASK, "title", Text(plans::TASK_TITLE_MAX)),
        entry(TASK, "target_count", Range(0, I32_MAX)),
        // Accounts.
        entry(&["NewUser"], "username", Username),
        entry(USER, "password", Password),
        entry(
            &["NewServiceAccount"],
            "name",
            Text(service_accounts::NAME_MAX),
        ),
        // Evidence (the multipart form of an upload, a patch, a sync item).
        entry(EVIDENCE, "title", Text(evidence::TITLE_MAX)),
        entry(EVIDENCE, "period_year", range(&evidence::PERIOD_YEARS)),
        entry(EVIDENCE, "period_quarter", Range(1, 4)),
        entry(EVIDENCE, "links", UniqueItems(evidence::LINKS_MAX)),
        // The working-day calendar.
        entry(
            &["CalendarYearInput"],
            "holidays",
            UniqueItems(calendar::MAX_DATES_PER_LIST),
        ),
        entry(
            &["CalendarYearInput"],
            "workdays",
            UniqueItems(calendar::MAX_DATES_PER_LIST),
        ),
        entry(&["CalendarYearInput"], "source", Text(calendar::SOURCE_MAX)),
        // Ledger submissions.
        entry(
            &["NewLedgerSubmission"],
            "year",
            range(&calendar::SETTABLE_YEARS),
        ),
        entry(&["NewLedgerSubmission"], "quarter", Range(1, 4)),
        // Self-assessments.
        entry(
            &["NewSelfAssessment"],
            "year",
            range(&calendar::SETTABLE_YEARS),
        ),
        entry(
            &["NewSelfAssessment", "SelfAssessmentPatch"],
            "summary",
            LongText(self_assessments::SUMMARY_MAX),
        ),
        entry(
            &["OpinionInput"],
            "comment",
            LongText(self_assessments::COMMENT_MAX),
        ),
        entry(
            &["LedgerReview"],
            "comment",
            LongText(ledger_submissions::COMMENT_MAX),
        ),
        // Reconciliations.
        entry(
            &["NewReconciliation"],
            "year",
            range(&calendar::SETTABLE_YEARS),
        ),
        entry(&["NewReconciliation"], "quarter", Range(1, 4)),
        entry(
            &["NewReconciliation"],
            "window_days",
            Range(0, i64::from(reconciliations::WINDOW_DAYS_MAX)),
        ),
        entry(&["LineStep"], "note", LongText(reconciliations::NOTE_MAX)),
        // Statements.
        entry(&["NewStatement"], "year", range(&calendar::SETTABLE_YEARS)),
        entry(&["NewStatement"], "quarter", Range(1, 4)),
        entry(&["NewStatement", "StatementPatch"], "value", Fen(0)),
        entry(
            &["NewStatement", "StatementPatch"],
            "note",
            LongText(statements::NOTE_MAX),
        ),
        // Webhooks.
        entry(&["NewWebhook"], "url", Text(webhooks::URL_MAX)),
        entry(
            &["NewWebhook"],
            "secret",
            Chars(*webhooks::SECRET_LEN.start(), *webhooks::SECRET_LEN.end()),
        ),
        entry(
            &["NewWebhook"],
            "record_types",
            UniqueItems(crate::service::changes::KINDS.len()),
        ),
        entry(&["NewWebhook"], "record_types[]", Code(KIND_MAX)),
        entry(&["TokenRequest"], "username", NonEmpty),
        entry(&["TokenRequest"], "password", NonEmpty),
        entry(&["TokenRequest"], "client_id", NonEmpty),
        entry(&["TokenRequest"], "client_secret", NonEmpty),
    ]
}

/// Adds the constraints to the component schemas.
pub fn state(doc: &mut OpenApi) {
    // `rest::openapi()` runs the modifiers once before the routes are collected, when none of
    // these schemas exists yet; the tests below hold every rule to the full document.
    let _missed = apply(doc);
}

/// Applies the whole table; returns what could not be applied, one line each.
fn apply(doc: &mut OpenApi) -> Vec<String> {
    let Some(components) = doc.components.as_mut() else {
        return vec!["the document has no components".into()];
    };
    // Referenced schemas (`Fen`) are copied into the field that gets a bound of its own.
    let referenced = components.schemas.clone();
    let mut missed = Vec::new();
    for entry in table() {
        for schema in entry.schemas {
            let result = property(&mut components.schemas, schema, entry.property)
                .and_then(|target| constrain(target, &entry.rule, &referenced));
            if let Err(why) = result {
                missed.push(format!("{schema}.{}: {why}", entry.property));
            }
        }
    }
    missed
}

/// The schema of `property` of component `schema` (`list[]`: the items of `list`).
fn property<'a>(
    schemas: &'a mut BTreeMap<String, RefOr<Schema>>,
    schema: &str,
    property: &str,
) -> Result<&'a mut RefOr<Schema>, String> {
    let (name, items) = match property.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (property, false),
    };
    let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(schema) else {
        return Err("no such object schema".into());
    };
    let field = object
        .properties
        .get_mut(name)
        .ok_or_else(|| "no such property".to_string())?;
    if !items {
        return Ok(field);
    }
    match field {
        RefOr::T(Schema::Array(array)) => match &mut array.items {
            ArrayItems::RefOrSchema(item) => Ok(item.as_mut()),
            ArrayItems::False => Err("the array has no items schema".into()),
        },
        _ => Err("not an array".into()),
    }
}

/// Puts `rule` on `target`.
fn constrain(
    target: &mut RefOr<Schema>,
    rule: &Rule,
    referenced: &BTreeMap<String, RefOr<Schema>>,
) -> Result<(), String> {
    match rule {
        Rule::MaxItems(max) | Rule::UniqueItems(max) => {
            let RefOr::T(Schema::Array(array)) = target else {
                return Err("not an array".into());
            };
            array.max_items = Some(*max);
            array.unique_items = matches!(rule, Rule::UniqueItems(_));
            Ok(())
        }
        Rule::Range(min, max) => {
            let object = integer(target, referenced)?;
            object.minimum = Some(number(*min));
            object.maximum = Some(number(*max));
            Ok(())
        }
        Rule::Min(min) => {
            integer(target, referenced)?.minimum = Some(number(*min));
            Ok(())
        }
        Rule::Fen(min) => {
            let object = integer(target, referenced)?;
            object.minimum = Some(number(*min));
            object.maximum = Some(number(AmountFen::MAX - 1));
            Ok(())
        }
        Rule::Text(max) => string(target, 1, Some(*max), Some(TEXT)),
        Rule::LongText(max) => string(target, 1, Some(*max), Some(LONG_TEXT)),
        Rule::Code(max) => string(target, 1, Some(*max), Some(CODE)),
        Rule::Division => string(target, 6, Some(6), Some(DIVISION)),
        Rule::Username => string(
            target,
            *users::USERNAME_LEN.start(),
            Some(*users::USERNAME_LEN.end()),
            Some(USERNAME),
        ),
        Rule::Password => string(
            target,
            NewPassword::MIN_CHARS,
            Some(NewPassword::MAX_CHARS),
            None,
        ),
        Rule::Phone => string(
            target,
            *contacts::PHONE_DIGITS.start(),
            Some(contacts::PHONE_MAX),
            Some(&phone_pattern()),
        ),
        Rule::Email => string(target, 5, Some(contacts::EMAIL_MAX), Some(EMAIL)),
        Rule::NonEmpty => string(target, 1, None, None),
        Rule::Chars(min, max) => string(target, *min, Some(*max), None),
    }
}

fn string(
    target: &mut RefOr<Schema>,
    min: usize,
    max: Option<usize>,
    pattern: Option<&str>,
) -> Result<(), String> {
    let RefOr::T(Schema::Object(object)) = target else {
        return Err("not an inline schema".into());
    };
    if !has_type(&object.schema_type, Type::String) || object.format.is_some() {
        return Err("not a plain string".into());
    }
    object.min_length = Some(min);
    object.max_length = max;
    object.pattern = pattern.map(str::to_string);
    Ok(())
}

/// The integer schema of `target`. A reference (`Fen`), plain or in a nullable `oneOf`, is
/// replaced by a copy of what it names, which can then carry bounds of its own.
fn integer<'a>(
    target: &'a mut RefOr<Schema>,
    referenced: &BTreeMap<String, RefOr<Schema>>,
) -> Result<&'a mut Object, String> {
    let copy = |reference: &str, description: Option<String>, nullable: bool| {
        let name = reference.rsplit('/').next().unwrap_or_default();
        let Some(RefOr::T(Schema::Object(found))) = referenced.get(name) else {
            return Err(format!("{reference} is not an inline schema"));
        };
        let mut copy = found.clone();
        if let Some(description) = description.filter(|d| !d.is_empty()) {
            copy.description = Some(description);
        }
        if nullable && let SchemaType::Type(t) = copy.schema_type {
            copy.schema_type = SchemaType::Array(vec![t, Type::Null]);
        }
        Ok(RefOr::T(Schema::Object(copy)))
    };
    let replacement = match &*target {
        RefOr::Ref(r) => Some(copy(&r.ref_location, Some(r.description.clone()), false)?),
        RefOr::T(Schema::OneOf(one)) => {
            let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
            match one.items.as_slice() {
                [RefOr::Ref(r), null] | [null, RefOr::Ref(r)] if is_null(null) => {
                    let description = one.description.clone().or(Some(r.description.clone()));
                    Some(copy(&r.ref_location, description, true)?)
                }
                _ => return Err("a oneOf other than a nullable reference".into()),
            }
        }
        RefOr::T(_) => None,
    };
    if let Some(replacement) = replacement {
        *target = replacement;
    }
    match target {
        RefOr::T(Schema::Object(object)) if has_type(&object.schema_type, Type::Integer) => {
            Ok(object)
        }
        _ => Err("not an integer".into()),
    }
}

fn has_type(schema_type: &SchemaType, wanted: Type) -> bool {
    match schema_type {
        SchemaType::Type(t) => *t == wanted,
        SchemaType::Array(types) => types.contains(&wanted),
        SchemaType::AnyValue => false,
    }
}

fn number(n: i64) -> Number {
    isize::try_from(n).map_or(Number::Float(n as f64), Number::Int)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::{
        prelude::*,
        strategy::ValueTree,
        test_runner::{Config, TestRunner},
    };
    use serde_json::{Value, json};

    use super::*;
    use crate::{
        domain::{Code, DivisionCode, Text},
        service::records::long_text,
    };

    fn document() -> Value {
        serde_json::to_value(crate::rest::openapi()).expect("document")
    }

    fn field<'a>(doc: &'a Value, schema: &str, property: &str) -> &'a Value {
        let found = &doc["components"]["schemas"][schema]["properties"][property];
        assert!(
            found.is_object(),
            "{schema}.{property} is not in the document"
        );
        found
    }

    #[test]
    fn every_rule_lands_on_a_field_of_its_kind() {
        // The served document has had the table applied once; applying it again must find every
        // schema and property, of the right kind, and change nothing.
        let mut doc = crate::rest::openapi();
        let before = serde_json::to_value(&doc).expect("document");
        let missed = apply(&mut doc);
        assert!(
            missed.is_empty(),
            "rules that did not apply:\n{}",
            missed.join("\n")
        );
        assert_eq!(serde_json::to_value(&doc).expect("document"), before);
    }

    #[test]
    fn a_rule_for_a_field_that_is_not_there_is_reported() {
        let mut doc = crate::rest::openapi();
        let schemas = &mut doc.components.as_mut().expect("components").schemas;
        let referenced = schemas.clone();
        assert!(property(schemas, "NewProject", "titel").is_err());
        assert!(property(schemas, "NewProjekt", "title").is_err());
        assert!(property(schemas, "NewProject", "title[]").is_err());
        let title = property(schemas, "NewProject", "title").expect("title");
        assert!(constrain(title, &Rule::Range(0, 1), &referenced).is_err());
        assert!(constrain(title, &Rule::MaxItems(1), &referenced).is_err());
        let year = property(schemas, "NewProject", "year").expect("year");
        assert!(constrain(year, &Rule::Text(1), &referenced).is_err());
        let date = property(schemas, "NewProject", "start_on").expect("start_on");
        assert!(constrain(date, &Rule::Text(1), &referenced).is_err());
    }

    #[test]
    fn the_document_states_the_numbers_the_service_checks() {
        let doc = document();
        let title = field(&doc, "NewProject", "title");
        assert_eq!(title["maxLength"], json!(projects::TITLE_MAX));
        assert_eq!(title["minLength"], 1);
        assert_eq!(title["pattern"], TEXT);
        assert_eq!(
            field(&doc, "ProjectPatch", "title")["type"],
            json!(["string", "null"])
        );
        assert_eq!(
            field(&doc, "ProjectPatch", "title")["maxLength"],
            json!(projects::TITLE_MAX)
        );
        assert_eq!(field(&doc, "NewProject", "basis")["pattern"], LONG_TEXT);
        assert_eq!(field(&doc, "NewProject", "code")["pattern"], CODE);
        assert_eq!(field(&doc, "NewProject", "year")["minimum"], 2000);
        assert_eq!(field(&doc, "NewProject", "year")["maximum"], 2100);
        let items = field(&doc, "NewProject", "items");
        assert_eq!(items["maxItems"], json!(projects::ITEMS_MAX));
        assert_eq!(items["items"]["$ref"], "#/components/schemas/ProjectItem");
        assert_eq!(
            field(&doc, "ProjectItem", "unit")["maxLength"],
            json!(projects::ITEM_UNIT_MAX)
        );

        // Money: the reference to `Fen` becomes an integer with bounds of its own.
        let amount = field(&doc, "NewFundTransaction", "amount_fen");
        assert_eq!(amount["type"], "integer");
        assert_eq!(amount["format"], "int64");
        assert_eq!(amount["minimum"], 1);
        assert_eq!(amount["maximum"], json!(AmountFen::MAX - 1));
        let budget = field(&doc, "ProjectPatch", "budget_fen");
        assert_eq!(budget["type"], json!(["integer", "null"]));
        assert_eq!(budget["minimum"], 0);
        assert!(budget.get("oneOf").is_none());
        assert_eq!(
            field(&doc, "NewAgreement", "committed_fen")["description"],
            "Integer fen, not negative."
        );
        // Outputs keep the shared type.
        assert_eq!(
            field(&doc, "ProjectView", "budget_fen")["$ref"],
            "#/components/schemas/Fen"
        );

        let visitors = field(&doc, "ExchangePatch", "visiting_org_ids");
        assert_eq!(visitors["maxItems"], json!(exchanges::VISITORS_MAX));
        assert_eq!(visitors["uniqueItems"], true);
        assert_eq!(
            field(&doc, "NewExchange", "leaders_present")["items"]["maxLength"],
            json!(exchanges::LEADER_MAX)
        );
        assert!(
            field(&doc, "NewProject", "items")
                .get("uniqueItems")
                .is_none()
        );
        assert_eq!(
            field(&doc, "NewOrganization", "division_code")["maxLength"],
            6
        );
        assert_eq!(
            field(&doc, "NewContact", "phone")["pattern"],
            r"^\+?[0-9](?:[- ]*[0-9]){4,19}$"
        );
        assert_eq!(field(&doc, "NewUser", "password")["minLength"], 12);
        assert_eq!(field(&doc, "UserPatch", "password")["maxLength"], 256);
        assert_eq!(field(&doc, "NewUser", "username")["maxLength"], 64);
        assert_eq!(field(&doc, "NewPlanTask", "quarter")["maximum"], 4);
        assert_eq!(
            field(&doc, "NewPairing", "external_id")["maxLength"],
            json!(EXTERNAL_ID_MAX)
        );
    }

    /// Fields the table leaves alone on purpose, and why.
    const UNSTATED: &[(&str, &str)] = &[
        // One of the kinds of `counts_record_type`: depends on another field.
        ("NewPlanTask", "counts_kind"),
        ("PlanTaskPatch", "counts_kind"),
        // Anything else is `400 unsupported_grant_type`, not a field error.
        ("TokenRequest", "grant_type"),
        // Ignored.
        ("TokenRequest", "scope"),
        // Bounded by `XIEZUO_SYNC_BATCH_MAX`, a setting: the document cannot know it.
        ("SyncBatch_NewFundTransaction", "items"),
        ("SyncBatch_NewExchange", "items"),
        ("SyncBatch_NewAgreement", "items"),
        ("SyncBatch_NewProject", "items"),
        ("SyncBatch_EvidenceMetadata", "items"),
        // Bounded by `XIEZUO_IMPORT_MAX_BYTES`, a setting.
        ("ImportUpload", "file"),
    ];

    /// The request bodies, and the object schemas they contain.
    fn request_schemas(doc: &Value) -> BTreeSet<String> {
        fn refs(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        out.push(r.trim_start_matches("#/components/schemas/").to_string());
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut pending = Vec::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("operations").values() {
                refs(&op["requestBody"], &mut pending);
            }
        }
        let mut found = BTreeSet::new();
        while let Some(name) = pending.pop() {
            let schema = &doc["components"]["schemas"][&name];
            if schema["type"] == "object" && found.insert(name) {
                refs(&schema["properties"], &mut pending);
            }
        }
        found
    }

    #[test]
    fn every_record_type_fits_the_stated_length_and_pattern() {
        for kind in crate::service::changes::KINDS.map(|k| k.as_str()) {
            let code = kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            assert!(kind.len() <= KIND_MAX && code, "{kind}");
        }
    }

    #[test]
    fn every_request_field_that_can_be_bounded_is() {
        // A new text, number or list field of a request body needs a rule (or a place in
        // UNSTATED): the document must not silently stay looser than the service.
        let doc = document();
        let schemas = request_schemas(&doc);
        for name in [
            "NewProject",
            "ProjectItem",
            "Milestone",
            "WorkingGroupMemberInput",
            "TokenRequest",
        ] {
            assert!(
                schemas.contains(name),
                "{name} is not found as a request schema"
            );
        }
        let mut unbounded = Vec::new();
        for name in &schemas {
            let properties = doc["components"]["schemas"][name]["properties"]
                .as_object()
                .expect("properties");
            for (property, schema) in properties {
                if UNSTATED.contains(&(name.as_str(), property.as_str())) {
                    continue;
                }
                let types: Vec<&str> = match &schema["type"] {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                let bounded = if types.contains(&"string") && schema.get("format").is_none() {
                    schema.get("maxLength").is_some() || schema.get("minLength").is_some()
                } else if types.contains(&"integer") {
                    schema.get("minimum").is_some()
                } else if types.contains(&"array") {
                    let item = &schema["items"];
                    let plain_text = item["type"] == "string" && item.get("format").is_none();
                    schema.get("maxItems").is_some()
                        && (!plain_text || item.get("maxLength").is_some())
                } else {
                    // Booleans, UUIDs, dates, enumerations and nested objects: typed already.
                    // A reference to a plain scalar (`Fen`) is not.
                    let reference = schema["$ref"]
                        .as_str()
                        .or_else(|| schema["oneOf"][0]["$ref"].as_str())
                        .or_else(|| schema["oneOf"][1]["$ref"].as_str());
                    reference.is_none_or(|r| {
                        let target = &doc["components"]["schemas"]
                            [r.trim_start_matches("#/components/schemas/")];
                        target.get("enum").is_some() || target["type"] == "object"
                    })
                };
                if !bounded {
                    unbounded.push(format!("{name}.{property}"));
                }
            }
        }
        assert!(
            unbounded.is_empty(),
            "fields without a stated rule: {unbounded:?}"
        );
    }

    /// The ECMA-262 pattern as a Rust regex for proptest, which has no anchors: each of ours
    /// is anchored at both ends.
    fn generator(pattern: &str) -> impl Strategy<Value = String> {
        let inner = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .expect("an anchored pattern");
        proptest::string::string_regex(inner).expect("a pattern proptest reads")
    }

    /// `n` values of `pattern`, from a fixed seed.
    fn samples(pattern: &str, n: usize) -> Vec<String> {
        let strategy = generator(pattern);
        let mut runner = TestRunner::deterministic();
        (0..n)
            .map(|_| strategy.new_tree(&mut runner).expect("value").current())
            .collect()
    }

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    proptest! {
        #![proptest_config(Config::with_cases(512))]

        #[test]
        fn text_the_document_allows_the_service_accepts(s in generator(TEXT)) {
            for max in [1, 20, 200] {
                if chars(&s) <= max {
                    prop_assert!(Text::parse(&s, max).is_ok(), "{s:?} at most {max}");
                }
            }
        }

        #[test]
        fn long_text_the_document_allows_the_service_accepts(s in generator(LONG_TEXT)) {
            prop_assert!(long_text(&s, chars(&s)).is_ok(), "{s:?}");
        }

        #[test]
        fn codes_the_document_allows_the_service_accepts(s in generator(CODE)) {
            prop_assert!(Code::parse(&s, chars(&s)).is_ok(), "{s:?}");
        }

        #[test]
        fn division_codes_the_document_allows_the_service_accepts(s in generator(DIVISION)) {
            prop_assert!(DivisionCode::parse(&s).is_ok(), "{s:?}");
        }

        #[test]
        fn user_names_the_document_allows_the_service_accepts(s in generator(USERNAME)) {
            if users::USERNAME_LEN.contains(&chars(&s)) {
                prop_assert!(users::parse_username(&s).is_ok(), "{s:?}");
            }
        }
    }

    /// The email and phone rules are private to `contacts`; the API test posts values of these
    /// shapes. Here: the patterns read as intended.
    #[test]
    fn phone_and_email_patterns_have_the_intended_shape() {
        for phone in samples(&phone_pattern(), 300) {
            let body = phone.strip_prefix('+').unwrap_or(&phone);
            let digits = body.chars().filter(char::is_ascii_digit).count();
            assert!(contacts::PHONE_DIGITS.contains(&digits), "{phone:?}");
            assert!(
                body.chars()
                    .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
            );
            assert!(body.starts_with(|c: char| c.is_ascii_digit()));
            assert!(body.ends_with(|c: char| c.is_ascii_digit()));
        }
        for email in samples(EMAIL, 300) {
            let (local, domain) = email.split_once('@').expect("one @");
            assert!(!local.is_empty() && !domain.contains('@'), "{email:?}");
            assert!(!email.chars().any(|c| c.is_whitespace() || c.is_control()));
            let (name, tld) = domain.rsplit_once('.').expect("a dot");
            assert!(!name.is_empty() && !tld.is_empty() && !domain.starts_with('.'));
            assert!(!domain.contains(".."), "{email:?}");
        }
    }

    /// Not stricter than it needs to be where that is easy to see: the provinces and the
    /// characters the patterns allow are the ones the service accepts.
    #[test]
    fn the_patterns_allow_what_the_service_accepts() {
        let provinces: BTreeSet<String> = samples(DIVISION, 5000)
            .iter()
            .map(|s| s[..2].to_string())
            .collect();
        let accepted: BTreeSet<String> = (0..100)
            .map(|p| format!("{p:02}"))
            .filter(|p| DivisionCode::parse(&format!("{p}0000")).is_ok())
            .collect();
        assert_eq!(provinces, accepted);

        let seen = |pattern: &str| -> BTreeSet<char> {
            samples(pattern, 2000)
                .iter()
                .flat_map(|s| s.chars())
                .collect()
        };
        let ascii = || (0u8..128).map(char::from);
        let codes: BTreeSet<char> = ascii()
            .filter(|c| Code::parse(&c.to_string(), 1).is_ok())
            .collect();
        assert_eq!(seen(CODE), codes);
        let names: BTreeSet<char> = ascii()
            .filter(|c| users::parse_username(&c.to_string().repeat(3)).is_ok())
            .collect();
        assert_eq!(seen(USERNAME), names);

        assert!(NewPassword::parse(&"档".repeat(NewPassword::MAX_CHARS)).is_ok());
        assert!(NewPassword::parse(&"档".repeat(NewPassword::MAX_CHARS + 1)).is_err());
        assert!(NewPassword::parse(&"a".repeat(NewPassword::MIN_CHARS)).is_ok());
        assert!(NewPassword::parse(&"a".repeat(NewPassword::MIN_CHARS - 1)).is_err());
    }
}
