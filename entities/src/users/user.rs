use sea_orm::entity::prelude::*;

/// An account. `email_key` (trimmed, lower-cased) is what makes emails unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub legacy_id: Option<i64>,
    pub email: String,
    #[sea_orm(unique)]
    pub email_key: String,
    pub password_hash: String,
    pub password_scheme: PasswordScheme,
    pub full_name: String,
    pub role: Role,
    pub company_name: Option<String>,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    pub suspended: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    #[sea_orm(string_value = "USER")]
    User,
    #[sea_orm(string_value = "SPONSOR")]
    Sponsor,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "SERVICE")]
    Service,
}

/// How `password_hash` was made. Legacy schemes are re-hashed to argon2id on login.
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PasswordScheme {
    #[sea_orm(string_value = "argon2id")]
    Argon2id,
    #[sea_orm(string_value = "legacy-md5")]
    LegacyMd5,
    #[sea_orm(string_value = "legacy-sha256")]
    LegacySha256,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
