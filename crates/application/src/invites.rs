//! Invitations: inviting someone to an organization by mail, listing and
//! revoking invitations, and the two ways in: accepting with an account,
//! or signing up with the code.

use domain::{
    Email, Factors, Invite, InviteId, InviteRole, LoginIdentifier, NewUser, Organization,
    OrganizationAction, OrganizationId, OrganizationRefusal, Password, PasswordError, PersonName,
    Phone, Role, SecretDigest, User, UserStatus, Username,
};
use ports::{
    HasherError, InviteStore, OrganizationStore, PasswordHasher, StoreError, UniqueField, UserStore,
};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::{
    ClientInfo,
    authenticate::Principal,
    error::{Fault, faults_from},
    mail::{self, Recipient},
    mail_limits::digest_hex,
    organizations::{ManageOrganizationError, OrganizationView, not_found, scope},
    service::AuthService,
    tokens::Tokens,
};

/// An invitation to make: whom, and with which role.
#[derive(Debug)]
pub struct InviteRequest {
    /// The address the code is mailed to; only its account may accept.
    pub email: Email,
    /// The role the invited person joins with.
    pub role: InviteRole,
}

/// A sign-up with an invitation code, made only of parsed values but the
/// password, whose policy needs the invited address.
#[derive(Debug)]
pub struct InviteSignupRequest {
    /// The code from the invitation mail.
    pub code: SecretString,
    /// The password, as typed.
    pub password: SecretString,
    /// Given name.
    pub first_name: PersonName,
    /// Family name.
    pub last_name: PersonName,
    /// Optional username.
    pub username: Option<Username>,
    /// Optional phone.
    pub phone: Option<Phone>,
}

/// Why nobody was invited.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// No such organization, or the caller is not a member.
    #[error("not found")]
    NotFound,
    /// The caller's role does not allow inviting.
    #[error("insufficient permissions")]
    InsufficientPermissions,
    /// An account with the address is a member already.
    #[error("already a member")]
    AlreadyMember,
    /// Too many mails to this address, or from this client, lately.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until another invitation may be mailed.
        retry_after: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(InviteError: StoreError);

impl From<OrganizationRefusal> for InviteError {
    fn from(refusal: OrganizationRefusal) -> Self {
        match refusal {
            OrganizationRefusal::NotFound => Self::NotFound,
            OrganizationRefusal::InsufficientPermissions => Self::InsufficientPermissions,
        }
    }
}

/// Why an invitation was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptInviteError {
    /// The code is unknown, revoked, spent or expired.
    #[error("invalid code")]
    InvalidCode,
    /// The invitation is for another address; the code stays usable.
    #[error("insufficient permissions")]
    InsufficientPermissions,
    /// The caller is a member already; the code stays usable.
    #[error("already a member")]
    AlreadyMember,
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(AcceptInviteError: StoreError);

/// Why nobody signed up with an invitation.
#[derive(Debug, thiserror::Error)]
pub enum InviteSignupError {
    /// The code is unknown, revoked, spent or expired.
    #[error("invalid code")]
    InvalidCode,
    /// The invited address (or the username or phone) belongs to an
    /// account; the code stays usable (its owner accepts it logged in).
    #[error("user already exists")]
    UserAlreadyExists,
    /// The password breaks the policy; the code stays usable.
    #[error("invalid password")]
    InvalidPassword {
        /// Which rule it breaks.
        reason: PasswordError,
    },
    /// The account could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(InviteSignupError: StoreError, HasherError);

impl AuthService {
    /// Invites `req.email` to an organization (owners and admins) and
    /// mails them the code, which works once, for `invite_code_ttl`.
    /// Re-inviting an address replaces its older invitation. Invitations
    /// count toward the mail limits of the recipient and of the client.
    ///
    /// # Errors
    /// See [`InviteError`].
    pub fn invite(
        &self,
        who: &Principal,
        id: OrganizationId,
        req: InviteRequest,
        client: &ClientInfo,
    ) -> Result<Invite, InviteError> {
        let store = &*self.ports.store;
        let (view, inviter) = scope(store, who, id)??.allow_caller(OrganizationAction::Manage)?;
        let inviter = inviter.ok_or(InviteError::NotFound)?;
        if is_member(store, id, &req.email)? {
            return Err(InviteError::AlreadyMember);
        }
        // Invitations have a counter of their own per address: an inviter
        // cannot use up the address's budget for the mails its owner asks
        // for (reset, validation), nor the other way round.
        let recipient = format!("invite:{}", digest_hex(req.email.as_str()));
        let now = self.now();
        if let Some(retry_after) = self.mail_admission(&recipient, &client.ip, now, "invite")? {
            return Err(InviteError::TooManyAttempts { retry_after });
        }
        let ttl = self.policy.invite_code_ttl;
        let invite = Invite::new(id, req.email, req.role, who.user_id, now, ttl);
        let code = self.ports.secrets.secret();
        store
            .create_invite(&invite, &SecretDigest::of(code.expose_secret()))
            .map_err(|e| match e {
                StoreError::Duplicate(UniqueField::Member) => InviteError::AlreadyMember,
                StoreError::NotFound => InviteError::NotFound,
                other => other.into(),
            })?;
        self.mail_invitation(&view, &inviter, &invite, code);
        tracing::info!(
            user_id = %who.user_id,
            organization_id = %id,
            invite_id = %invite.id,
            role = invite.role.as_str(),
            "invitation made"
        );
        Ok(invite)
    }

    /// Mails the invitation's code; a failure is logged, not returned: the
    /// invitation exists and can be made again.
    fn mail_invitation(
        &self,
        view: &OrganizationView,
        inviter: &User,
        invite: &Invite,
        code: SecretString,
    ) {
        let inviter_name = format!("{} {}", inviter.first_name, inviter.last_name);
        let template = mail::invitation(
            &self.app,
            &view.organization.name,
            &inviter_name,
            invite.role,
        );
        let to = Recipient {
            email: &invite.email,
            name: None,
        };
        let ttl = self.policy.invite_code_ttl;
        let mail = mail::compose(&self.app, to, code, ttl, invite.created_at, template);
        if let Err(e) = self.ports.mailer.send(&mail) {
            tracing::error!(error = %e, invite_id = %invite.id, "invitation mail not sent");
        }
    }

    /// The pending invitations of an organization (owners and admins),
    /// oldest first.
    ///
    /// # Errors
    /// See [`ManageOrganizationError`].
    pub fn invites(
        &self,
        who: &Principal,
        id: OrganizationId,
    ) -> Result<Vec<Invite>, ManageOrganizationError> {
        let store = &*self.ports.store;
        scope(store, who, id)??.allow(OrganizationAction::Manage)?;
        Ok(store.invites_of(id, self.now())?)
    }

    /// Revokes a pending invitation (owners and admins): its code stops
    /// working at once.
    ///
    /// # Errors
    /// See [`ManageOrganizationError`]; an invitation that is not pending
    /// in this organization is `NotFound`.
    pub fn revoke_invite(
        &self,
        who: &Principal,
        id: OrganizationId,
        invite: InviteId,
    ) -> Result<(), ManageOrganizationError> {
        let store = &*self.ports.store;
        scope(store, who, id)??.allow(OrganizationAction::Manage)?;
        store
            .revoke_invite(id, invite, self.now())
            .map_err(not_found)?;
        tracing::info!(user_id = %who.user_id, organization_id = %id, invite_id = %invite, "invitation revoked");
        Ok(())
    }

    /// Accepts an invitation with the caller's account, which must have the
    /// invited address: the caller joins with the invited role, and their
    /// address counts as verified. Of concurrent acceptances of one code,
    /// exactly one succeeds.
    ///
    /// # Errors
    /// See [`AcceptInviteError`].
    pub fn accept_invite(
        &self,
        who: &Principal,
        code: &SecretString,
    ) -> Result<OrganizationView, AcceptInviteError> {
        let accepted = accept_invite(&*self.ports.store, who, code, self.now());
        self.forget(who.user_id);
        accepted
    }

    /// Signs up with an invitation code: the account is active with its
    /// address verified (the mail proved it), joins the inviting
    /// organization with the invited role, owns no organization, and is
    /// logged in. An address that has an account already spends nothing.
    ///
    /// # Errors
    /// See [`InviteSignupError`].
    pub fn sign_up_by_invite(
        &self,
        req: InviteSignupRequest,
        client: ClientInfo,
    ) -> Result<Tokens, InviteSignupError> {
        let now = self.now();
        let (store, hasher) = (&*self.ports.store, &*self.ports.hasher);
        let user = sign_up_by_invite(store, hasher, req, now)?;
        self.open_session(user, Factors::Password, client, now, || {
            StoreError::NotFound.into()
        })
    }
}

/// Whether an account with `email` is a member of `organization`. The
/// store checks again as it records the invitation; this check comes
/// before the mail limits count anything.
fn is_member(
    store: &(impl UserStore + OrganizationStore + ?Sized),
    organization: OrganizationId,
    email: &Email,
) -> Result<bool, StoreError> {
    let Some(user) = store.user_by_identifier(&LoginIdentifier::Email(email.clone()))? else {
        return Ok(false);
    };
    let standing = store.organization_for(organization, user.id)?;
    Ok(standing.is_some_and(|(_, role)| role.is_some()))
}

fn accept_invite(
    store: &(impl UserStore + InviteStore + ?Sized),
    who: &Principal,
    code: &SecretString,
    now: OffsetDateTime,
) -> Result<OrganizationView, AcceptInviteError> {
    let user = store
        .user_by_id(who.user_id)?
        .ok_or(AcceptInviteError::InvalidToken)?;
    let digest = SecretDigest::of(code.expose_secret());
    let invite = store
        .invite_by_code(&digest, now)?
        .ok_or(AcceptInviteError::InvalidCode)?;
    if !invite.is_for(&user.email) {
        tracing::info!(user_id = %user.id, invite_id = %invite.id, "invitation for another address");
        return Err(AcceptInviteError::InsufficientPermissions);
    }
    let (organization, role) = store
        .accept_invite(&digest, user.id, now)
        .map_err(|e| match e {
            StoreError::NotFound => AcceptInviteError::InvalidCode,
            StoreError::Duplicate(UniqueField::Member) => AcceptInviteError::AlreadyMember,
            other => other.into(),
        })?;
    joined(&user, &organization, role);
    Ok(OrganizationView {
        organization,
        role: Some(role),
    })
}

/// The account made from an invitation, stored as a member.
fn sign_up_by_invite(
    store: &(impl UserStore + InviteStore + ?Sized),
    hasher: &dyn PasswordHasher,
    req: InviteSignupRequest,
    now: OffsetDateTime,
) -> Result<User, InviteSignupError> {
    let digest = SecretDigest::of(req.code.expose_secret());
    let invite = store
        .invite_by_code(&digest, now)?
        .ok_or(InviteSignupError::InvalidCode)?;
    let identifier = LoginIdentifier::Email(invite.email.clone());
    if store.user_by_identifier(&identifier)?.is_some() {
        return Err(InviteSignupError::UserAlreadyExists);
    }
    let password = Password::for_account(req.password, &invite.email, req.username.as_ref())
        .map_err(|reason| InviteSignupError::InvalidPassword { reason })?;
    let hash = hasher.hash(password.as_secret())?;
    let new = NewUser {
        email: invite.email,
        username: req.username,
        phone: req.phone,
        first_name: req.first_name,
        last_name: req.last_name,
        status: UserStatus::Active,
        email_verified: true,
        is_admin: false,
    };
    let user = User::new(new, hash, now);
    let (organization, role) =
        store
            .sign_up_by_invite(&digest, &user, now)
            .map_err(|e| match e {
                StoreError::NotFound => InviteSignupError::InvalidCode,
                StoreError::Duplicate(_) => InviteSignupError::UserAlreadyExists,
                other => other.into(),
            })?;
    joined(&user, &organization, role);
    Ok(user)
}

fn joined(user: &User, organization: &Organization, role: Role) {
    tracing::info!(
        user_id = %user.id,
        organization_id = %organization.id,
        role = role.as_str(),
        "invitation accepted"
    );
}
