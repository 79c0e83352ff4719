//! Accounts: the `users` table.

use async_trait::async_trait;
use medtrack_core::error::Entity;
use medtrack_core::id::UserId;
use medtrack_core::model::{BirthDate, DoctorProfile, PasswordHash, User};
use medtrack_core::store::{AccountStore, Effects, Page, PageRequest, StoreResult, UserFilter};
use medtrack_core::text::Email;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, FromRow, QueryBuilder, Sqlite};

use crate::codec;
use crate::effects::write_effects;
use crate::error::SqliteError;
use crate::page::{limit_plus_one, split_page};
use crate::SqliteStore;

const USER_COLUMNS: &str = "id, email, name, role, status, phone, birth_date, time_zone, \
                            specialty, schedule, password_hash, created_at, updated_at, version";

#[derive(FromRow)]
struct UserRow {
    id: String,
    email: String,
    name: String,
    role: String,
    status: String,
    phone: Option<String>,
    birth_date: Option<String>,
    time_zone: Option<String>,
    specialty: Option<String>,
    schedule: Option<String>,
    password_hash: String,
    created_at: String,
    updated_at: String,
    version: i64,
}

impl TryFrom<UserRow> for User {
    type Error = SqliteError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: codec::parse("users.id", &row.id)?,
            email: Email::parse(&row.email).map_err(|_| SqliteError::Decode("users.email"))?,
            name: codec::parse_text("users.name", &row.name)?,
            role: codec::parse_label("users.role", &row.role)?,
            status: codec::parse_label("users.status", &row.status)?,
            phone: row
                .phone
                .map(|phone| codec::parse_text("users.phone", &phone))
                .transpose()?,
            birth_date: row
                .birth_date
                .map(|day| codec::parse_date("users.birth_date", &day).map(BirthDate))
                .transpose()?,
            time_zone: row
                .time_zone
                .map(|zone| codec::parse("users.time_zone", &zone))
                .transpose()?,
            doctor: doctor_profile(row.specialty, row.schedule)?,
            password_hash: PasswordHash::from_phc(row.password_hash),
            created_at: codec::parse_instant("users.created_at", &row.created_at)?,
            updated_at: codec::parse_instant("users.updated_at", &row.updated_at)?,
            version: codec::parse_int("users.version", row.version)?,
        })
    }
}

fn doctor_profile(
    specialty: Option<String>,
    schedule: Option<String>,
) -> Result<Option<DoctorProfile>, SqliteError> {
    let (Some(specialty), Some(schedule)) = (specialty, schedule) else {
        return Ok(None);
    };
    Ok(Some(DoctorProfile {
        specialty: codec::parse_text("users.specialty", &specialty)?,
        schedule: codec::parse_json("users.schedule", &schedule)?,
    }))
}

/// The values of every column but `id`, `email` and `created_at`, in the order of
/// [`UPDATE_SET`]; callers append the values of their key columns.
fn mutable_arguments(user: &User) -> Result<SqliteArguments<'static>, SqliteError> {
    let profile = user.doctor.as_ref();
    let mut args = SqliteArguments::default();
    add(&mut args, user.name.as_ref().to_owned())?;
    add(&mut args, codec::label(&user.role)?)?;
    add(&mut args, codec::label(&user.status)?)?;
    add(
        &mut args,
        user.phone.as_ref().map(|p| p.as_ref().to_owned()),
    )?;
    add(&mut args, user.birth_date.map(|day| codec::date(day.0)))?;
    add(&mut args, user.time_zone.map(|zone| zone.name().to_owned()))?;
    add(&mut args, profile.map(|p| p.specialty.as_str().to_owned()))?;
    add(
        &mut args,
        profile.map(|p| codec::json(&p.schedule)).transpose()?,
    )?;
    add(&mut args, user.password_hash.expose_phc().to_owned())?;
    add(&mut args, codec::instant(user.updated_at)?)?;
    add(&mut args, codec::int(user.version)?)?;
    Ok(args)
}

const UPDATE_SET: &str = "name = ?, role = ?, status = ?, phone = ?, birth_date = ?, \
                          time_zone = ?, specialty = ?, schedule = ?, password_hash = ?, \
                          updated_at = ?, version = ?";

fn add<'q, T>(args: &mut SqliteArguments<'q>, value: T) -> Result<(), SqliteError>
where
    T: sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + 'q,
{
    args.add(value)
        .map_err(|_| SqliteError::Encode("a column value"))
}

impl SqliteStore {
    async fn insert_user(&self, user: &User, effects: Effects) -> Result<(), SqliteError> {
        let mut args = mutable_arguments(user)?;
        add(&mut args, user.id.to_string())?;
        add(&mut args, user.email.as_ref().to_owned())?;
        add(&mut args, codec::instant(user.created_at)?)?;
        let sql = "INSERT INTO users (name, role, status, phone, birth_date, time_zone, \
                   specialty, schedule, password_hash, updated_at, version, id, email, \
                   created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

        let mut tx = self.begin_write().await?;
        sqlx::query_with(sql, args).execute(&mut *tx).await?;
        write_effects(&mut tx, &effects).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_user(&self, user: &User, expected_version: u64) -> Result<(), SqliteError> {
        let mut args = mutable_arguments(user)?;
        add(&mut args, user.id.to_string())?;
        add(&mut args, codec::int(expected_version)?)?;
        let sql = format!("UPDATE users SET {UPDATE_SET} WHERE id = ? AND version = ?");

        let mut tx = self.begin_write().await?;
        let done = sqlx::query_with(&sql, args).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(missing_or_stale(&mut tx, user.id).await);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn fetch_user(&self, id: UserId) -> Result<User, SqliteError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(self.read_pool())
            .await?;
        row.ok_or_else(|| SqliteError::not_found(Entity::User, id))?
            .try_into()
    }

    async fn fetch_user_by_email(&self, email: &Email) -> Result<Option<User>, SqliteError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(email.as_ref())
            .fetch_optional(self.read_pool())
            .await?;
        row.map(User::try_from).transpose()
    }

    async fn fetch_users(
        &self,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, SqliteError> {
        let mut sql =
            QueryBuilder::<Sqlite>::new(format!("SELECT {USER_COLUMNS} FROM users WHERE 1"));
        if let Some(role) = filter.role {
            sql.push(" AND role = ").push_bind(codec::label(&role)?);
        }
        if let Some(status) = filter.status {
            sql.push(" AND status = ").push_bind(codec::label(&status)?);
        }
        if let Some(cursor) = &page.cursor {
            let after =
                codec::parse::<UserId>("cursor", cursor).map_err(|_| SqliteError::Cursor)?;
            sql.push(" AND email > (SELECT email FROM users WHERE id = ")
                .push_bind(after.to_string())
                .push(")");
        }
        sql.push(" ORDER BY email LIMIT ")
            .push_bind(limit_plus_one(&page));

        let rows: Vec<UserRow> = sql.build_query_as().fetch_all(self.read_pool()).await?;
        let users = rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<_, _>>()?;
        Ok(split_page(users, &page, |user: &User| user.id.to_string()))
    }
}

/// After a conditional update touched no row: `NotFound` if the account is gone, else
/// `StaleVersion`.
async fn missing_or_stale(tx: &mut sqlx::SqliteConnection, id: UserId) -> SqliteError {
    let exists = sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)")
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await;
    match exists {
        Ok(true) => SqliteError::Conflict(medtrack_core::error::ConflictKind::StaleVersion),
        Ok(false) => SqliteError::not_found(Entity::User, id),
        Err(err) => err.into(),
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: &User, effects: Effects) -> StoreResult<()> {
        Ok(self.insert_user(user, effects).await?)
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        Ok(self.fetch_user(id).await?)
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        Ok(self.fetch_user_by_email(email).await?)
    }

    async fn update_user(&self, user: &User, expected_version: u64) -> StoreResult<()> {
        Ok(self.replace_user(user, expected_version).await?)
    }

    async fn list_users(&self, filter: UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        Ok(self.fetch_users(filter, page).await?)
    }
}
