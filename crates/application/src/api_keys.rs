//! API keys: making, listing and deleting the caller's keys. Only a
//! caller with an access token may: a key cannot make or see keys.

use domain::{ApiKey, ApiKeyId, ApiKeyName, ApiKeySecret};
use ports::{ApiKeyStore, SecretGenerator, StoreError};
use time::OffsetDateTime;

use crate::{
    authenticate::InSession,
    error::{Fault, faults_from},
    service::AuthService,
};

/// A key to make.
#[derive(Debug)]
pub struct NewApiKey {
    /// What the owner calls it.
    pub name: ApiKeyName,
    /// When it stops working; never, when `None`.
    pub expires_at: Option<OffsetDateTime>,
}

/// Why no key was made.
#[derive(Debug, thiserror::Error)]
pub enum CreateApiKeyError {
    /// The expiry is not in the future.
    #[error("expiry in the past")]
    ExpiryInThePast,
    /// The caller holds as many keys as allowed
    /// (`security.max_api_keys_per_user`).
    #[error("too many keys")]
    TooManyKeys,
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(CreateApiKeyError: StoreError);

/// Why a key was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteApiKeyError {
    /// The caller has no key with this id (unknown, or another user's).
    #[error("not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(DeleteApiKeyError: StoreError);

impl AuthService {
    /// Makes a key for the caller; the secret is in the answer only, never
    /// stored (its digest is).
    ///
    /// # Errors
    /// See [`CreateApiKeyError`].
    pub fn create_api_key(
        &self,
        who: &InSession,
        new: NewApiKey,
    ) -> Result<(ApiKey, ApiKeySecret), CreateApiKeyError> {
        let (store, secrets) = (&*self.ports.store, &*self.ports.secrets);
        let limit = self.policy.max_api_keys;
        create_api_key(store, secrets, who, new, limit, self.now())
    }

    /// The caller's keys, the newest first, without their secrets.
    ///
    /// # Errors
    /// A [`Fault`] if the store fails.
    pub fn api_keys(&self, who: &InSession) -> Result<Vec<ApiKey>, Fault> {
        let store: &dyn ApiKeyStore = &*self.ports.store;
        Ok(store.api_keys_of(who.user_id)?)
    }

    /// Deletes one of the caller's keys: it is refused from then on, on
    /// every instance.
    ///
    /// # Errors
    /// See [`DeleteApiKeyError`].
    pub fn delete_api_key(&self, who: &InSession, id: ApiKeyId) -> Result<(), DeleteApiKeyError> {
        let store: &dyn ApiKeyStore = &*self.ports.store;
        let deleted = store.delete_api_key(who.user_id, id);
        self.forget(who.user_id);
        deleted.map_err(|e| match e {
            StoreError::NotFound => DeleteApiKeyError::NotFound,
            other => other.into(),
        })?;
        tracing::info!(user_id = %who.user_id, key_id = %id, "API key deleted");
        Ok(())
    }
}

fn create_api_key(
    store: &(impl ApiKeyStore + ?Sized),
    secrets: &dyn SecretGenerator,
    who: &InSession,
    new: NewApiKey,
    limit: u32,
    now: OffsetDateTime,
) -> Result<(ApiKey, ApiKeySecret), CreateApiKeyError> {
    if new.expires_at.is_some_and(|end| end <= now) {
        return Err(CreateApiKeyError::ExpiryInThePast);
    }
    let secret = ApiKeySecret::from_random(&secrets.secret()).ok_or_else(|| {
        Fault::Internal("the secret generator made no 256-bit base64url secret".into())
    })?;
    let key = ApiKey::new(who.user_id, new.name, &secret, new.expires_at, now);
    store
        .create_api_key(&key, &secret.digest(), limit)
        .map_err(|e| match e {
            StoreError::NotFound => CreateApiKeyError::InvalidToken,
            other => other.into(),
        })?
        .map_err(|_| {
            tracing::info!(user_id = %who.user_id, limit, "API key refused: too many keys");
            CreateApiKeyError::TooManyKeys
        })?;
    tracing::info!(user_id = %who.user_id, key = %key.prefix, "API key made");
    Ok((key, secret))
}
