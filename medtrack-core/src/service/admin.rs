//! Account management and the full audit log, for admins.

use tracing::instrument;

use chrono_tz::Tz;

use super::MedTrack;
use crate::error::{Entity, Error, Result};
use crate::id::{DoctorId, PatientId, UserId};
use crate::model::{AccountStatus, AuditEntry, Role, User};
use crate::policy::{Principal, Request};
use crate::store::{Page, PageRequest, UserFilter};
use crate::text::{Email, PersonName, Specialty};

/// An account as an admin sees it: what managing accounts needs, and no more. A phone
/// number and a date of birth stay with the account's owner (and, for a patient, with the
/// doctors treating them, through the audited record); an admin approving a doctor or
/// switching an account off has no use for either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
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
    /// A doctor's working zone, or a patient's display zone.
    pub time_zone: Option<Tz>,
    /// A doctor's specialty.
    pub specialty: Option<Specialty>,
}

impl From<&User> for AccountSummary {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
            status: user.status,
            time_zone: user.shown_time_zone(),
            specialty: user.specialty(),
        }
    }
}

impl MedTrack {
    /// Accounts matching `filter`, ordered by email.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn accounts(
        &self,
        actor: &Principal,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<AccountSummary>> {
        self.authorize(actor, Request::ManageAccounts, Entity::User)?;
        let users = self.store.list_users(filter, page).await?;
        Ok(Page {
            items: users.items.iter().map(AccountSummary::from).collect(),
            next_cursor: users.next_cursor,
        })
    }

    /// Lets patients book a doctor who registered themselves.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %doctor_id), err(level = "debug"))]
    pub async fn approve_doctor(
        &self,
        actor: &Principal,
        doctor_id: DoctorId,
    ) -> Result<AccountSummary> {
        self.authorize(actor, Request::ManageAccounts, Entity::User)?;
        self.set_status(
            doctor_id.user_id(),
            Some(Role::Doctor),
            AccountStatus::Active,
        )
        .await
    }

    /// Switches an account off: it can no longer sign in, its sessions stop working, and a
    /// doctor can no longer be booked. Existing appointments stay as they are.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %user_id), err(level = "debug"))]
    pub async fn deactivate_user(
        &self,
        actor: &Principal,
        user_id: UserId,
    ) -> Result<AccountSummary> {
        self.authorize(actor, Request::ManageAccounts, Entity::User)?;
        if user_id == actor.user_id() {
            return Err(Error::Forbidden);
        }
        self.set_status(user_id, None, AccountStatus::Deactivated)
            .await
    }

    /// Every audit entry (or one patient's), newest first.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn audit_log(
        &self,
        actor: &Principal,
        patient: Option<PatientId>,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        self.authorize(actor, Request::ReadFullAudit, Entity::User)?;
        Ok(self.store.list_audit(patient, page).await?)
    }

    async fn set_status(
        &self,
        user_id: UserId,
        required_role: Option<Role>,
        status: AccountStatus,
    ) -> Result<AccountSummary> {
        let mut user = self.load_user(user_id, Entity::User).await?;
        if required_role.is_some_and(|role| role != user.role) {
            return Err(Error::NotFound(Entity::User));
        }

        let expected = user.version;
        user.status = status;
        user.version += 1;
        user.updated_at = self.now();
        self.store.update_user(&user, expected).await?;
        tracing::info!(%user_id, status = ?status, "account status changed");
        Ok(AccountSummary::from(&user))
    }
}
