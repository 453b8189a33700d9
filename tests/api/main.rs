//! The API tests: one binary, each test on its own fresh database.

mod auth;
mod authz_matrix;
mod batching;
mod errors;
mod graphql;
mod operations;
mod organizations;
mod pairings;
mod schema_drift;
mod seed;
