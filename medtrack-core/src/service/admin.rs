//! Account management and the full audit log, for admins.

use tracing::instrument;

use super::accounts::Profile;
use super::MedTrack;
use crate::error::{Entity, Error, Result};
use crate::id::{DoctorId, PatientId, UserId};
use crate::model::{AccountStatus, AuditEntry, Role};
use crate::policy::{Principal, Request};
use crate::store::{Page, PageRequest, UserFilter};

/// An account as an admin lists it.
pub type AccountSummary = Profile;

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
            items: users.items.iter().map(Profile::from).collect(),
            next_cursor: users.next_cursor,
        })
    }

    /// Lets patients book a doctor who registered themselves.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %doctor_id), err(level = "debug"))]
    pub async fn approve_doctor(&self, actor: &Principal, doctor_id: DoctorId) -> Result<Profile> {
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
    pub async fn deactivate_user(&self, actor: &Principal, user_id: UserId) -> Result<Profile> {
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
    ) -> Result<Profile> {
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
        Ok(Profile::from(&user))
    }
}
