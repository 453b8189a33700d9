//! The core ledger records: contacts, working groups, plans and plan tasks, projects, fund
//! transactions, exchanges, agreements, and the idempotency keys of POST requests.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, s};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns every mutable record has (DESIGN §1).
fn record(table: &str) -> TableCreateStatement {
    Table::create()
        .table(Alias::new(table))
        .col(pk_uuid(Alias::new("id")))
        .col(integer(Alias::new("version")))
        .col(uuid(Alias::new("owner_org_id")))
        .col(string_len_null(Alias::new("external_id"), 200))
        .col(timestamp_with_time_zone(Alias::new("created_at")))
        .col(timestamp_with_time_zone(Alias::new("updated_at")))
        .col(timestamp_with_time_zone_null(Alias::new("deleted_at")))
        .foreign_key(&mut fk(table, "owner_org_id", "organizations"))
        .to_owned()
}

fn index(table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(format!("idx_{table}_{}", cols.join("_")))
        .table(Alias::new(table));
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            record("contacts")
                .col(uuid(s("org_id")))
                .col(string_len(s("name"), 100))
                .col(string_len_null(s("title"), 100))
                .col(string_len_null(s("phone"), 32))
                .col(string_len_null(s("email"), 200))
                .foreign_key(&mut fk("contacts", "org_id", "organizations"))
                .to_owned(),
            record("working_groups")
                .col(uuid(s("org_id")))
                .col(string_len(s("name"), 200))
                .col(uuid_null(s("office_org_id")))
                .col(uuid_null(s("responsible_org_id")))
                .col(json(s("members")))
                .foreign_key(&mut fk("working_groups", "org_id", "organizations"))
                .to_owned(),
            record("plans")
                .col(uuid(s("org_id")))
                .col(integer(s("year")))
                .col(string_len(s("title"), 200))
                .foreign_key(&mut fk("plans", "org_id", "organizations"))
                .to_owned(),
            record("plan_tasks")
                .col(uuid(s("plan_id")))
                .col(integer(s("quarter")))
                .col(string_len(s("title"), 500))
                .col(date(s("due_on")))
                .col(uuid(s("responsible_org_id")))
                .col(integer(s("target_count")))
                .col(string_len_null(s("counts_record_type"), 32))
                .col(string_len_null(s("counts_kind"), 32))
                .foreign_key(&mut fk("plan_tasks", "plan_id", "plans"))
                .to_owned(),
            record("projects")
                .col(string_len_uniq(s("code"), 64))
                .col(integer(s("year")))
                .col(string_len(s("title"), 200))
                .col(string_len(s("category"), 32))
                .col(string_len(s("status"), 16))
                .col(uuid(s("pairing_id")))
                .col(text(s("basis")))
                .col(json(s("items")))
                .col(text_null(s("quantity")))
                .col(text(s("measures")))
                .col(boolean(s("deep_poverty")))
                .col(integer(s("beneficiaries_planned")))
                .col(integer_null(s("beneficiaries_actual")))
                .col(big_integer(s("budget_fen")))
                .col(uuid_null(s("responsible_contact_id")))
                .col(date_null(s("start_on")))
                .col(date_null(s("end_on")))
                .col(json(s("milestones")))
                .foreign_key(&mut fk("projects", "pairing_id", "pairings"))
                .to_owned(),
            record("fund_transactions")
                .col(uuid(s("pairing_id")))
                .col(uuid_null(s("project_id")))
                .col(string_len(s("kind"), 16))
                .col(string_len(s("side"), 8))
                .col(big_integer(s("amount_fen")))
                .col(date(s("occurred_on")))
                .col(string_len_null(s("voucher_no"), 100))
                .col(text_null(s("note")))
                .foreign_key(&mut fk("fund_transactions", "pairing_id", "pairings"))
                .foreign_key(&mut fk("fund_transactions", "project_id", "projects"))
                .to_owned(),
            record("exchanges")
                .col(string_len(s("kind"), 32))
                .col(string_len(s("direction"), 16))
                .col(uuid_null(s("pairing_id")))
                .col(uuid(s("host_org_id")))
                .col(date(s("start_on")))
                .col(date(s("end_on")))
                .col(json(s("leaders_present")))
                .col(integer_null(s("participants")))
                .col(text_null(s("summary")))
                .foreign_key(&mut fk("exchanges", "pairing_id", "pairings"))
                .foreign_key(&mut fk("exchanges", "host_org_id", "organizations"))
                .to_owned(),
            Table::create()
                .table(s("exchange_visiting_orgs"))
                .col(uuid(s("exchange_id")))
                .col(uuid(s("org_id")))
                .primary_key(Index::create().col(s("exchange_id")).col(s("org_id")))
                .foreign_key(&mut fk(
                    "exchange_visiting_orgs",
                    "exchange_id",
                    "exchanges",
                ))
                .foreign_key(&mut fk("exchange_visiting_orgs", "org_id", "organizations"))
                .to_owned(),
            record("agreements")
                .col(uuid(s("pairing_id")))
                .col(string_len(s("title"), 200))
                .col(date(s("signed_on")))
                .col(big_integer(s("committed_fen")))
                .col(text_null(s("summary")))
                .foreign_key(&mut fk("agreements", "pairing_id", "pairings"))
                .to_owned(),
            Table::create()
                .table(s("agreement_projects"))
                .col(uuid(s("agreement_id")))
                .col(uuid(s("project_id")))
                .primary_key(Index::create().col(s("agreement_id")).col(s("project_id")))
                .foreign_key(&mut fk("agreement_projects", "agreement_id", "agreements"))
                .foreign_key(&mut fk("agreement_projects", "project_id", "projects"))
                .to_owned(),
            Table::create()
                .table(s("idempotency_keys"))
                .col(uuid(s("actor_id")))
                .col(string_len(s("key"), 200))
                .col(string_len(s("request_hash"), 64))
                .col(integer(s("status")))
                .col(text(s("response_body")))
                .col(json(s("response_headers")))
                .col(timestamp_with_time_zone(s("created_at")))
                .primary_key(Index::create().col(s("actor_id")).col(s("key")))
                .to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexes: &[(&str, &[&str])] = &[
            ("contacts", &["org_id"]),
            ("working_groups", &["org_id"]),
            ("plans", &["org_id", "year"]),
            ("plan_tasks", &["plan_id"]),
            ("plan_tasks", &["responsible_org_id"]),
            ("projects", &["pairing_id"]),
            ("projects", &["owner_org_id"]),
            ("projects", &["year"]),
            ("projects", &["status"]),
            ("projects", &["category"]),
            ("projects", &["updated_at"]),
            ("fund_transactions", &["pairing_id"]),
            ("fund_transactions", &["project_id"]),
            ("fund_transactions", &["owner_org_id"]),
            ("fund_transactions", &["occurred_on"]),
            ("fund_transactions", &["voucher_no"]),
            ("exchanges", &["pairing_id"]),
            ("exchanges", &["host_org_id"]),
            ("exchanges", &["owner_org_id"]),
            ("exchanges", &["start_on"]),
            ("exchange_visiting_orgs", &["org_id"]),
            ("agreements", &["pairing_id"]),
            ("agreement_projects", &["project_id"]),
            ("idempotency_keys", &["created_at"]),
        ];
        for (table, cols) in indexes {
            manager.create_index(index(table, cols)).await?;
        }
        for table in [
            "contacts",
            "working_groups",
            "plans",
            "plan_tasks",
            "projects",
            "fund_transactions",
            "exchanges",
            "agreements",
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(format!("uq_{table}_external"))
                        .table(s(table))
                        .col(s("owner_org_id"))
                        .col(s("external_id"))
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_keys",
            "agreement_projects",
            "agreements",
            "exchange_visiting_orgs",
            "exchanges",
            "fund_transactions",
            "projects",
            "plan_tasks",
            "plans",
            "working_groups",
            "contacts",
        ] {
            manager
                .drop_table(Table::drop().table(s(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
