//! Two-factor login: sealed TOTP secrets, the last step accepted, recovery
//! codes and login challenges.

use diesel::prelude::*;
use domain::{SealedSecret, SecretDigest, SessionId, TimeStep, UserId};
use ports::{MfaChallenge, MfaStore, StoreError, TotpState};
use time::OffsetDateTime;

use crate::{
    error::Failure,
    queries::{lock_user, revoke_sessions_of},
    rows::{self, MfaChallengeRow, RecoveryCodeRow, TotpRow},
    schema::{Id, Instant, mfa_challenges, recovery_codes, totp_credentials, users},
    store::SqliteStore,
};

/// Replaces the user's recovery codes.
fn store_recovery_codes(
    conn: &mut SqliteConnection,
    user: UserId,
    recovery: &[SecretDigest],
    now: OffsetDateTime,
) -> Result<(), Failure> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(Id(user.as_uuid()))))
        .execute(conn)?;
    let rows: Vec<RecoveryCodeRow> = recovery
        .iter()
        .map(|digest| RecoveryCodeRow::new(user, digest, now))
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(rows)
        .execute(conn)?;
    Ok(())
}

impl MfaStore for SqliteStore {
    fn totp_state(&self, user: UserId) -> Result<TotpState, StoreError> {
        self.with_conn(|conn| {
            let row = totp_credentials::table
                .find(Id(user.as_uuid()))
                .select(TotpRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row
                .map(TotpRow::into_state)
                .transpose()?
                .unwrap_or_default())
        })
    }

    fn set_pending_totp(
        &self,
        user: UserId,
        pending: &SealedSecret,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| {
            lock_user(conn, user)?;
            diesel::insert_into(totp_credentials::table)
                .values(TotpRow::pending(user, pending, now))
                .on_conflict(totp_credentials::user_id)
                .do_update()
                .set((
                    totp_credentials::pending.eq(Some(pending.ciphertext.as_slice())),
                    totp_credentials::pending_key_id.eq(Some(pending.key_id.as_str())),
                    totp_credentials::updated_at.eq(Instant(now)),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    fn confirm_totp(
        &self,
        user: UserId,
        pending: &SealedSecret,
        step: TimeStep,
        recovery: &[SecretDigest],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.transaction(|conn| {
            lock_user(conn, user)?;
            let row = totp_credentials::table
                .find(Id(user.as_uuid()))
                .select(TotpRow::as_select())
                .first(conn)
                .optional()?;
            let Some(state) = row.map(TotpRow::into_state).transpose()? else {
                return Ok(false);
            };
            let in_force = state.active.is_some();
            if in_force
                || state.pending.as_ref() != Some(pending)
                || !step.is_after(state.last_step)
            {
                return Ok(false);
            }
            diesel::update(totp_credentials::table.find(Id(user.as_uuid())))
                .set((
                    totp_credentials::secret.eq(Some(pending.ciphertext.as_slice())),
                    totp_credentials::secret_key_id.eq(Some(pending.key_id.as_str())),
                    totp_credentials::pending.eq(None::<Vec<u8>>),
                    totp_credentials::pending_key_id.eq(None::<String>),
                    totp_credentials::last_step.eq(Some(rows::step_column(step)?)),
                    totp_credentials::updated_at.eq(Instant(now)),
                ))
                .execute(conn)?;
            diesel::update(users::table.find(Id(user.as_uuid())))
                .set((
                    users::mfa_enabled.eq(true),
                    users::updated_at.eq(Instant(now)),
                ))
                .execute(conn)?;
            store_recovery_codes(conn, user, recovery, now)?;
            Ok(true)
        })
    }

    fn accept_totp_step(&self, user: UserId, step: TimeStep) -> Result<bool, StoreError> {
        self.write(|conn| {
            let value = rows::step_column(step)?;
            // One statement: of concurrent acceptances of one step, the
            // first writes and the others find it taken.
            let accepted = diesel::update(
                totp_credentials::table
                    .find(Id(user.as_uuid()))
                    .filter(totp_credentials::secret.is_not_null())
                    .filter(
                        totp_credentials::last_step
                            .is_null()
                            .or(totp_credentials::last_step.lt(value)),
                    ),
            )
            .set(totp_credentials::last_step.eq(Some(value)))
            .execute(conn)?;
            Ok(accepted == 1)
        })
    }

    fn replace_recovery_codes(
        &self,
        user: UserId,
        recovery: &[SecretDigest],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| {
            lock_user(conn, user)?;
            store_recovery_codes(conn, user, recovery, now)
        })
    }

    fn use_recovery_code(
        &self,
        user: UserId,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write(|conn| {
            let used = diesel::update(
                recovery_codes::table
                    .find((Id(user.as_uuid()), digest.as_bytes().as_slice()))
                    .filter(recovery_codes::used_at.is_null()),
            )
            .set(recovery_codes::used_at.eq(Some(now)))
            .execute(conn)?;
            Ok(used == 1)
        })
    }

    fn disable_totp(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| {
            lock_user(conn, user)?;
            diesel::delete(totp_credentials::table.find(Id(user.as_uuid()))).execute(conn)?;
            diesel::delete(
                recovery_codes::table.filter(recovery_codes::user_id.eq(Id(user.as_uuid()))),
            )
            .execute(conn)?;
            diesel::update(users::table.find(Id(user.as_uuid())))
                .set((
                    users::mfa_enabled.eq(false),
                    users::updated_at.eq(Instant(now)),
                ))
                .execute(conn)?;
            diesel::delete(
                mfa_challenges::table.filter(mfa_challenges::user_id.eq(Id(user.as_uuid()))),
            )
            .execute(conn)?;
            revoke_sessions_of(conn, user, keep, now)?;
            Ok(())
        })
    }

    fn create_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        self.transaction(|conn| {
            // The user's challenges that can no longer be used go, so that
            // right passwords do not pile rows up.
            diesel::delete(
                mfa_challenges::table
                    .filter(mfa_challenges::user_id.eq(Id(challenge.user_id.as_uuid())))
                    .filter(
                        mfa_challenges::used_at
                            .is_not_null()
                            .or(mfa_challenges::expires_at.le(Instant(challenge.created_at))),
                    ),
            )
            .execute(conn)?;
            diesel::insert_into(mfa_challenges::table)
                .values(MfaChallengeRow::from_domain(challenge))
                .execute(conn)?;
            Ok(())
        })
    }

    fn mfa_challenge_user(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        self.with_conn(|conn| {
            let user: Option<Id> = mfa_challenges::table
                .find(digest.as_bytes().as_slice())
                .filter(mfa_challenges::used_at.is_null())
                .filter(mfa_challenges::expires_at.gt(Instant(now)))
                .select(mfa_challenges::user_id)
                .first(conn)
                .optional()?;
            Ok(user.map(|Id(id)| UserId::from_uuid(id)))
        })
    }

    fn spend_mfa_challenge(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write(|conn| {
            let spent = diesel::update(
                mfa_challenges::table
                    .find(digest.as_bytes().as_slice())
                    .filter(mfa_challenges::used_at.is_null())
                    .filter(mfa_challenges::expires_at.gt(Instant(now))),
            )
            .set(mfa_challenges::used_at.eq(Some(now)))
            .execute(conn)?;
            Ok(spent == 1)
        })
    }
}
