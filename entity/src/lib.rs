//! sea-orm entities, one module per table. They carry no serde, GraphQL or OpenAPI derives: the
//! API types live in `xiezuo::service` and are mapped from these, so a new column never becomes
//! public API by accident.

pub mod agreement;
pub mod agreement_project;
pub mod audit_log;
pub mod calendar_year;
pub mod change;
pub mod contact;
pub mod evidence;
pub mod evidence_link;
pub mod exchange;
pub mod exchange_visiting_org;
pub mod fund_transaction;
pub mod idempotency_key;
pub mod ledger_submission;
pub mod ledger_submission_evidence;
pub mod organization;
pub mod pairing;
pub mod plan;
pub mod plan_task;
pub mod plan_task_org;
pub mod project;
pub mod reconciliation;
pub mod reconciliation_line;
pub mod reconciliation_line_event;
pub mod self_assessment;
pub mod service_account;
pub mod statement;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
pub mod working_group;
