//! sea-orm entities, one module per table. They carry no serde, GraphQL or OpenAPI derives: the
//! API types live in `xiezuo::service` and are mapped from these, so a new column never becomes
//! public API by accident.

pub mod audit_log;
pub mod organization;
pub mod pairing;
pub mod service_account;
pub mod user;
