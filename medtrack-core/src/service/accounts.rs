//! Registration, login, sessions and profiles.

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tracing::instrument;

use super::MedTrack;
use crate::error::{Entity, Error, Result, StoreError, ValidationError, ValidationReason};
use crate::id::UserId;
use crate::model::{
    AccountStatus, BirthDate, DoctorProfile, EventKind, Recipient, Role, Session, TokenHash, User,
};
use crate::policy::Principal;
use crate::schedule::Schedule;
use crate::store::Effects;
use crate::text::{Email, Password, PersonName, PhoneNumber, Specialty};

/// What a person types to register. Fields are raw text; [`MedTrack::register`] parses
/// them and reports the first bad one by name.
#[derive(Clone, Default)]
pub struct NewAccount {
    /// The name to show.
    pub name: String,
    /// The login email.
    pub email: String,
    /// The password, at least 12 characters.
    pub password: String,
    /// `Patient` or `Doctor`; admins are created by [`MedTrack::bootstrap_admin`].
    pub role: Option<Role>,
    /// An optional phone number.
    pub phone: Option<String>,
    /// A patient's optional date of birth.
    pub birth_date: Option<NaiveDate>,
    /// An IANA zone: the doctor's working zone (default UTC), or a patient's display zone.
    pub time_zone: Option<String>,
    /// A doctor's specialty (required for doctors).
    pub specialty: Option<String>,
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// An account as its owner sees it: everything but the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The account's id.
    pub id: UserId,
    /// The login email.
    pub email: Email,
    /// The name to show.
    pub name: PersonName,
    /// The role.
    pub role: Role,
    /// Whether the account is active, pending approval or deactivated.
    pub status: AccountStatus,
    /// A contact number.
    pub phone: Option<PhoneNumber>,
    /// A patient's date of birth.
    pub birth_date: Option<BirthDate>,
    /// The zone times are shown in: a patient's choice, or a doctor's working zone.
    pub time_zone: Option<Tz>,
    /// A doctor's specialty.
    pub specialty: Option<Specialty>,
}

impl From<&User> for Profile {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
            status: user.status,
            phone: user.phone.clone(),
            birth_date: user.birth_date,
            time_zone: user.shown_time_zone(),
            specialty: user.specialty(),
        }
    }
}

/// Changes to one's own profile; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct ProfileUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new phone number; `Some("")` removes it.
    pub phone: Option<String>,
    /// A patient's new display zone; `Some("")` removes it.
    pub time_zone: Option<String>,
}

impl fmt::Debug for ProfileUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProfileUpdate(<redacted>)")
    }
}

/// A successful login: the session token to hand to the client, and who signed in.
pub struct LoginSession {
    /// The opaque session token; only its hash is stored. Send it back on every call.
    pub token: SecretString,
    /// Who signed in.
    pub principal: Principal,
    /// When the session ends unless used.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for LoginSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginSession")
            .field("token", &"<redacted>")
            .field("principal", &self.principal)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

struct ParsedAccount {
    name: PersonName,
    email: Email,
    password: Password,
    phone: Option<PhoneNumber>,
    time_zone: Option<Tz>,
    doctor: Option<DoctorProfile>,
}

impl MedTrack {
    /// Registers a patient or doctor. A doctor stays pending approval, unbookable, until an
    /// admin approves them (unless [`auto_approve_doctors`](super::Settings) is set), and
    /// starts with the [standard schedule](Schedule::standard) in their zone.
    #[instrument(skip_all, fields(role = ?account.role), err(level = "debug"))]
    pub async fn register(&self, account: NewAccount) -> Result<Profile> {
        let role = match account.role {
            Some(role @ (Role::Patient | Role::Doctor)) => role,
            _ => {
                return Err(ValidationError::new(
                    "role",
                    ValidationReason::Malformed("must be patient or doctor"),
                )
                .into())
            }
        };
        let parsed = parse_account(&account, role)?;
        let status = match role {
            Role::Doctor if !self.settings.auto_approve_doctors => AccountStatus::PendingApproval,
            _ => AccountStatus::Active,
        };
        let birth_date = account.birth_date.map(BirthDate);
        self.create_account(parsed, role, status, birth_date).await
    }

    /// Creates an admin account without any acting principal, for the operator setting up
    /// a new installation (a console command). It trusts its caller: never expose it to
    /// the network.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn bootstrap_admin(
        &self,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<Profile> {
        let account = NewAccount {
            name: name.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            ..NewAccount::default()
        };
        let parsed = parse_account(&account, Role::Admin)?;
        self.create_account(parsed, Role::Admin, AccountStatus::Active, None)
            .await
    }

    async fn create_account(
        &self,
        parsed: ParsedAccount,
        role: Role,
        status: AccountStatus,
        birth_date: Option<BirthDate>,
    ) -> Result<Profile> {
        let password_hash = self.passwords.hash(parsed.password).await?;
        let now = self.now();
        let user = User {
            id: UserId::new(),
            email: parsed.email,
            name: parsed.name,
            role,
            status,
            phone: parsed.phone,
            birth_date,
            time_zone: parsed.time_zone,
            doctor: parsed.doctor,
            password_hash,
            created_at: now,
            updated_at: now,
            version: 1,
        };

        let welcome = self.event(
            EventKind::AccountRegistered,
            vec![Recipient {
                user_id: user.id,
                role,
            }],
            None,
            "Welcome to MedTrack: your account is ready.".to_owned(),
        );
        let effects = Effects {
            audit: Vec::new(),
            events: vec![welcome],
        };
        self.store.create_user(&user, effects).await?;
        tracing::info!(user_id = %user.id, role = role.as_str(), "account registered");
        Ok(Profile::from(&user))
    }

    /// Checks an email and password and opens a session. An unknown email, a wrong password
    /// and a deactivated account all give [`Error::Unauthorized`] after the same amount of
    /// hashing work, so a caller cannot tell which it was.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginSession> {
        let (Ok(email), Ok(password)) = (Email::parse(email), Password::parse(password)) else {
            return Err(Error::Unauthorized);
        };
        let user = self.store.user_by_email(&email).await?;
        let verified = self
            .passwords
            .verify(password, user.as_ref().map(|user| &user.password_hash))
            .await?;
        match user {
            Some(user) if verified && user.status != AccountStatus::Deactivated => {
                self.open_session(&user).await
            }
            _ => {
                tracing::warn!("login refused");
                Err(Error::Unauthorized)
            }
        }
    }

    async fn open_session(&self, user: &User) -> Result<LoginSession> {
        let token = new_token();
        let now = self.now();
        let expires_at = now + self.settings.session_idle_timeout;
        let session = Session {
            token_hash: hash_token(token.expose_secret()),
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at,
        };
        self.store.insert_session(&session).await?;
        tracing::info!(user_id = %user.id, "signed in");
        Ok(LoginSession {
            token,
            principal: Principal::from_user(user),
            expires_at,
        })
    }

    /// Resolves a session token to the principal it belongs to, sliding the session's end
    /// forward. The renewal is written at most once per half idle window, not on every call.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let token_hash = hash_token(token);
        let now = self.now();
        let Some(session) = self.store.session(&token_hash).await? else {
            return Err(Error::Unauthorized);
        };
        if session.expires_at <= now
            || session.created_at + self.settings.session_max_lifetime <= now
        {
            self.store.delete_session(&token_hash).await?;
            return Err(Error::Unauthorized);
        }

        let user = match self.store.user(session.user_id).await {
            Ok(user) if user.status != AccountStatus::Deactivated => user,
            Ok(_) | Err(StoreError::NotFound { .. }) => return Err(Error::Unauthorized),
            Err(other) => return Err(other.into()),
        };
        self.renew_if_due(&session, now).await?;
        Ok(Principal::from_user(&user))
    }

    async fn renew_if_due(&self, session: &Session, now: DateTime<Utc>) -> Result<()> {
        let idle = self.settings.session_idle_timeout;
        if session.expires_at - now >= idle / 2 {
            return Ok(());
        }
        match self
            .store
            .renew_session(&session.token_hash, now, now + idle)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound { .. }) => Err(Error::Unauthorized),
            Err(other) => Err(other.into()),
        }
    }

    /// Ends the session of `token`. Logging out twice is not an error.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn logout(&self, token: &str) -> Result<()> {
        self.store.delete_session(&hash_token(token)).await?;
        Ok(())
    }

    /// Removes expired sessions from the store; returns how many. Run it now and then.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        Ok(self.store.purge_expired_sessions(self.now()).await?)
    }

    /// The acting user's own profile.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn me(&self, actor: &Principal) -> Result<Profile> {
        let user = self.load_user(actor.user_id(), Entity::User).await?;
        Ok(Profile::from(&user))
    }

    /// Changes the acting user's own name, phone number or (for patients) display zone.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn update_profile(
        &self,
        actor: &Principal,
        update: ProfileUpdate,
    ) -> Result<Profile> {
        let mut user = self.load_user(actor.user_id(), Entity::User).await?;
        apply_profile_update(&mut user, &update)?;

        let expected = user.version;
        user.version += 1;
        user.updated_at = self.now();
        self.store.update_user(&user, expected).await?;
        Ok(Profile::from(&user))
    }
}

fn parse_account(account: &NewAccount, role: Role) -> Result<ParsedAccount> {
    let name = PersonName::parse(&account.name)?;
    let email = Email::parse(&account.email)?;
    let password = Password::parse(&account.password)?;
    let phone = match account.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(PhoneNumber::parse(raw)?),
    };
    let zone = match account.time_zone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(Schedule::parse_time_zone("time_zone", raw)?),
    };
    let doctor = match role {
        Role::Doctor => Some(DoctorProfile {
            specialty: Specialty::parse(account.specialty.as_deref().unwrap_or(""))?,
            schedule: Schedule::standard(zone.unwrap_or(Tz::UTC)),
        }),
        _ => None,
    };
    let time_zone = if role == Role::Patient { zone } else { None };
    Ok(ParsedAccount {
        name,
        email,
        password,
        phone,
        time_zone,
        doctor,
    })
}

fn apply_profile_update(user: &mut User, update: &ProfileUpdate) -> Result<()> {
    if let Some(name) = &update.name {
        user.name = PersonName::parse(name)?;
    }
    match update.phone.as_deref().map(str::trim) {
        None => {}
        Some("") => user.phone = None,
        Some(raw) => user.phone = Some(PhoneNumber::parse(raw)?),
    }
    match update.time_zone.as_deref().map(str::trim) {
        None => {}
        Some(_) if user.role != Role::Patient => {
            return Err(ValidationError::new(
                "time_zone",
                ValidationReason::Malformed("doctors set their zone with their schedule"),
            )
            .into())
        }
        Some("") => user.time_zone = None,
        Some(raw) => user.time_zone = Some(Schedule::parse_time_zone("time_zone", raw)?),
    }
    Ok(())
}

/// 32 random bytes from the operating system, base64url-encoded.
fn new_token() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Only this hash of a token is stored, so a leaked database holds no usable session.
pub(crate) fn hash_token(token: &str) -> TokenHash {
    let digest = Sha256::digest(token.as_bytes());
    TokenHash(digest.iter().map(|byte| format!("{byte:02x}")).collect())
}
