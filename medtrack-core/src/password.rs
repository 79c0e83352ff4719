//! Password hashing with Argon2id, off the async worker threads.
//!
//! One Argon2id hash with the recommended parameters takes about 19 MiB and tens of
//! milliseconds of CPU, so hashes run on tokio's blocking pool under a semaphore that
//! bounds how many run at once; an async worker thread never hashes.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, StoreError};
use crate::model::PasswordHash;
use crate::text::Password;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl PasswordParams {
    /// The OWASP recommendation for Argon2id: 19 MiB, two passes, one lane.
    pub const RECOMMENDED: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Light parameters for tests and demos with fake passwords. Far too weak for real
    /// accounts.
    pub const INSECURE_FAST: Self = Self {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };

    fn argon2(&self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .expect("Argon2 parameters are checked when the hasher is built");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

/// Hashes and verifies passwords on the blocking pool, at most a set number at a time.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: PasswordParams,
    permits: Arc<Semaphore>,
    dummy: PasswordHash,
}

impl PasswordHasher {
    /// A hasher with `params`, running at most `max_concurrent` hashes at once.
    ///
    /// Builds one dummy hash up front, so that a login for an unknown email can verify
    /// against it and take as long as a login with a wrong password.
    pub fn new(params: PasswordParams, max_concurrent: usize) -> Result<Self, argon2::Error> {
        Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )?;
        let salt = SaltString::generate(&mut OsRng);
        let dummy = params
            .argon2()
            .hash_password(b"no account has this password", &salt)
            .map_err(|_| argon2::Error::AlgorithmInvalid)?
            .to_string();
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy: PasswordHash::from_phc(dummy),
        })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> PasswordParams {
        self.params
    }

    /// Hashes `password` into a PHC string with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, Error> {
        let argon2 = self.params.argon2();
        self.run_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| PasswordHash::from_phc(hash.to_string()))
                .map_err(|err| hashing_failed(err.to_string()))
        })
        .await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no
    /// account, so both cases cost the same. Parameters are read from the stored hash, so
    /// hashes made with older parameters still verify.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<&PasswordHash>,
    ) -> Result<bool, Error> {
        let phc = stored.unwrap_or(&self.dummy).expose_phc().to_owned();
        let exists = stored.is_some();
        let verified = self
            .run_blocking(move || {
                let parsed = argon2::PasswordHash::new(&phc)
                    .map_err(|err| hashing_failed(err.to_string()))?;
                Ok::<_, Error>(
                    Argon2::default()
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok(),
                )
            })
            .await??;
        Ok(verified && exists)
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|err| hashing_failed(err.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| hashing_failed(err.to_string()))
    }
}

/// Hashing errors carry no password material, only the library's description.
fn hashing_failed(description: String) -> Error {
    Error::Storage(StoreError::Backend {
        backend: "argon2",
        source: description.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse(raw).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(PasswordParams::INSECURE_FAST, 2).unwrap();
        let hash = hasher
            .hash(password("correct horse battery"))
            .await
            .unwrap();
        assert!(hasher
            .verify(password("correct horse battery"), Some(&hash))
            .await
            .unwrap());
        assert!(!hasher
            .verify(password("wrong horse battery"), Some(&hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn no_account_never_verifies() {
        let hasher = PasswordHasher::new(PasswordParams::INSECURE_FAST, 2).unwrap();
        assert!(!hasher
            .verify(password("no account has this password"), None)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn production_parameters_make_argon2id_hashes_of_owasp_strength() {
        let hasher = PasswordHasher::new(PasswordParams::RECOMMENDED, 1).unwrap();
        let hash = hasher
            .hash(password("correct horse battery"))
            .await
            .unwrap();
        let phc = hash.expose_phc();
        assert!(
            phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected {phc}"
        );
        assert!(hasher
            .verify(password("correct horse battery"), Some(&hash))
            .await
            .unwrap());
    }

    #[test]
    fn hashes_are_redacted_in_debug() {
        let hash = PasswordHash::from_phc("$argon2id$v=19$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }
}
