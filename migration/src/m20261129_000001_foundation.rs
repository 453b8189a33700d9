use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Code,
    Name,
    Region,
    Level,
    Kind,
    ParentId,
    DivisionCode,
    Version,
    OwnerOrgId,
    ExternalId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Pairings {
    Table,
    Id,
    EastOrgId,
    WestOrgId,
    Level,
    StartedOn,
    EndedOn,
    Version,
    OwnerOrgId,
    ExternalId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
    Role,
    OrgId,
    Disabled,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum ServiceAccounts {
    Table,
    Id,
    Name,
    ClientId,
    SecretHash,
    Role,
    OrgId,
    Disabled,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OccurredAt,
    ActorType,
    ActorId,
    ActorRole,
    Action,
    RecordType,
    RecordId,
    Before,
    After,
    RequestId,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(pk_uuid(Organizations::Id))
                    .col(string_len_uniq(Organizations::Code, 64))
                    .col(string_len(Organizations::Name, 200))
                    .col(string_len(Organizations::Region, 16))
                    .col(string_len(Organizations::Level, 16))
                    .col(string_len(Organizations::Kind, 16))
                    .col(uuid_null(Organizations::ParentId))
                    .col(string_len_null(Organizations::DivisionCode, 6))
                    .col(integer(Organizations::Version))
                    .col(uuid(Organizations::OwnerOrgId))
                    .col(string_len_null(Organizations::ExternalId, 200))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Organizations::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organizations_parent")
                            .from(Organizations::Table, Organizations::ParentId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_organizations_parent", &["parent_id"][..]),
            ("idx_organizations_division", &["division_code"][..]),
            ("idx_organizations_region", &["region"][..]),
            ("idx_organizations_level", &["level"][..]),
            ("idx_organizations_kind", &["kind"][..]),
        ] {
            manager
                .create_index(index(name, Organizations::Table, cols))
                .await?;
        }
        manager
            .create_index(
                index(
                    "uq_organizations_external",
                    Organizations::Table,
                    &["owner_org_id", "external_id"],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Pairings::Table)
                    .col(pk_uuid(Pairings::Id))
                    .col(uuid(Pairings::EastOrgId))
                    .col(uuid(Pairings::WestOrgId))
                    .col(string_len(Pairings::Level, 32))
                    .col(date(Pairings::StartedOn))
                    .col(date_null(Pairings::EndedOn))
                    .col(integer(Pairings::Version))
                    .col(uuid(Pairings::OwnerOrgId))
                    .col(string_len_null(Pairings::ExternalId, 200))
                    .col(timestamp_with_time_zone(Pairings::CreatedAt))
                    .col(timestamp_with_time_zone(Pairings::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Pairings::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pairings_east")
                            .from(Pairings::Table, Pairings::EastOrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pairings_west")
                            .from(Pairings::Table, Pairings::WestOrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_pairings_east",
                Pairings::Table,
                &["east_org_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_pairings_west",
                Pairings::Table,
                &["west_org_id"],
            ))
            .await?;
        manager
            .create_index(
                index(
                    "uq_pairings_external",
                    Pairings::Table,
                    &["owner_org_id", "external_id"],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_len_uniq(Users::Username, 64))
                    .col(string(Users::PasswordHash))
                    .col(string_len(Users::Role, 16))
                    .col(uuid_null(Users::OrgId))
                    .col(boolean(Users::Disabled))
                    .col(integer(Users::Version))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Users::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_org")
                            .from(Users::Table, Users::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceAccounts::Table)
                    .col(pk_uuid(ServiceAccounts::Id))
                    .col(string_len(ServiceAccounts::Name, 200))
                    .col(string_len_uniq(ServiceAccounts::ClientId, 64))
                    .col(string(ServiceAccounts::SecretHash))
                    .col(string_len(ServiceAccounts::Role, 16))
                    .col(uuid_null(ServiceAccounts::OrgId))
                    .col(boolean(ServiceAccounts::Disabled))
                    .col(integer(ServiceAccounts::Version))
                    .col(timestamp_with_time_zone(ServiceAccounts::CreatedAt))
                    .col(timestamp_with_time_zone(ServiceAccounts::UpdatedAt))
                    .col(timestamp_with_time_zone_null(ServiceAccounts::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_service_accounts_org")
                            .from(ServiceAccounts::Table, ServiceAccounts::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::OccurredAt))
                    .col(string_len(AuditLog::ActorType, 16))
                    .col(uuid(AuditLog::ActorId))
                    .col(string_len(AuditLog::ActorRole, 16))
                    .col(string_len(AuditLog::Action, 16))
                    .col(string_len(AuditLog::RecordType, 32))
                    .col(uuid(AuditLog::RecordId))
                    .col(json_null(AuditLog::Before))
                    .col(json_null(AuditLog::After))
                    .col(string_len_null(AuditLog::RequestId, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_audit_log_record",
                AuditLog::Table,
                &["record_type", "record_id"],
            ))
            .await?;
        manager
            .create_index(index("idx_audit_log_actor", AuditLog::Table, &["actor_id"]))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            ServiceAccounts::Table.into_iden(),
            Users::Table.into_iden(),
            Pairings::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
