//! The API tests: one binary, each test on its own fresh database.

mod agreements;
mod assessments;
mod auth;
mod authz_matrix;
mod batching;
mod calendar;
mod constraints;
mod contacts;
mod errors;
mod evidence;
mod exchanges;
mod graphql;
mod hostile;
mod ledger_submissions;
mod ledgers;
mod money_rules;
mod operations;
mod organizations;
mod pairings;
mod plans;
mod projects;
mod read_path;
mod schema_drift;
mod seed;
mod self_assessments;
mod working_groups;
