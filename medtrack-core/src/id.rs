//! Identifiers.
//!
//! Every entity has its own id type so that a doctor's id can never be passed where a
//! patient's is expected. Patients and doctors are both accounts, so their ids wrap the
//! same [`UserId`]; converting between them is explicit and only done where the role has
//! been checked.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an existing UUID, for backends reading stored ids.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// An account of any role.
    UserId
);
uuid_id!(
    /// The account of a patient.
    PatientId
);
uuid_id!(
    /// The account of a doctor.
    DoctorId
);
uuid_id!(
    /// One appointment.
    AppointmentId
);
uuid_id!(
    /// One report a patient submitted.
    ReportId
);
uuid_id!(
    /// One entry of the audit log.
    AuditId
);
uuid_id!(
    /// One notification event in the outbox; stable across delivery attempts.
    EventId
);

impl PatientId {
    /// The account behind this patient.
    pub const fn user_id(&self) -> UserId {
        UserId(self.0)
    }
}

impl DoctorId {
    /// The account behind this doctor.
    pub const fn user_id(&self) -> UserId {
        UserId(self.0)
    }
}

impl UserId {
    /// Treats this account as a patient. Only for accounts whose role was checked.
    pub const fn as_patient(&self) -> PatientId {
        PatientId(self.0)
    }

    /// Treats this account as a doctor. Only for accounts whose role was checked.
    pub const fn as_doctor(&self) -> DoctorId {
        DoctorId(self.0)
    }
}
